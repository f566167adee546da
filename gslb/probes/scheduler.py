"""What is probed, when, and how much: the control plane's side of proximity.

    [probes]
    protocols = ["dns_dot", "dns_rev", "udp", "tcp", "icmp"]
    interval = 600          # re-probe an LDNS that keeps querying
    concurrency = 128       # LDNS probed at once
    rate = 300              # packets per second (token bucket, a tenth of a second deep)
    queue_size = 10000      # LDNS waiting; more are dropped and counted
    allow = ["127.0.0.0/8", "::1/128"]
    deny = []
    datacenters = ["CNC"]   # default: every datacenter with a probe_source

The hot path calls `offer_key(key, peer)` when a dynamic method lacked data
(`key`: the LDNS table's int key, `gslb.model.key_of`; `offer(ldns, peer)`
takes the address); it costs a set lookup, a table look-up and an append
to a bounded queue (full: dropped and counted as `queue_full`), and makes
no address object: one is made only for a key admitted to the table. A
dropped LDNS is not lost: it is not in the table, so its next query that
lacks data offers it again (a persistence hit too), and it is queued once
the queue has room; the default queue holds a burst of 10,000 first-seen
LDNS. An LDNS in the table that is not due yet (measured, or backing off)
is refused at once and takes no queue slot.

The key of the table is `ldns` (with ECS, the client subnet); the
address probed is always `peer`, the resolver that asked: a client subnet's
network address is nobody's resolver. Each accepted LDNS is probed once per
vantage point (a data center this node probes for, from its probe_source),
trying the protocols in order starting with the one that last worked. The
responder's record of who queried is drained every second (`tick`): known
LDNS get their last seen and query count, and are re-probed once `interval`
has passed. An LDNS no data center could reach backs off exponentially
(interval, 2x, 4x ... capped at backoff_max). Every packet waits for a token,
so whatever arrives, probes stay within `rate`; the bucket holds a tenth of a
second's worth (`BURST`), so a flood of new LDNS goes out paced rather than
as one burst. At most `concurrency` LDNS are probed at once, one job per
target address.

Re-probe times are jittered: the wait after a measurement is shortened by up
to a tenth (`JITTER`, drawn each time), so LDNS first probed together drift
apart instead of being re-probed in lockstep, and a path is still re-probed
within `interval` of its last measurement. After a restart, each loaded LDNS
is due its wait after its last probe (jittered alike); those already overdue
are spread over the first `JITTER * interval` seconds instead of all at once.

With ECS many keys share one target, and a (possibly spoofed) resolver can
send any number of client subnets. So "not due yet" and the back-off hold
per target too: a target is measured at most once per `interval` (longer
while it backs off), whatever the number of keys; a key offered while its
target is being measured waits for that measurement, and one offered while
the target is not due takes its latest result. One target may create at
most `keys_per_target` table entries per `interval` (256 by default); more
are dropped and counted (`target_keys_full`), so it cannot evict the other
LDNS.

In a sync group (gslb/sync/) each LDNS admitted here (past the allow list
and the per-target budget) is announced to the other nodes, which offer it
to their own scheduler as a remote request: every limit above holds again
there, with a quarter of the re-probe wait of slack on "not due yet" (the
asking node's clock for it started a moment earlier), and nothing remote
is announced again. A node with no vantage point of its own still
announces.

Never probed, whatever the allow list says: unspecified, multicast,
broadcast, reserved and link-local addresses; documentation ranges only when
an allow entry lies inside one (the operator named it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from ipaddress import IPv6Address, ip_address, ip_network
from itertools import islice
from random import Random

from gslb import layers
from gslb.counters import CHECK_BUCKETS, Histogram
from gslb.errors import GslbError
from gslb.ldnsfile import load, remove_leftovers, save_forked
from gslb.model import Config, IPAddress, ProbeSettings
from gslb.probes import REGISTRY
from gslb.probes.base import Prober, ProbeResult, keep_timestamps_on
from gslb.probes.report import entry_dict
from gslb.proximity import FrozenView, LdnsEntry, LdnsTable, address_of, key_of, unpack

log = logging.getLogger(__name__)

DOCUMENTATION = tuple(
    ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
# Who-queried keys per turn of the event loop (Scheduler._fold_seen):
SEEN_SLICE = 128  # folded into the table (and dropped)
COUNT_SLICE = 256  # taken from the responder and counted
BURST = 0.1  # seconds of `rate` the token bucket holds
JITTER = 0.1  # a re-probe comes up to this fraction of its wait early

Seen = deque[int]  # the LDNS (or ECS subnet) key (proximity.key_of) of each wide IP query


class ProbeRefused(GslbError, ValueError):
    """That address may not be probed."""


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved; `take` waits for one, by
    `clock` and `sleep` (the scheduler's: tests run it in virtual time)."""

    def __init__(
        self,
        rate: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.rate, self.burst, self.clock, self.sleep = rate, burst, clock, sleep
        self.tokens, self.at = burst, clock()

    async def take(self) -> None:
        while True:
            now = self.clock()
            # max(0, ...): a wall clock stepped back must not drain the bucket
            self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await self.sleep((1 - self.tokens) / self.rate)


def wait(settings: ProbeSettings, failures: int) -> float:
    """Seconds from a measurement to the next: the interval, doubled for each
    failure after the first, at most `backoff_max`."""
    return min(settings.interval * 2 ** max(0, failures - 1), max(settings.backoff_max, 0.0))


def _ratio(old: ProbeSettings, new: ProbeSettings, failures: int) -> float:
    """How much longer a wait is under `new` than under `old` settings."""
    return wait(new, failures) / max(wait(old, failures), 1e-9)


class TargetState:
    """One probe target's last measurement, back-off and new-key budget."""

    __slots__ = ("failures", "keys", "measured_at", "next_probe", "rescaled", "results", "window")

    def __init__(self) -> None:
        self.results: dict[int, ProbeResult] | None = None  # None: never measured
        self.measured_at = 0.0
        self.failures = 0
        self.next_probe = 0.0
        self.rescaled = 0  # as LdnsEntry.rescaled
        self.window = float("-inf")  # when its current budget of new keys began
        self.keys = 0  # new keys in that window

    def spent(self, now: float, interval: float, budget: int) -> bool:
        """Whether `admit` would refuse now (and change nothing)."""
        return self.keys >= budget and now - self.window < interval

    def admit(self, now: float, interval: float, budget: int) -> bool:
        """One more table entry for this target, unless its `budget` of them
        per `interval` is spent."""
        if now - self.window >= interval:
            self.window, self.keys = now, 0
        if self.keys >= budget:
            return False
        self.keys += 1
        return True


class Scheduler:
    def __init__(
        self,
        table: LdnsTable,
        config: Config,
        *,
        probers: Mapping[str, Prober] = REGISTRY,
        seen: Seen | None = None,
        publish: Callable[[FrozenView], None] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Random | None = None,
    ) -> None:
        self.table = table
        self.rng = rng if rng is not None else Random()  # the re-probe jitter
        keep_timestamps_on()
        self.probers = probers
        self.seen: Seen = seen if seen is not None else deque(maxlen=65536)
        self.publish = publish
        self.clock, self.sleep = clock, sleep
        self.counts: Counter[str] = Counter()
        # For /metrics: probes by (protocol, data center, ok|failed), RTT histograms.
        self.probe_results: Counter[tuple[str, str, str]] = Counter()
        self.probe_rtt: dict[tuple[str, str], Histogram] = {}
        self._pending: set[int] = set()  # keys queued or being probed
        self._queue: deque[tuple[int, IPAddress | str, bool]] = deque()  # (key, peer, remote?)
        self._wake = asyncio.Event()
        self._inflight: dict[IPAddress, asyncio.Task[dict[int, ProbeResult]]] = {}
        # Per probe target, least recently used first (bounded by max_entries),
        # and the keys waiting on a target's measurement under way.
        self._targets: dict[IPAddress, TargetState] = {}
        self._waiting: dict[IPAddress, list[IPAddress]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_save = clock()
        self._saving: asyncio.Task[None] | None = None  # a periodic save under way
        self._folding: asyncio.Task[None] | None = None  # the view's new base under way
        self._reported: Counter[int] = Counter()  # who queried in other processes (keys)
        # Per resolver as the hot path gives it: its address, or None when it
        # may not be probed (allow/deny): one look-up, not an ip_address()
        # and the allow list per offered key. Emptied when [probes] changes.
        self._targets_of: dict[IPAddress | str, IPAddress | None] = {}
        # The sync group (gslb/sync/requests.py): told of every LDNS admitted
        # for probing here, so that the other nodes probe it from their DCs.
        self.announce: Callable[[IPAddress, IPAddress], None] | None = None
        # Each reload that changed the re-probe wait: (when, old, new). An
        # entry or target whose `rescaled` is behind how many there were
        # (`_epoch`) is rescaled when next used, not all of them on the reload.
        self._rescales: list[tuple[float, ProbeSettings, ProbeSettings]] = []
        self._compactions = 0  # the table's id re-indexings the targets' results follow
        self.configure(config)

    @property
    def _epoch(self) -> int:
        """The reloads that changed the re-probe wait: an entry or target
        whose `rescaled` is this has its next probe under today's settings."""
        return len(self._rescales)

    def configure(self, config: Config) -> None:
        """(Re)read `[probes]` and the data centers; queued LDNS stay queued.
        A new interval or back-off cap applies to the LDNS measured already,
        each when it is next used (`_rescaled`): nothing here walks the table."""
        s: ProbeSettings = config.probes
        old_settings = getattr(self, "settings", s)
        self.settings = s
        self._targets_of.clear()
        if (old_settings.interval, old_settings.backoff_max) != (s.interval, s.backoff_max):
            self._rescales.append((self.clock(), old_settings, s))
            self.table.rescaled = self._epoch  # what new entries start at
        # Paths and results carry each data center's id in the table, which a
        # reload keeps (LdnsTable.configure): nothing to re-index here.
        self.ids = self.table.configure([d.name for d in config.datacenters])
        if self.table.compactions != self._compactions:  # ids re-given: results under old ones
            # (also when the server configured the table first, for the snapshot)
            self._compactions = self.table.compactions
            for state in self._targets.values():
                state.results = None
        self.datacenters = self.table.datacenters  # by id; "": removed
        chosen = s.datacenters
        if chosen is None:
            chosen = tuple(i for i, d in enumerate(config.datacenters) if d.probe_source)
        self.vantages = tuple((self.ids[i], config.datacenters[i].probe_source) for i in chosen)
        self.table.max_entries, self.table.ldns_ttl = s.max_entries, s.ldns_ttl
        self.bucket = TokenBucket(s.rate, max(1.0, s.rate * BURST), self.clock, self.sleep)
        self.jobs = asyncio.Semaphore(s.concurrency)  # running jobs keep the one they took

    # -- the hot path's side ------------------------------------------------

    def offer(self, ldns: IPAddress, peer: IPAddress | str, remote: bool = False) -> None:
        """Queue `ldns` (probing `peer`) unless it is queued already or the queue
        is full. `remote`: asked by another node of the sync group."""
        self.offer_key(key_of(ldns), peer, remote)

    def offer_key(self, key: int, peer: IPAddress | str, remote: bool = False) -> None:
        """`offer` by the LDNS table's key, as the responder reports it."""
        if key in self._pending or not (self.vantages or (self.announce and not remote)):
            return
        entry = self.table.get_key(key)
        if entry is not None:
            due = entry.next_probe if entry.rescaled == self._epoch else self._rescaled(entry, key)
            if due > self.clock() + self._slack(remote):
                self.counts["not_due"] += 1  # measured, or backing off: no queue slot until due
                return
        elif self._spent(peer):  # what _start would refuse, refused without a queue slot
            self.counts["target_keys_full"] += 1
            return
        if len(self._queue) >= self.settings.queue_size:
            self.counts["queue_full"] += 1
            return
        self._queue.append((key, peer, remote))
        self._pending.add(key)
        self._wake.set()

    def queried(self, counts: Mapping[int, int]) -> None:
        """Who queried (LDNS table keys), as counted by a worker process; folded in
        at the next tick."""
        self._reported.update(counts)

    # -- the control plane ---------------------------------------------------

    def allowed(self, target: IPAddress) -> bool:
        if isinstance(target, IPv6Address) and target.ipv4_mapped is not None:
            target = target.ipv4_mapped
        special = (
            target.is_unspecified
            or target.is_multicast
            or target.is_reserved  # IPv4 240/4 (broadcast too); IPv6 ::/8 holds ::1
            or target.is_link_local
        )
        if special and not target.is_loopback:
            return False
        s = self.settings
        allowed = [n for n in s.allow if n.version == target.version and target in n]
        if not allowed or any(n.version == target.version and target in n for n in s.deny):
            return False
        documentation = [d for d in DOCUMENTATION if d.version == target.version and target in d]
        inside = documentation[0] if documentation else None
        return inside is None or any(
            n.network_address in inside and n.broadcast_address in inside for n in allowed
        )

    async def run(self, tick: float = 1.0) -> None:
        """Consume the queue and tick every `tick` seconds, until cancelled."""
        ticker = asyncio.create_task(self._tick_forever(tick))
        try:
            while True:
                if not self._queue:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                jobs = self.jobs
                await jobs.acquire()
                key, peer, remote = self._queue.popleft()
                if not self._start(key, peer, jobs, remote):
                    jobs.release()
        finally:
            ticker.cancel()

    def _start(
        self, key: int, peer: IPAddress | str, jobs: asyncio.Semaphore, remote: bool = False
    ) -> bool:
        """Probe for the LDNS `key`, or join or reuse its target's measurement;
        True: a job started. Its address is made once it is admitted.

        A request from another node gets the same limits, with a quarter of
        the re-probe wait (interval, or backoff_max when shorter) of slack on
        "not due yet": its node's clock for that wait started a moment before
        this one's."""
        now = self.clock()
        s = self.settings
        slack = self._slack(remote)
        target = self._probe_target(peer)
        entry = self.table.get_key(key)
        if target is None:
            return self._skip(key, "forbidden")
        if entry is not None and now + slack < self._rescaled(entry, key):
            return self._skip(key, "not_due")
        state = self._target(target, entry)
        self._rescale_target(state)
        if entry is None and not state.admit(now, s.interval, s.keys_per_target):
            return self._skip(key, "target_keys_full")
        ldns = address_of(key)
        self.table.add(ldns, target, now)
        if remote:
            self._requested(ldns, target, now)
        elif self.announce is not None:
            self.announce(ldns, target)
        if not self.vantages:
            return self._skip(key, "no_vantage")
        waiting = self._waiting.get(target)
        if waiting is not None:  # measured right now: the result is this key's too
            waiting.append(ldns)
            self.counts["target_joined"] += 1
            return False
        if now + slack < state.next_probe and state.results is not None:
            self._apply(ldns, state)
            return self._skip(key, "target_reused")
        self._waiting[target] = [ldns]
        first = entry.protocol if entry is not None else ""
        task = asyncio.create_task(self._job(target, state, first, jobs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _spent(self, peer: IPAddress | str) -> bool:
        """Whether the target of `peer`, if known already, has no new key left
        in its budget (`TargetState.admit`): under ECS one resolver brings
        many subnets, and once its budget is spent each new one is refused
        here rather than queued, popped and refused by `_start`."""
        target = self._targets_of.get(peer)
        state = self._targets.get(target) if target is not None else None
        s = self.settings
        return state is not None and state.spent(self.clock(), s.interval, s.keys_per_target)

    def _probe_target(self, peer: IPAddress | str) -> IPAddress | None:
        """`peer` as the address to probe, or None if it may not be probed."""
        try:
            return self._targets_of[peer]
        except KeyError:
            pass
        try:
            target: IPAddress | None = peer if not isinstance(peer, str) else ip_address(peer)
        except ValueError:
            target = None
        if target is not None and not self.allowed(target):
            target = None
        if len(self._targets_of) >= max(1, self.settings.max_entries):
            self._targets_of.clear()
        self._targets_of[peer] = target
        return target

    def _slack(self, remote: bool) -> float:
        """How early a remote request may be (see `_start`): a quarter of the
        re-probe wait; none for this node's own offers."""
        s = self.settings
        return min(s.interval, s.backoff_max) / 4 if remote else 0.0

    def _requested(self, ldns: IPAddress, target: IPAddress, now: float) -> None:
        """Another node saw `ldns` query: it stays alive here, and learns whom
        to probe when its paths came first (without a target)."""
        entry = self.table.seen(ldns, now, 0)
        if entry is not None and entry.target is None and target != ldns:
            entry.target = target

    def _skip(self, key: int, reason: str) -> bool:
        """No job for this key (counted by `reason`); it may be offered again."""
        self.counts[reason] += 1
        self._pending.discard(key)
        return False

    def _target(self, target: IPAddress, entry: LdnsEntry | None) -> TargetState:
        """The state of `target`, made most recently used (created if new)."""
        state = self._targets.pop(target, None)
        if state is None:
            state = TargetState()
            if entry is not None:  # the back-off survives a restart or an eviction
                state.failures = entry.failures
            # The oldest goes: a target idle that long is due again anyway.
            while len(self._targets) >= max(1, self.settings.max_entries):
                del self._targets[next(iter(self._targets))]
        self._targets[target] = state
        return state

    def _rescaled(self, entry: LdnsEntry, key: int) -> float:
        """`entry.next_probe` as if the settings now in force had been when it
        was set: after each reload that changed the interval or backoff_max
        since, the time left scaled by new wait / old wait; the time of its
        target when that is known (measured). Done here, when the entry is
        next used, so a reload does not walk the whole table on the event loop."""
        if entry.rescaled == self._epoch:
            return entry.next_probe
        pending = self._rescales[entry.rescaled :]
        entry.rescaled = self._epoch
        known = self._targets.get(entry.target or address_of(key))
        if known is not None and known.results is not None:
            self._rescale_target(known)
            entry.next_probe = known.next_probe
            return entry.next_probe
        for at, old, new in pending:  # its target forgotten: scale what was left
            if entry.next_probe > at:
                entry.next_probe = at + (entry.next_probe - at) * _ratio(old, new, entry.failures)
        return entry.next_probe

    def _rescale_target(self, state: TargetState) -> None:
        """`_rescaled` for a target: the wait since its last measurement scaled."""
        if state.rescaled == self._epoch:
            return
        if state.results is not None:
            at = state.measured_at
            for _, old, new in self._rescales[state.rescaled :]:
                state.next_probe = at + (state.next_probe - at) * _ratio(old, new, state.failures)
        state.rescaled = self._epoch

    def _apply(self, ldns: IPAddress, state: TargetState) -> None:
        """Record the target's last measurement and back-off under `ldns`."""
        assert state.results is not None
        for dc, r in state.results.items():
            self.table.record(
                ldns, dc, rtt_us=r.rtt_us, hops=r.hops, protocol=r.protocol, now=state.measured_at
            )
        entry = self.table.get(ldns)
        if entry is not None:
            entry.failures, entry.next_probe = state.failures, state.next_probe
            entry.rescaled = self._epoch

    async def _job(
        self, target: IPAddress, state: TargetState, first: str, jobs: asyncio.Semaphore
    ) -> None:
        try:
            results = await self.measure(target, first)
            now = self.clock()
            answered = any(r.ok for r in results.values())
            state.failures = 0 if answered else state.failures + 1
            state.next_probe = now + self._jittered(wait(self.settings, state.failures))
            state.rescaled = self._epoch
            state.results, state.measured_at = results, now
            for ldns in self._waiting.get(target, ()):
                self._apply(ldns, state)
        finally:
            for ldns in self._waiting.pop(target, ()):
                self._pending.discard(key_of(ldns))
            jobs.release()

    async def measure(self, target: IPAddress, first: str = "") -> dict[int, ProbeResult]:
        """Probe `target` from every vantage point; one measurement per target at a time."""
        task = self._inflight.get(target)
        if task is None:
            task = asyncio.create_task(self._measure(target, first))
            self._inflight[target] = task
            task.add_done_callback(lambda _: self._inflight.pop(target, None))
        return await asyncio.shield(task)

    async def _measure(self, target: IPAddress, first: str) -> dict[int, ProbeResult]:
        protocols = [p for p in self.settings.protocols or self.probers if p in self.probers]
        if first in protocols:
            protocols.remove(first)
            protocols.insert(0, first)
        paths = await asyncio.gather(
            *(self._path(target, dc, source, protocols) for dc, source in self.vantages)
        )
        return {dc: r for (dc, _), r in zip(self.vantages, paths, strict=True)}

    async def _path(
        self, target: IPAddress, dc: int, source: IPAddress | None, protocols: Sequence[str]
    ) -> ProbeResult:
        result = ProbeResult("", None, detail="no protocol")
        s = self.settings
        for name in protocols:
            await self.bucket.take()
            self.counts["probes"] += 1
            result = await self.probers[name].probe(
                target, source=source, port=s.port_for(name), timeout=s.timeout
            )
            outcome = "ok" if result.ok else "failed"
            self.counts[f"{name}_{outcome}"] += 1
            dc_name = self.datacenters[dc] if dc < len(self.datacenters) else str(dc)
            self.probe_results[name, dc_name, outcome] += 1
            if result.rtt_us is not None:
                histogram = self.probe_rtt.get((name, dc_name))
                if histogram is None:
                    histogram = self.probe_rtt[name, dc_name] = Histogram(CHECK_BUCKETS)
                histogram.observe(result.rtt_us / 1e6)
            if result.ok:
                break
        return result

    async def tick(self) -> None:
        """Once a second: who queried, re-probes due, expiry, publish, save."""
        now = self.clock()
        await self._fold_seen(now)
        self.counts["expired"] += self.table.expire(now)
        if self.publish is not None and self.table.dirty:
            self.publish(self.table.view())
        if self.table.folding and self._folding is None:
            self._folding = asyncio.create_task(self._fold())
        if now - self._last_save >= self.settings.save_interval and self._saving is None:
            # Apart from the tick: a save of a big table takes seconds (in
            # slices), and who queried must still be drained every second.
            self._saving = asyncio.create_task(self.save())
            self._saving.add_done_callback(self._saved)

    async def _fold_seen(self, now: float) -> None:
        """Who queried since the last tick, into the table (last seen, query
        count, recency), and those due a re-probe offered.

        Under distinct clients there is a key per query, and each step
        touches every key, an int made by the hot path that has long left
        the CPU's caches: taking the keys from the responder's deque and
        counting them (0.15-0.3 us a key) goes COUNT_SLICE keys, and folding
        them into the table (0.4-1.4 us) and dropping them SEEN_SLICE keys
        per turn of the event loop, the queries answered in between. At
        20 000 q/s, 1 024 keys folded a turn held the loop for 0.6-0.9 ms
        twenty times a second, and counting or dropping them all at once for
        1-7 ms: most of a reply p99 of 1.5 ms (bench/README.md, "Long turns
        of the event loop"). Keys the hot path adds meanwhile wait for the
        next tick. The keys of one tick, all seen `now`, become the most
        recently seen in the reverse order of their first query (popped
        from the count, last first)."""
        seen = self.seen
        queried: Counter[int] = Counter()
        left = len(seen)
        while left and seen:
            n = min(left, len(seen), COUNT_SLICE)
            queried.update([seen.popleft() for _ in range(n)])
            left -= n
            await asyncio.sleep(0)
        if self._reported:
            queried.update(self._reported)
            self._reported.clear()
        seen_key, take = self.table.seen_key, queried.popitem
        while queried:
            for _ in range(min(len(queried), SEEN_SLICE)):
                key, count = take()  # the key's last reference, mostly: dropped here
                entry = seen_key(key, now, count)
                if entry is not None and now >= self._rescaled(entry, key):
                    self.offer_key(key, entry.target or address_of(key))
            await asyncio.sleep(0)

    async def _fold(self) -> None:
        """Make the view's new base a step at a time, answering between
        (gslb/layers.py), and publish it."""
        try:
            while (view := self.table.fold_step()) is None:
                await asyncio.sleep(layers.PAUSE)
            if self.publish is not None:
                self.publish(view)
        finally:
            self._folding = None

    def _saved(self, task: asyncio.Task[None]) -> None:
        self._saving = None
        if not task.cancelled() and task.exception() is not None:
            log.error("ldns_table: save failed", exc_info=task.exception())

    async def _tick_forever(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.tick()
            except Exception:  # the ticker must outlive a bug in one tick
                log.exception("probe_tick: failed")

    async def save(self, idle: bool = True) -> None:
        """Write the table to `state_file` (gslb/ldnsfile.py: from a forked
        child, while this process answers; `idle`: on CPU time nothing else
        wants)."""
        path = self.settings.state_file
        self._last_save = now = self.clock()
        if path:
            await save_forked(path, self.table, self.datacenters, now, idle=idle)

    def _jittered(self, seconds: float) -> float:
        return seconds * (1 - JITTER * self.rng.random())

    def load(self) -> int:
        """Load the saved table (at start-up), and remove what saves killed
        half-way left behind; each LDNS is then due as described above."""
        path = self.settings.state_file
        if not path:
            return 0
        remove_leftovers(path)
        now = self.clock()
        loaded = load(path, self.table, self.datacenters, now)
        spread = JITTER * self.settings.interval
        for _, entry in self.table.items():
            probed = max((r.probed_at for r in unpack(entry.paths)), default=0)
            draw = self.rng.random()
            due = probed + wait(self.settings, entry.failures) * (1 - JITTER * draw)
            entry.next_probe = due if due > now else now + spread * draw
        return loaded

    async def stop(self, save: bool = True) -> None:
        if self._folding is not None:
            self._folding.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._saving is not None:  # the final save below is the newer one
            self._saving.cancel()
            await asyncio.gather(self._saving, return_exceptions=True)
        if save:  # nothing is answered any more: the save need not give way
            await self.save(idle=False)

    # -- the operator's side (control socket) ------------------------------

    def entries(self, address: str | None = None, *, limit: int | None = None) -> list[dict]:
        """Entries shaped like 3-DNS's `ldns { ... }`, JSON-able."""
        s = self.settings
        args = (self.datacenters, self.clock(), s.ldns_ttl, s.path_ttl)
        rescaled = self._rescaled
        if address is not None:
            wanted = ip_address(address)
            entry = self.table.get(wanted)
            if entry is None:
                return []
            rescaled(entry, key_of(wanted))
            return [entry_dict(wanted, entry, *args)]
        chosen = list(islice(self.table.items(), limit))
        for a, e in chosen:
            rescaled(e, key_of(a))
        return [entry_dict(a, e, *args) for a, e in chosen]

    async def probe_now(self, address: str) -> list[dict]:
        """Probe `address` from every vantage point now; its entry afterwards."""
        target = ip_address(address)
        if not self.allowed(target):
            raise ProbeRefused(f"{target} is not allowed by [probes] allow/deny")
        now = self.clock()
        self.table.add(target, target, now)
        results = await self.measure(target)
        now = self.clock()
        for dc, r in results.items():
            self.table.record(
                target, dc, rtt_us=r.rtt_us, hops=r.hops, protocol=r.protocol, now=now
            )
        if self.publish is not None:
            self.publish(self.table.view())
        return self.entries(address)
