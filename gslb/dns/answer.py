"""The sans-I/O responder: wire bytes in, wire bytes out (or None: send nothing).

Transports call only `Responder.answer()`. It reads the current snapshot
once, then runs named steps, each returning what it found: the reply cache
(a repeated UDP query is answered with one look-up); `_respond()`: parse,
refuse what is not served, resolve the name in the zone index, decide a
wide IP for its LDNS (`_decide`, the LDNS by `gslb.dns.ldns.ldns_of`),
assemble the reply (`_assemble`: the reply after the question is kept per
distinct decision, so a repeated decision costs a look-up and three
slices), then the UDP limits (`_limited`: rate limit, truncation); last the
counters and the reply cache. The one `except Exception` of the hot path is
here: a bug answers SERVFAIL and is counted, it never kills a transport.

Caches on the query path, all of them: what each keeps, its bound, what
clears it. None is part of a published snapshot's state: those a snapshot's
indexes keep are memos of pure functions of the snapshot's frozen data.

- `Responder.replies` (gslb/dns/replycache.py): reply bytes per query bytes
  (static), per (query, peer) for a wide IP. Bound: `MAX_BYTES` (32 MiB) of
  keys and replies, queries of at most `MAX_QUERY` bytes. Cleared: static
  replies by a new configuration, wide IP replies by any new snapshot; past
  the bound; a wide IP reply expires after `DYNAMIC_LIFETIME`.
- `Responder._assembled`: the reply after the question per (name, type,
  flags, decision, EDNS; not the client subnet, appended per query). Bound:
  `ASSEMBLED_LIMIT`. Cleared: a new configuration; past the bound.
- `Responder.memo.plans` (gslb/decide/memo.py): a compiled plan per (wide
  IP, record type). Bound: the configuration. Cleared: a new configuration
  or health.
- `PlanPerChoice._plans` (gslb/decide/plan.py): a plan per pool order
  drawn. Bound: `MAX_CHOICES`. Cleared: with its plan; past the bound.
- the orders of `Topology.compile` (gslb/algorithms/topology.py): a member
  order per topology node. Bound: the table's prefixes. Cleared: with its plan.
- `Responder.memo.persisted`: what a persistence record still decides.
  Bound: the persistence records. Cleared: a new configuration or health.
- `ZoneIndex._memo` (gslb/dns/zone.py): a name's resolution. Bound:
  `memo_limit`. Cleared: with the snapshot's zone index (a reload); past the
  bound.
- `TopologyIndex._memo` (gslb/decide/topology.py): scores per topology node.
  Bound: the table's prefixes. Cleared: with the index (a reload).
- `ratio.sequence` (gslb/algorithms/ratio.py): a weighted rotation per
  weights. Bound: `lru_cache(4096)`, least recently used out.

State, not caches, also bounded: the persistence table
(`persistence_max_entries`), the rate limiter's networks (`max_networks`),
the LDNS keys seen between two drains of the probe scheduler (`SEEN_LIMIT`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from random import Random
from time import perf_counter

from gslb.counters import NO_REPLY, QTYPE_NAMES, TIMING_SAMPLE, Labels, QueryCounters
from gslb.decide.memo import SnapshotMemo
from gslb.decide.persistence import PersistenceTable
from gslb.decide.pipeline import Cursors, Decision, decide, planned
from gslb.dns.ldns import MAPPED, ldns_of, unmapped
from gslb.dns.ratelimit import DROP, SLIP, RateLimiter
from gslb.dns.replycache import ReplyCache
from gslb.dns.wire import (
    BADVERS,
    FLAG_TC,
    OPT_NSID,
    Drop,
    Query,
    error_response,
    header,
    opt_record,
    parse,
    response_flags,
)
from gslb.dns.zone import (
    ANY,
    FORMERR,
    NOTIMP,
    QNAME_POINTER,
    REFUSED,
    SERVFAIL,
    Resolution,
    rr,
)
from gslb.errors import FormError
from gslb.model import AAAA, A, Config, IPAddress, ServerSettings
from gslb.snapshot import Snapshot, SnapshotHolder

log = logging.getLogger(__name__)

CLASS_IN, CLASS_ANY = 1, 255
ZONE_TRANSFERS = (251, 252)  # IXFR, AXFR: not served
ASSEMBLED_LIMIT = 100_000
SEEN_LIMIT = 65_536  # queries remembered between two drains; older ones are dropped
_NO_LABELS: Labels = ("", 0, 0, "", "", ())

# What `_respond` found: the reply (None: send nothing), what the query is
# counted under, whether the reply cache may replay it, and for a wide IP
# reply the LDNS key a replay reports as seen (None: a static reply).
Answered = tuple[bytes | None, Labels, bool, int | None]


class Responder:
    def __init__(
        self,
        holder: SnapshotHolder,
        *,
        clock: Callable[[], float] = time.time,
        rng: Random | None = None,
        on_probe: Callable[[int, IPAddress | str], None] | None = None,
    ) -> None:
        self.holder = holder
        self._snap = holder.current
        self.clock = clock
        self.rng = rng or Random()
        # (the LDNS or ECS subnet as the LDNS table's int key, the resolver that asked)
        self.on_probe = on_probe
        # Who asked for a wide IP, drained every second by the probe scheduler
        # (last seen, query count, re-probes): one append per query, of the
        # LDNS table's int key (`gslb.model.key_of`): ints hash in C, an
        # IPv4Address in Python, and the drain hashes every entry.
        self.seen: deque[int] = deque(maxlen=SEEN_LIMIT)
        self.cursors = Cursors()
        self.persistence = PersistenceTable(holder.current.config.server.persistence_max_entries)
        self.memo = SnapshotMemo()  # plans and persisted decisions per snapshot
        self.servfails = 0
        # Plain counters for /metrics (gslb.counters); `counting` off is for benchmarks.
        self.counters = QueryCounters()
        self.counting = True
        self._tick = 0
        self.ratelimit: RateLimiter | None = None
        self._assembled: dict[tuple[object, ...], tuple[bytes, bytes, bytes]] = {}
        self.replies = ReplyCache(clock, self.seen)
        self._settings: ServerSettings | None = None
        self._config: Config | None = None  # what `_assembled` was made for
        self._nsid = b""
        self._adopt(holder.current)

    def _adopt(self, snap: Snapshot) -> None:
        """A new snapshot: the caches follow what they depend on (assembled
        replies the configuration, the plans its health too, the reply cache
        both and the LDNS view); settings a reload changed are followed."""
        self.replies.follow(snap, snap.config)
        self.memo.follow(snap)
        if snap.config is not self._config:
            self._config = snap.config
            self._assembled.clear()
        settings = snap.config.server
        if settings == self._settings:
            return
        old = self._settings
        self._settings = settings
        self._nsid = _nsid(settings)
        self.persistence.max_entries = settings.persistence_max_entries
        rrl = (settings.rrl_responses_per_second, settings.rrl_slip)
        if old is None or rrl != (old.rrl_responses_per_second, old.rrl_slip):
            self.ratelimit = RateLimiter(*rrl) if rrl[0] > 0 else None

    def answer(self, wire: bytes, peer: IPAddress | str, transport: str) -> bytes | None:
        snap = self.holder.current
        if snap is not self._snap:
            self._snap = snap
            self._adopt(snap)
        if peer.__class__ is not str or peer.startswith(MAPPED):  # type: ignore[union-attr]
            peer = unmapped(peer)  # (a plain text address, the common case, needs no call)
        front = transport == "udp" and self.ratelimit is None
        if front:
            replayed = self.replies.replay(wire, peer)
            if replayed is not None:
                return replayed
        start = 0.0
        if self.counting:
            # The processing time of one query in TIMING_SAMPLE: a clock read
            # costs as much as all the counting.
            self._tick = (self._tick + 1) % TIMING_SAMPLE
            if self._tick == 0:
                start = perf_counter()
        labels: Labels = _NO_LABELS
        replayable, ldns = False, None  # what a reply that is no answer gets
        reply: bytes | None
        try:
            q = parse(wire)
            labels = ("", q.qtype if q.qtype in QTYPE_NAMES else 0, 0, "", "", ())
            reply, labels, replayable, ldns = self._respond(snap, q, wire, peer, transport, labels)
        except Drop:
            reply = None
        except FormError as err:
            opcode = (err.flags >> 11) & 0xF
            reply = error_response(err, NOTIMP if opcode else FORMERR)
        except Exception:
            reply = self._servfail(wire)  # and never replayed
        cell: list[int] | None = None
        if self.counting:  # here, not in a function of its own: a call costs as much
            key = (labels, NO_REPLY if reply is None else labels[2] | (reply[3] & 0x0F), transport)
            cell = self.counters.queries.get(key)  # one hash per query: a key is
            if cell is None:  # a tuple, whose hash is not cached
                cell = self.counters.queries[key] = [0]
            cell[0] += 1
            if start:
                self.counters.duration.observe(perf_counter() - start)
        if front and replayable and reply is not None:
            self.replies.put(wire, peer, reply, cell, ldns)
        return reply

    def _servfail(self, wire: bytes) -> bytes | None:
        """What a bug answers: SERVFAIL, counted and logged (1, 2, 4, 8 ...
        times: no log flood); nothing when not even the header could be read."""
        self.servfails += 1
        if self.servfails & (self.servfails - 1) == 0:
            log.exception("servfail: count=%d", self.servfails)
        if len(wire) < 12:
            return None
        flags = response_flags(int.from_bytes(wire[2:4], "big"), SERVFAIL, False)
        return wire[:2] + flags.to_bytes(2, "big") + b"\x00" * 8

    def _respond(
        self,
        snap: Snapshot,
        q: Query,
        wire: bytes,
        peer: IPAddress | str,
        transport: str,
        labels: Labels,
    ) -> Answered:
        if q.opcode != 0:
            raise FormError("opcode not implemented", q.id, q.flags)
        edns = q.edns
        if edns is not None and edns.version > 0:
            labels = ("", labels[1], BADVERS, "", "", ())
            return (
                self._reply(q, wire, 0, False, (), (), (), _opt(snap, q, BADVERS, b"")),
                labels,
                False,
                None,
            )
        options = self._nsid if edns is not None and edns.nsid else b""
        if q.qclass not in (CLASS_IN, CLASS_ANY) or q.qtype in ZONE_TRANSFERS:
            refused = self._reply(q, wire, REFUSED, False, (), (), (), _opt(snap, q, 0, options))
            return refused, labels, False, None
        res = snap.zones.resolve(q.key, q.qtype)
        decision: Decision | None = None
        replayable, ldns, scope = True, None, 0  # a static reply: the same to anyone
        if res.wideip >= 0:
            wip = snap.config.wideips[res.wideip]
            ldns, scope = ldns_of(peer, edns.ecs if edns is not None else None, wip.ecs)
            decision = self._decide(snap, res.wideip, q.qtype, ldns, peer)
            if self.counting:  # the wide IP, pool, method that decided, fall-throughs
                pool = snap.config.pools[decision.pool].name if decision.pool >= 0 else ""
                method = decision.method or decision.action
                labels = (wip.name, labels[1], 0, pool, method, decision.fallthroughs)
            if decision.action == "drop":
                return None, labels, False, None
            replayable = snap.deterministic[res.wideip]
        ecs = b"" if edns is None or edns.ecs is None else edns.ecs.option(scope)
        reply = self._assemble(snap, q, wire, res, decision, options, ecs)
        if ecs:
            options += ecs
        if transport == "udp" and (self.ratelimit is not None or len(reply) > 512):
            limited = self._limited(snap, q, wire, peer, reply, options)
            if limited is not reply:
                return limited, labels, False, None
        return reply, labels, replayable, ldns

    def _decide(
        self, snap: Snapshot, wideip: int, qtype: int, ldns: int, peer: IPAddress | str
    ) -> Decision:
        """The decision for a wide IP and the LDNS (`ldns_of`); the LDNS is
        noted as seen, and offered for probing when the decision wants it."""
        rtype = qtype if qtype != ANY else (A if snap.pools[wideip][A] else AAAA)
        plan = planned(snap, self.memo, wideip, rtype)
        if plan is not None:  # what decide() would run, without its look-ups
            decision = plan(ldns, self.clock(), snap.proximity, self.cursors, self.rng)
        else:
            decision = decide(
                snap,
                wideip,
                rtype,
                ldns,
                now=self.clock(),
                rng=self.rng,
                cursors=self.cursors,
                persistence=self.persistence,
                memo=self.memo,
            )
        self.seen.append(ldns)
        if decision.probe and self.on_probe is not None:
            self.on_probe(ldns, peer)
        return decision

    def _assemble(
        self,
        snap: Snapshot,
        q: Query,
        wire: bytes,
        res: Resolution,
        decision: Decision | None,
        options: bytes,
        ecs: bytes,
    ) -> bytes:
        """The reply's bytes, the part after the question kept per distinct
        decision (`_assembled`). The ECS option (`ecs`, after `options`) is
        not part of the key: a client subnet's is its own, and would make
        every subnet's reply a new entry, never reused. It ends the OPT
        record, the reply's last: appended, with the OPT data length."""
        edns = q.edns
        dkey = (
            None
            if decision is None
            else (decision.action, decision.members, decision.fallback, decision.ttl)
        )
        key = (
            q.key,
            q.qtype,
            q.flags & 0x0110,
            dkey,
            edns is not None and edns.do,
            options,
            edns is not None,
        )
        cached = self._assembled.get(key)
        if cached is None:
            if decision is not None:
                res = self._with_decision(snap, res, decision, q)
            opt = _opt(snap, q, 0, options) if edns is not None else b""
            full = self._reply(
                q, wire, res.rcode, res.aa, res.answer, res.authority, res.additional, opt
            )
            # (header after the ID, the answer up to the OPT data length, the OPT data)
            cut = len(full) - len(options) - 2 if opt else len(full)
            cached = (full[2:12], full[q.question_end : cut], full[cut:])
            if len(self._assembled) >= ASSEMBLED_LIMIT:
                self._assembled.clear()
            self._assembled[key] = cached
        if ecs:  # one join: a chain of + would copy the reply at every step
            size = (len(options) + len(ecs)).to_bytes(2, "big")
            parts = (wire[:2], cached[0], wire[12 : q.question_end], cached[1], size, options, ecs)
            return b"".join(parts)
        return wire[:2] + cached[0] + wire[12 : q.question_end] + cached[1] + cached[2]

    def _limited(
        self,
        snap: Snapshot,
        q: Query,
        wire: bytes,
        peer: IPAddress | str,
        reply: bytes,
        options: bytes,
    ) -> bytes | None:
        """What UDP sends instead of `reply`: the same reply, nothing (rate
        limited), or a truncated one (rate limit slip, too large)."""
        if self.ratelimit is not None:
            verdict = self.ratelimit.check(str(peer), self.clock())
            if verdict == DROP:
                return None
            if verdict == SLIP:
                return self._truncated(snap, q, wire, options)
        if len(reply) > 512 and len(reply) > _udp_limit(snap, q):  # the limit is >= 512
            return self._truncated(snap, q, wire, options)
        return reply

    def _with_decision(self, snap: Snapshot, res: Resolution, d: Decision, q: Query) -> Resolution:
        owner = res.wideip_owner
        if d.action == "answer":
            rtype = q.qtype if q.qtype != ANY else snap.config.pools[d.pool].rtype
            if d.fallback is not None:
                rdatas: tuple[bytes, ...] = (d.fallback.packed,)
            else:
                rdatas = tuple(snap.address_rdata[i] for i in d.members)
            extra = tuple(rr(owner, rtype, d.ttl, rd) for rd in rdatas)
            return Resolution(answer=res.answer + extra, zone=res.zone)
        if d.action == "return_to_dns" and owner == QNAME_POINTER:
            return snap.zones.resolve(q.key, q.qtype, wideips=False)
        neg = snap.zones.negative(res.zone)
        return Resolution(answer=res.answer, authority=neg.authority, zone=res.zone)

    @staticmethod
    def _reply(
        q: Query,
        wire: bytes,
        rcode: int,
        aa: bool,
        answer: tuple[bytes, ...],
        authority: tuple[bytes, ...],
        additional: tuple[bytes, ...],
        opt: bytes,
        extra_flags: int = 0,
    ) -> bytes:
        flags = response_flags(q.flags, rcode, aa) | extra_flags
        ar = len(additional) + (1 if opt else 0)
        return b"".join(
            (
                header(q.id, flags, 1, len(answer), len(authority), ar),
                wire[12 : q.question_end],
                *answer,
                *authority,
                *additional,
                opt,
            )
        )

    def _truncated(self, snap: Snapshot, q: Query, wire: bytes, options: bytes) -> bytes:
        opt = _opt(snap, q, 0, options)
        aa = snap.zones.resolve(q.key, q.qtype).aa  # memoised: no second resolution
        return self._reply(q, wire, 0, aa, (), (), (), opt, FLAG_TC)


def _opt(snap: Snapshot, q: Query, ext_rcode_full: int, options: bytes) -> bytes:
    if q.edns is None:
        return b""
    return opt_record(snap.config.server.edns_buffer_size, ext_rcode_full >> 4, q.edns.do, options)


def _nsid(server: ServerSettings) -> bytes:
    """The NSID option (RFC 5001) for a query that asks, when the server has one."""
    if not server.nsid:
        return b""
    return OPT_NSID.to_bytes(2, "big") + len(server.nsid).to_bytes(2, "big") + server.nsid


def _udp_limit(snap: Snapshot, q: Query) -> int:
    if q.edns is None:
        return 512
    return max(512, min(q.edns.udp_size, snap.config.server.edns_buffer_size))
