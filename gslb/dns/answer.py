"""The sans-I/O responder: wire bytes in, wire bytes out (or None: send nothing).

Transports call only `Responder.answer()`. It reads the current snapshot
once. Static names resolve through the zone index's memo; a wide IP is
decided per query by the pipeline. The assembled reply after the question is
cached per distinct decision, so a repeated decision costs a dictionary look
up and three slices: the query's ID and question (with its letter case) are
copied in front of the cached bytes. In front of all that, the reply
cache (gslb.dns.replycache) answers a repeated UDP query with one look-up.
The one `except Exception` of the hot path is here: a bug answers
SERVFAIL and is counted, it never kills a transport.
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
from gslb.decide.pipeline import Cursors, Decision, decide
from gslb.dns.ratelimit import DROP, SLIP, RateLimiter
from gslb.dns.replycache import ReplyCache
from gslb.dns.wire import (
    BADVERS,
    FLAG_TC,
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
from gslb.model import AAAA, A, IPAddress, ServerSettings, address_of, key_of, key_of_text
from gslb.snapshot import Snapshot, SnapshotHolder

log = logging.getLogger(__name__)

CLASS_IN, CLASS_ANY = 1, 255
ZONE_TRANSFERS = (251, 252)  # IXFR, AXFR: not served
CACHE_LIMIT = 100_000
NOT_CACHED, STATIC, DYNAMIC = 0, 1, 2  # may the reply being built be cached, and how
MAPPED = "::ffff:"  # an IPv4 client as an IPv6 socket reports it
SEEN_LIMIT = 65_536  # queries remembered between two drains; older ones are dropped
_NO_LABELS: Labels = ("", 0, 0, "", "", ())


class Responder:
    def __init__(
        self,
        holder: SnapshotHolder,
        *,
        clock: Callable[[], float] = time.time,
        rng: Random | None = None,
        on_probe: Callable[[IPAddress, IPAddress | str], None] | None = None,
    ) -> None:
        self.holder = holder
        self._snap = holder.current
        self.clock = clock
        self.rng = rng or Random()
        self.on_probe = on_probe  # (LDNS or ECS subnet, the resolver that asked)
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
        self._labels: Labels = _NO_LABELS  # what this query is counted under
        self._tick = 0
        self.ratelimit: RateLimiter | None = None
        self._cache: dict[tuple[object, ...], tuple[bytes, bytes]] = {}
        self._cache_for: Snapshot | None = None
        self.replies = ReplyCache(clock)
        self._front_kind = NOT_CACHED
        self._front_ldns: int | None = None  # the LDNS key a cached wide IP reply reports
        self._settings: ServerSettings | None = None
        self._adopt(holder.current)

    def _adopt(self, snap: Snapshot) -> None:
        """A new snapshot: forget cached replies; follow settings a reload changed."""
        self.replies.follow(snap)
        settings = snap.config.server
        if settings == self._settings:
            return
        old = self._settings
        self._settings = settings
        self.persistence.max_entries = settings.persistence_max_entries
        rrl = (settings.rrl_responses_per_second, settings.rrl_slip)
        if old is None or rrl != (old.rrl_responses_per_second, old.rrl_slip):
            self.ratelimit = RateLimiter(*rrl) if rrl[0] > 0 else None

    def answer(self, wire: bytes, peer: IPAddress | str, transport: str) -> bytes | None:
        snap = self.holder.current
        if snap is not self._snap:
            self._snap = snap
            self._adopt(snap)
        if isinstance(peer, str) and peer.startswith(MAPPED) and "." in peer:
            peer = peer[7:]  # one address, one LDNS: 192.0.2.1 whichever socket it came by
        front = transport == "udp" and self.ratelimit is None
        if front:
            hit = self.replies.get(wire, peer)
            if hit is not None:
                if hit[2] is not None:
                    self.seen.append(hit[2])
                if hit[1] is not None:
                    hit[1][0] += 1
                return wire[:2] + hit[0]
        self._labels = _NO_LABELS
        self._front_kind = NOT_CACHED
        start = 0.0
        if self.counting:
            # The processing time of one query in TIMING_SAMPLE: a clock read
            # costs as much as all the counting.
            self._tick = (self._tick + 1) % TIMING_SAMPLE
            if self._tick == 0:
                start = perf_counter()
        reply: bytes | None
        try:
            reply = self._answer(snap, wire, peer, transport)
        except Drop:
            reply = None
        except FormError as err:
            self._front_kind = NOT_CACHED
            opcode = (err.flags >> 11) & 0xF
            reply = error_response(err, NOTIMP if opcode else FORMERR)
        except Exception:
            self._front_kind = NOT_CACHED  # a failure is never replayed
            self.servfails += 1
            if self.servfails & (self.servfails - 1) == 0:  # 1, 2, 4, 8...: no log flood
                log.exception("servfail: count=%d", self.servfails)
            reply = None
            if len(wire) >= 12:
                flags = response_flags(int.from_bytes(wire[2:4], "big"), SERVFAIL, False)
                reply = wire[:2] + flags.to_bytes(2, "big") + b"\x00" * 8
        cell: list[int] | None = None
        if self.counting:
            labels = self._labels
            key = (labels, NO_REPLY if reply is None else labels[2] | (reply[3] & 0x0F), transport)
            cell = self.counters.queries.get(key)  # one hash per query: a key is
            if cell is None:  # a tuple, whose hash is not cached
                cell = self.counters.queries[key] = [0]
            cell[0] += 1
            if start:
                self.counters.duration.observe(perf_counter() - start)
        if front and reply is not None and self._front_kind != NOT_CACHED:
            ldns = self._front_ldns if self._front_kind == DYNAMIC else None
            self.replies.put(wire, peer, reply, cell, ldns)
        return reply

    def _answer(
        self, snap: Snapshot, wire: bytes, peer: IPAddress | str, transport: str
    ) -> bytes | None:
        q = parse(wire)
        qtype_label = q.qtype if q.qtype in QTYPE_NAMES else 0
        self._labels = ("", qtype_label, 0, "", "", ())
        if q.opcode != 0:
            raise FormError("opcode not implemented", q.id, q.flags)
        edns = q.edns
        server = snap.config.server
        opt_options = b""
        if edns is not None:
            if edns.version > 0:
                self._labels = ("", qtype_label, BADVERS, "", "", ())
                return self._reply(q, wire, 0, False, (), (), (), self._opt(snap, q, BADVERS, b""))
            if edns.nsid and server.nsid:
                opt_options = (3).to_bytes(2, "big") + len(server.nsid).to_bytes(2, "big")
                opt_options += server.nsid
        if q.qclass not in (CLASS_IN, CLASS_ANY) or q.qtype in ZONE_TRANSFERS:
            return self._reply(
                q, wire, REFUSED, False, (), (), (), self._opt(snap, q, 0, opt_options)
            )

        res = snap.zones.resolve(q.key, q.qtype)
        decision: Decision | None = None
        scope = 0
        if res.wideip >= 0:
            wip = snap.config.wideips[res.wideip]
            ecs = edns.ecs if edns is not None and wip.ecs else None
            if ecs is not None and ecs.source > 0:  # /0 says nothing about the client
                ldns = key_of(ecs.address)
                scope = ecs.source
            else:
                ldns = key_of_text(peer) if isinstance(peer, str) else key_of(peer)
            rtype = q.qtype if q.qtype != ANY else (A if snap.pools[res.wideip][A] else AAAA)
            decision = decide(
                snap,
                res.wideip,
                rtype,
                ldns,
                now=self.clock(),
                rng=self.rng,
                cursors=self.cursors,
                persistence=self.persistence,
                memo=self.memo,
            )
            self._front_ldns = ldns
            self.seen.append(ldns)
            if decision.probe and self.on_probe is not None:
                self.on_probe(address_of(ldns), peer)
            if self.counting:
                pool = snap.config.pools[decision.pool].name if decision.pool >= 0 else ""
                method = decision.method or decision.action
                self._labels = (wip.name, qtype_label, 0, pool, method, decision.fallthroughs)
            if decision.action == "drop":
                return None
            if snap.deterministic[res.wideip]:
                self._front_kind = DYNAMIC
        else:
            self._front_kind = STATIC
        if edns is not None and edns.ecs is not None:
            opt_options += edns.ecs.option(scope)

        if snap is not self._cache_for:
            self._cache.clear()
            self._cache_for = snap
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
            opt_options,
            edns is not None,
        )
        cached = self._cache.get(key)
        if cached is None:
            if decision is not None:
                res = self._with_decision(snap, res, decision, q)
            opt = self._opt(snap, q, 0, opt_options) if edns is not None else b""
            full = self._reply(
                q, wire, res.rcode, res.aa, res.answer, res.authority, res.additional, opt
            )
            cached = (full[2:12], full[q.question_end :])
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = cached
        reply = wire[:2] + cached[0] + wire[12 : q.question_end] + cached[1]
        if transport == "udp":
            if self.ratelimit is not None:
                verdict = self.ratelimit.check(str(peer), self.clock())
                if verdict == DROP:
                    return None
                if verdict == SLIP:
                    return self._truncated(snap, q, wire, opt_options)
            if len(reply) > 512 and len(reply) > self._udp_limit(snap, q):  # the limit is >= 512
                self._front_kind = NOT_CACHED
                return self._truncated(snap, q, wire, opt_options)
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

    def _opt(self, snap: Snapshot, q: Query, ext_rcode_full: int, options: bytes) -> bytes:
        if q.edns is None:
            return b""
        return opt_record(
            snap.config.server.edns_buffer_size, ext_rcode_full >> 4, q.edns.do, options
        )

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

    @staticmethod
    def _udp_limit(snap: Snapshot, q: Query) -> int:
        if q.edns is None:
            return 512
        return max(512, min(q.edns.udp_size, snap.config.server.edns_buffer_size))

    def _truncated(self, snap: Snapshot, q: Query, wire: bytes, options: bytes) -> bytes:
        opt = self._opt(snap, q, 0, options)
        aa = snap.zones.resolve(q.key, q.qtype).aa  # memoised: no second resolution
        return self._reply(q, wire, 0, aa, (), (), (), opt, FLAG_TC)
