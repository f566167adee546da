"""The scheduler with fake probers (no sockets): what is probed, when, how much."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections import deque
from ipaddress import ip_address, ip_network
from random import Random
from typing import ClassVar

import pytest

from gslb.model import Config, DataCenter, ProbeSettings
from gslb.probes.base import ProbeResult
from gslb.probes.scheduler import (
    BURST,
    COUNT_SLICE,
    JITTER,
    SEEN_SLICE,
    ProbeRefused,
    Scheduler,
    TargetState,
    wait,
)
from gslb.proximity import LdnsTable, address_of, key_of, unpack
from tests.fakeldns import probing

CNC, TEL = ip_address("127.0.0.2"), ip_address("127.0.0.3")
LDNS = ip_address("127.0.0.53")
T0 = 1_000_000.0


class FakeProber:
    """Answers with `rtt[source]` µs (None: silence) and records every call."""

    name: ClassVar[str] = "fake"

    def __init__(self, name: str, rtt: dict[object, int | None] | None = None, delay=0.0):
        self.name = name  # type: ignore[misc]
        self.rtt = rtt if rtt is not None else {CNC: 150_000, TEL: 60_000}
        self.delay = delay
        self.calls: list[tuple[object, object]] = []
        self.running = self.most = 0

    async def probe(self, target, *, source, port, timeout):
        self.calls.append((target, source))
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.running -= 1
        rtt = self.rtt.get(source)
        return ProbeResult(self.name, rtt, 2, "reply" if rtt else "timeout")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Virtual time: a sleep moves the clock on at once (by a microsecond at
        least, as a real one takes: T0 + 1e-11 would be T0 again)."""
        self.now += max(seconds, 1e-6)
        await asyncio.sleep(0)


def config(**probes) -> Config:
    return probing(
        (DataCenter("CNC", CNC), DataCenter("TEL", TEL), DataCenter("HK")),
        ProbeSettings(**{"protocols": ("dns_dot", "tcp"), **probes}),
    )


class Draws(Random):
    """random() gives these values in turn, then the last again (0.0: no jitter)."""

    def __init__(self, *values: float) -> None:
        super().__init__(0)
        self.values = list(values) or [0.0]

    def random(self) -> float:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def scheduler(probers, clock=None, seen=None, rng=None, **probes) -> tuple[Scheduler, list]:
    published: list = []
    clock = clock or Clock()
    s = Scheduler(
        LdnsTable(max_entries=1000, ldns_ttl=3600),
        config(**probes),
        probers={p.name: p for p in probers},
        seen=seen,
        publish=published.append,
        clock=clock,
        sleep=clock.sleep,
        rng=rng or Draws(),
    )
    return s, published


async def settle(s: Scheduler, until, timeout: float = 2.0) -> None:
    """Run the scheduler until `until()` holds (bounded in time)."""
    runner = asyncio.create_task(s.run(tick=3600))
    try:
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, "scheduler did not settle"
            await asyncio.sleep(0.005)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def measured(s: Scheduler, prober: FakeProber, *addresses) -> None:
    """Offer each LDNS and run until each is probed from both sources."""
    calls = len(prober.calls) + 2 * len(addresses)
    for address in addresses:
        s.offer(address, address)
    await settle(s, lambda: len(prober.calls) == calls and not s._pending)


def paths(s: Scheduler, address=LDNS):
    entry = s.table.get(address)
    return [(p.datacenter, p.rtt_us, p.protocol, p.failures) for p in unpack(entry.paths)]


async def test_the_hot_path_offers_a_key_and_its_subnet_is_probed_through_the_resolver():
    dot = FakeProber("dns_dot")
    s, _ = scheduler([dot])
    v4, v6 = ip_address("198.51.100.0"), ip_address("2001:db8:1::")  # ECS subnets: keys only
    for subnet in (v4, v6, v4):  # the second v4 is queued already: no second entry
        s.offer_key(key_of(subnet), str(LDNS))
    assert list(s._queue) == [(key_of(v4), str(LDNS), False), (key_of(v6), str(LDNS), False)]
    await settle(s, lambda: s.table.get(v6) is not None and not s._pending)
    assert [(str(a), str(e.target)) for a, e in s.table.items()] == [
        ("198.51.100.0", "127.0.0.53"),
        ("2001:db8:1::", "127.0.0.53"),
    ]
    assert sorted(dot.calls) == [(LDNS, CNC), (LDNS, TEL)]  # one measurement of the target
    assert paths(s, v4) == paths(s, v6) == [(0, 150_000, "dns_dot", 0), (1, 60_000, "dns_dot", 0)]
    s.offer_key(key_of(v6), str(LDNS))  # measured: not due, no queue slot
    assert s.counts["not_due"] == 1 and not s._queue


async def test_a_new_ldns_is_probed_once_from_every_probe_source():
    dot, tcp = FakeProber("dns_dot"), FakeProber("tcp")
    s, published = scheduler([dot, tcp])
    s.offer(LDNS, str(LDNS))
    await settle(s, lambda: s.table.get(LDNS) and len(paths(s)) == 2 and not s._pending)
    assert sorted(dot.calls) == [(LDNS, CNC), (LDNS, TEL)] and tcp.calls == []
    assert paths(s) == [(0, 150_000, "dns_dot", 0), (1, 60_000, "dns_dot", 0)]
    assert published == []  # views are published by the tick, in batches
    await s.tick()
    assert published[-1].paths(key_of(LDNS))[1].rtt_us == 60_000
    assert s.table.get(LDNS).next_probe == T0 + 600
    assert s.probe_results == {("dns_dot", "CNC", "ok"): 1, ("dns_dot", "TEL", "ok"): 1}
    assert s.probe_rtt["dns_dot", "TEL"].sum == 0.06


async def test_explicit_data_centers_probe_without_a_source_if_they_have_none():
    dot = FakeProber("dns_dot", {None: 7})
    s, _ = scheduler([dot, FakeProber("tcp")], datacenters=(2,))
    s.offer(LDNS, LDNS)
    await settle(s, lambda: dot.calls and not s._pending)
    assert dot.calls == [(LDNS, None)] and paths(s) == [(2, 7, "dns_dot", 0)]


async def test_protocols_in_order_then_the_one_that_worked_first():
    dot, tcp = FakeProber("dns_dot", {CNC: None, TEL: None}), FakeProber("tcp")
    clock = Clock()
    s, _ = scheduler([dot, tcp], clock=clock)
    s.offer(LDNS, LDNS)
    await settle(s, lambda: len(tcp.calls) == 2 and not s._pending)
    assert (len(dot.calls), s.table.get(LDNS).protocol) == (2, "tcp")
    clock.now += 600
    s.offer(LDNS, LDNS)
    await settle(s, lambda: len(tcp.calls) == 4 and not s._pending)
    assert len(dot.calls) == 2  # tcp first, and it answered


async def test_a_failing_ldns_backs_off_exponentially_up_to_the_cap():
    silent = FakeProber("dns_dot", {})
    clock = Clock()
    s, _ = scheduler([silent], clock=clock, protocols=("dns_dot",), interval=10, backoff_max=35)
    waits = []
    for _ in range(4):
        s.offer(LDNS, LDNS)
        count = len(silent.calls)
        await settle(s, lambda c=count: len(silent.calls) == c + 2 and not s._pending)
        entry = s.table.get(LDNS)
        waits.append(entry.next_probe - clock.now)
        s.offer(LDNS, LDNS)  # not due yet: refused without a probe
        await settle(s, lambda: not s._pending)
        clock.now = entry.next_probe
    assert waits == [10, 20, 35, 35]
    assert (s.table.get(LDNS).failures, s.counts["not_due"], len(silent.calls)) == (4, 4, 8)
    assert paths(s) == [(0, 0, "", 4), (1, 0, "", 4)]


@pytest.mark.parametrize(
    ("target", "allow", "deny", "expected"),
    [
        ("127.0.0.53", None, (), True),
        ("::1", None, (), True),
        ("10.0.0.1", None, (), False),  # default: loopback only
        ("8.8.8.8", None, (), False),
        ("8.8.8.8", ("0.0.0.0/0",), (), True),
        ("10.1.2.3", ("10.0.0.0/8",), ("10.1.0.0/16",), False),
        ("0.0.0.0", ("0.0.0.0/0",), (), False),
        ("224.0.0.1", ("0.0.0.0/0",), (), False),
        ("255.255.255.255", ("0.0.0.0/0",), (), False),
        ("240.0.0.1", ("0.0.0.0/0",), (), False),
        ("169.254.1.1", ("0.0.0.0/0",), (), False),
        ("fe80::1", ("::/0",), (), False),
        ("ff02::1", ("::/0",), (), False),
        ("::", ("::/0",), (), False),
        ("::ffff:224.0.0.1", ("::/0", "0.0.0.0/0"), (), False),
        ("192.0.2.1", ("0.0.0.0/0",), (), False),  # documentation: only when named
        ("2001:db8::1", ("::/0",), (), False),
        ("192.0.2.1", ("192.0.2.0/24",), (), True),
        ("198.51.100.9", ("198.51.100.0/25",), (), True),
    ],
)
def test_what_may_be_probed(target, allow, deny, expected):
    settings = {"deny": tuple(ip_network(n) for n in deny)}
    if allow is not None:
        settings["allow"] = tuple(ip_network(n) for n in allow)
    s, _ = scheduler([FakeProber("dns_dot")], **settings)
    assert s.allowed(ip_address(target)) is expected


async def test_forbidden_targets_are_counted_never_probed():
    dot = FakeProber("dns_dot")
    s, _ = scheduler([dot])
    for peer in ("8.8.8.8", "224.0.0.1", "not an address", "10.0.0.1"):
        s.offer(ip_address("127.0.0.9"), peer)
        await settle(s, lambda: not s._pending)
    assert (dot.calls, s.counts["forbidden"], len(s.table)) == ([], 4, 0)


async def test_a_resolvers_verdict_is_remembered_until_probes_are_reconfigured():
    """Many subnets from one resolver: its allow/deny verdict is worked out once
    (not per offered key), and again after a reload changes [probes]."""
    dot = FakeProber("dns_dot")
    s, _ = scheduler([dot], keys_per_target=1000)
    for i in range(3):
        s.offer(ip_address(f"198.18.{i}.0"), "127.0.0.53")
        await settle(s, lambda: not s._pending)
    assert s._targets_of == {"127.0.0.53": LDNS}
    assert (len(s.table), s.counts["forbidden"]) == (3, 0)
    s.configure(config(allow=(ip_network("10.0.0.0/8"),), keys_per_target=1000))
    assert s._targets_of == {}
    s.offer(ip_address("198.18.9.0"), "127.0.0.53")
    await settle(s, lambda: not s._pending)
    assert s._targets_of == {"127.0.0.53": None}
    assert (len(s.table), s.counts["forbidden"]) == (3, 1)


async def test_who_queried_is_taken_and_folded_in_slices_with_the_loop_free_in_between():
    """A key per query (distinct clients): the tick takes and counts
    COUNT_SLICE keys and folds SEEN_SLICE keys per turn of the event loop,
    other work running in between; in the end every key is counted, the
    first queried the most recently seen, and keys that came in meanwhile
    wait for the next tick."""
    s, _ = scheduler([FakeProber("dns_dot")])
    n = 2 * COUNT_SLICE + 5  # three turns of taking, then five of folding
    s.table.max_entries = n + 1
    addresses = [ip_address(0xC6120000 + i) for i in range(n + 1)]  # 198.18/15
    for a in addresses:
        s.table.add(a, None, T0).next_probe = T0 + 600  # not due: no re-probe
    s.seen.extend(key_of(a) for a in addresses[:n])
    s.seen.append(key_of(addresses[0]))
    turns: list[tuple[int, int]] = []  # (keys left in `seen`, queries counted) after each turn

    async def watch() -> None:
        late = key_of(addresses[n])
        while True:
            turns.append((len(s.seen), sum(e.queries for _, e in s.table.items())))
            if len(turns) == 2:
                s.seen.append(late)  # a query while the tick runs: the next tick's
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    await s.tick()  # its first slice runs first
    watcher.cancel()
    taken = [n + 1 - min(n + 1, i * COUNT_SLICE) for i in range(1, 4)]
    assert [left for left, _ in turns[:3]] == [taken[0], taken[1], 1]  # the late key stays
    # Folded last first: addresses[0] (twice) in the last slice.
    folded = [min(n, i * SEEN_SLICE) for i in range(1, -(-n // SEEN_SLICE) + 1)]
    folded[-1] += 1
    assert [queries for _, queries in turns[3:]] == folded
    assert s.table.get(addresses[0]).queries == 2
    assert list(s.table.keys())[-3:] == [key_of(a) for a in reversed(addresses[:3])]
    assert (list(s.seen), s.table.get(addresses[n]).queries) == ([key_of(addresses[n])], 0)
    assert not s._queue
    await s.tick()
    assert (list(s.seen), s.table.get(addresses[n]).queries) == ([], 1)


def test_the_queue_is_bounded_and_drops_are_counted():
    s, _ = scheduler([FakeProber("dns_dot")], queue_size=3)
    for i in range(5):
        s.offer(ip_address(f"127.0.1.{i}"), f"127.0.1.{i}")
    s.offer(ip_address("127.0.1.0"), "127.0.1.0")  # already queued: no second entry
    assert ([a for a, _, _ in s._queue], s.counts["queue_full"]) == (
        [key_of(ip_address(f"127.0.1.{i}")) for i in range(3)],
        2,
    )


def test_without_a_vantage_point_nothing_is_queued():
    s, _ = scheduler([FakeProber("dns_dot")], datacenters=())
    s.offer(LDNS, LDNS)
    assert not s._queue and not s._pending


async def test_one_measurement_per_target_in_flight():
    dot = FakeProber("dns_dot", delay=0.05)
    s, _ = scheduler([dot])
    # Two client subnets (ECS) behind one resolver: it is probed once, the
    # result recorded under both keys; the subnets themselves are never probed.
    a, b = ip_address("198.51.100.0"), ip_address("203.0.113.0")
    s.offer(a, str(LDNS))
    s.offer(b, str(LDNS))
    await settle(s, lambda: len(s.table) == 2 and not s._pending)
    assert sorted(dot.calls) == [(LDNS, CNC), (LDNS, TEL)]
    assert paths(s, a) == paths(s, b) == [(0, 150_000, "dns_dot", 0), (1, 60_000, "dns_dot", 0)]
    assert s.table.get(a).target == LDNS


async def test_concurrency_is_bounded():
    dot = FakeProber("dns_dot", delay=0.02)
    s, _ = scheduler([dot], concurrency=2, datacenters=(0,))
    for i in range(6):
        s.offer(ip_address(f"127.0.2.{i}"), f"127.0.2.{i}")
    await settle(s, lambda: len(dot.calls) == 6 and not s._pending)
    assert dot.most == 2


async def test_a_spoofed_flood_stays_within_the_token_bucket():
    """In virtual time (the bucket reads the scheduler's clock and sleeps by
    it): a full bucket at once, then `rate` probes a second, never more."""
    clock = Clock()
    dot = TimedProber("dns_dot", clock)
    rate = 40
    s, _ = scheduler([dot], clock=clock, rate=rate, queue_size=64, concurrency=64)
    offered = 200  # spoofed sources at once: the queue takes 64
    for i in range(1, offered + 1):
        s.offer(ip_address(0x7F000000 + i), ip_address(0x7F000000 + i))
    await settle(s, lambda: len(dot.at) == 128 and not s._pending)  # 64 LDNS, 2 DCs
    assert s.counts["queue_full"] == offered - 64
    assert s.counts["probes"] == 128
    burst = int(rate * BURST)  # a tenth of a second's worth: sends are paced
    assert dot.at[:burst] == [T0] * burst  # the full bucket
    # The n-th probe past it waits n/rate seconds: never sooner.
    for n, at in enumerate(dot.at[burst:], start=1):
        assert at >= T0 + n / rate - 1e-9, (n, at)
    assert dot.at[-1] == pytest.approx(T0 + (128 - burst) / rate, abs=0.5)


class TimedProber(FakeProber):
    """Records the (virtual) time of every probe."""

    def __init__(self, name: str, clock: Clock) -> None:
        super().__init__(name)
        self.clock = clock
        self.at: list[float] = []

    async def probe(self, target, *, source, port, timeout):
        self.at.append(self.clock())
        return await super().probe(target, source=source, port=port, timeout=timeout)


async def test_the_tick_records_who_queried_and_reprobes_when_due():
    dot = FakeProber("dns_dot")
    clock = Clock()
    seen: deque = deque(maxlen=100)
    s, published = scheduler([dot], clock=clock, seen=seen)
    s.offer(LDNS, LDNS)
    await settle(s, lambda: len(dot.calls) == 2 and not s._pending)
    other = ip_address("127.0.0.99")  # never probed: not in the table
    seen.extend(map(key_of, [LDNS, LDNS, other, LDNS]))
    clock.now += 10
    await s.tick()
    entry = s.table.get(LDNS)
    assert (entry.queries, entry.last_seen, other in s.table, len(seen)) == (3, T0 + 10, False, 0)
    assert not s._queue  # not due yet
    clock.now = T0 + 600
    seen.append(key_of(LDNS))
    await s.tick()
    assert list(s._queue) == [(key_of(LDNS), LDNS, False)]
    assert len(published) == 1  # the first tick published, the second had nothing new


async def test_the_tick_expires_inactive_ldns():
    clock = Clock()
    s, published = scheduler([FakeProber("dns_dot")], clock=clock, ldns_ttl=100)
    s.offer(LDNS, LDNS)
    await settle(s, lambda: s.table.get(LDNS) and not s._pending)
    await s.tick()
    clock.now += 101
    await s.tick()
    assert (len(s.table), s.counts["expired"], published[-1].paths(key_of(LDNS))) == (0, 1, {})


async def test_probe_now_and_entries():
    clock = Clock()
    s, published = scheduler([FakeProber("dns_dot")], clock=clock)
    (entry,) = await s.probe_now("127.0.0.53")
    assert published[-1].paths(key_of(LDNS))[0].rtt_us == 150_000
    assert entry["address"] == "127.0.0.53" and entry["ttl"] == 2_419_200
    assert [(p["datacenter"], p["cur_rtt"], p["fresh"]) for p in entry["paths"]] == [
        ("CNC", 150_000, True),
        ("TEL", 60_000, True),
    ]
    assert s.entries() == [entry] and s.entries("127.0.0.1") == []
    with pytest.raises(ProbeRefused, match=r"8\.8\.8\.8 is not allowed"):
        await s.probe_now("8.8.8.8")


async def test_save_and_load_through_the_state_file(tmp_path):
    state = str(tmp_path / "var" / "ldns.json")
    s, _ = scheduler([FakeProber("dns_dot")], state_file=state)
    await s.probe_now("127.0.0.53")
    await s.stop()
    again, _ = scheduler([FakeProber("dns_dot")], state_file=state)
    assert again.load() == 1
    (before,), (after,) = s.entries(), again.entries()
    assert after == {**before, "next_probe": T0 + 600}  # an interval after its probe


async def test_reprobe_times_are_jittered_up_to_a_tenth_early():
    dot = FakeProber("dns_dot")
    s, _ = scheduler([dot], rng=Draws(0.5, 1.0))
    await measured(s, dot, LDNS, ip_address("127.0.0.54"))
    due = sorted(s.table.get(ldns).next_probe for ldns in (LDNS, ip_address("127.0.0.54")))
    assert due == [T0 + 600 * (1 - JITTER * 1.0), T0 + 600 * (1 - JITTER * 0.5)]


async def test_after_a_restart_overdue_ldns_are_spread_over_a_tenth_of_the_interval(tmp_path):
    state = str(tmp_path / "ldns.json")
    clock = Clock()
    s, _ = scheduler([FakeProber("dns_dot")], clock=clock, state_file=state)
    for address in ("127.0.0.53", "127.0.0.54"):
        await s.probe_now(address)
    clock.now = T0 + 500
    await s.probe_now("127.0.0.55")
    await s.stop()
    clock.now = T0 + 1000  # .53 and .54 overdue (probed at T0), .55 not (at T0 + 500)
    again, _ = scheduler([FakeProber("dns_dot")], clock=clock, state_file=state)
    again.rng = Draws(0.25, 0.75, 0.5)
    assert again.load() == 3
    due = {str(address): entry.next_probe for address, entry in again.table.items()}
    assert due == {
        "127.0.0.53": T0 + 1000 + 60 * 0.25,
        "127.0.0.54": T0 + 1000 + 60 * 0.75,
        "127.0.0.55": T0 + 500 + 600 * (1 - JITTER * 0.5),
    }


async def test_who_queried_in_a_worker_process_counts_at_the_next_tick():
    dot = FakeProber("dns_dot")
    clock = Clock()
    seen: deque = deque(maxlen=100)
    s, _ = scheduler([dot], clock=clock, seen=seen)
    s.offer(LDNS, LDNS)
    await settle(s, lambda: len(dot.calls) == 2 and not s._pending)
    seen.append(key_of(LDNS))
    s.queried({key_of(LDNS): 5})
    s.queried({key_of(LDNS): 2, key_of(ip_address("127.0.0.99")): 1})
    clock.now += 10
    await s.tick()
    entry = s.table.get(LDNS)
    assert (entry.queries, entry.last_seen, len(s.table)) == (8, T0 + 10, 1)
    await s.tick()
    assert s.table.get(LDNS).queries == 8  # counted once


# ECS: many table keys (client subnets), one probe target (the resolver).

ANSWERED = [(0, 150_000, "dns_dot", 0), (1, 60_000, "dns_dot", 0)]
KEYS_PER_TARGET = ProbeSettings().keys_per_target  # the default, 256


def subnets(count: int, first: int = 0) -> list:
    """`count` distinct /24 client subnets, as ECS keys."""
    return [ip_address(0x0A000000 + ((first + i) << 8)) for i in range(count)]


async def test_many_ecs_subnets_from_one_resolver_measure_it_once():
    dot = FakeProber("dns_dot", delay=0.01)
    s, _ = scheduler([dot])
    keys = subnets(600)
    for key in keys:
        s.offer(key, str(LDNS))
    await settle(s, lambda: not s._queue and not s._pending)
    assert len(dot.calls) == 2  # one measurement: two data centers, one protocol
    assert len(s.table) == KEYS_PER_TARGET
    assert s.counts["target_keys_full"] == 600 - KEYS_PER_TARGET
    admitted = [key for key in keys if key in s.table]
    assert admitted == keys[:KEYS_PER_TARGET]
    assert all(paths(s, key) == ANSWERED for key in admitted)
    assert {s.table.get(key).next_probe for key in admitted} == {T0 + 600}


async def test_a_new_subnet_of_a_resolver_measured_recently_shares_its_result():
    dot = FakeProber("dns_dot")
    clock = Clock()
    s, _ = scheduler([dot], clock=clock)
    first, later = subnets(2)
    s.offer(first, LDNS)
    await settle(s, lambda: not s._pending)
    clock.now += 100
    s.offer(later, LDNS)
    await settle(s, lambda: not s._pending)
    assert len(dot.calls) == 2
    assert paths(s, later) == ANSWERED
    assert next(unpack(s.table.get(later).paths)).measured_at == T0  # the result's own age
    assert (s.table.get(later).next_probe, s.counts["target_reused"]) == (T0 + 600, 1)


async def test_a_silent_resolver_backs_off_whatever_its_subnets():
    silent = FakeProber("dns_dot", {})
    clock = Clock()
    s, _ = scheduler([silent], clock=clock, protocols=("dns_dot",), interval=10, backoff_max=35)
    a, b, c = subnets(3)
    s.offer(a, LDNS)
    await settle(s, lambda: not s._pending)
    clock.now = T0 + 5
    s.offer(b, LDNS)  # new key, same target: not due, inherits the back-off
    await settle(s, lambda: not s._pending)
    assert len(silent.calls) == 2
    assert [(s.table.get(k).failures, s.table.get(k).next_probe) for k in (a, b)] == [
        (1, T0 + 10),
        (1, T0 + 10),
    ]
    clock.now = T0 + 10
    s.offer(a, LDNS)
    s.offer(b, LDNS)
    await settle(s, lambda: not s._pending)
    clock.now = T0 + 15
    s.offer(c, LDNS)
    await settle(s, lambda: not s._pending)
    assert len(silent.calls) == 4  # one more measurement for both keys, none for c
    assert {(s.table.get(k).failures, s.table.get(k).next_probe) for k in (a, b, c)} == {
        (2, T0 + 30)
    }


async def test_the_keys_a_resolver_may_create_are_a_setting():
    s, _ = scheduler([FakeProber("dns_dot")], keys_per_target=3)
    keys = subnets(5)
    for key in keys:
        s.offer(key, LDNS)
    await settle(s, lambda: not s._queue and not s._pending)
    assert [key in s.table for key in keys] == [True, True, True, False, False]
    assert s.counts["target_keys_full"] == 2


async def test_a_resolver_whose_keys_are_spent_takes_no_queue_slot_until_the_next_interval():
    clock = Clock()
    s, _ = scheduler([FakeProber("dns_dot")], clock=clock, keys_per_target=3)
    keys = subnets(6)
    for key in keys[:3]:
        s.offer(key, LDNS)
    await settle(s, lambda: not s._queue and not s._pending)
    for key in keys[3:5]:  # its budget spent: refused when offered
        s.offer(key, LDNS)
    assert (list(s._queue), s.counts["target_keys_full"]) == ([], 2)
    s.offer(keys[0], LDNS)  # a key in the table is not a new one: not due, as before
    assert (list(s._queue), s.counts["not_due"]) == ([], 1)
    clock.now += 600  # a new interval: a new budget
    s.offer(keys[5], LDNS)
    assert list(s._queue) == [(key_of(keys[5]), LDNS, False)]
    await settle(s, lambda: not s._queue and not s._pending)
    assert [key in s.table for key in keys] == [True, True, True, False, False, True]


async def test_the_keys_a_resolver_may_create_start_again_each_interval():
    dot = FakeProber("dns_dot")
    clock = Clock()
    s, _ = scheduler([dot], clock=clock, max_entries=100_000)
    for key in subnets(KEYS_PER_TARGET + 1):
        s.offer(key, LDNS)
    await settle(s, lambda: not s._queue and not s._pending)
    assert (len(s.table), s.counts["target_keys_full"]) == (KEYS_PER_TARGET, 1)
    clock.now += 600
    for key in subnets(KEYS_PER_TARGET + 1, first=KEYS_PER_TARGET + 1):
        s.offer(key, LDNS)
    await settle(s, lambda: not s._queue and not s._pending)
    assert (len(s.table), s.counts["target_keys_full"]) == (2 * KEYS_PER_TARGET, 2)
    assert len(dot.calls) == 4  # due again after the interval: measured a second time


async def test_a_shared_result_follows_its_data_center_across_a_reload():
    dot = FakeProber("dns_dot")
    clock = Clock()
    s, _ = scheduler([dot], clock=clock)
    first, later = subnets(2)
    s.offer(first, LDNS)
    await settle(s, lambda: not s._pending)
    old = config()
    s.configure(dataclasses.replace(old, datacenters=old.datacenters[::-1]))  # HK, TEL, CNC
    s.offer(later, LDNS)
    await settle(s, lambda: not s._pending)
    assert len(dot.calls) == 2
    assert s.ids == (2, 1, 0)  # the ids stay with the names
    named = [(s.datacenters[dc], *rest) for dc, *rest in paths(s, later)]
    assert named == [("CNC", 150_000, "dns_dot", 0), ("TEL", 60_000, "dns_dot", 0)]
    assert paths(s, later) == paths(s, first)


async def test_ids_re_given_before_a_reload_reaches_the_scheduler_drop_shared_results():
    # The server gives the table the new data centers first (the snapshot
    # reads paths by their ids), then configures the scheduler: a re-indexing
    # of the ids in that first call must still reach the targets' results.
    s, _ = scheduler([FakeProber("dns_dot")])
    s.offer(subnets(1)[0], LDNS)
    await settle(s, lambda: not s._pending)
    assert s._targets[LDNS].results is not None
    old = config()
    renamed = dataclasses.replace(old.datacenters[0], name="SIN")
    new = dataclasses.replace(old, datacenters=(renamed, *old.datacenters[1:]))
    s.table.MAX_IDS = len(old.datacenters)  # one new name: the ids run out
    s.table.configure([d.name for d in new.datacenters])  # as the server's reload does
    assert s.table.compactions == 1
    s.configure(new)
    assert s._targets[LDNS].results is None


async def test_a_loaded_entry_keeps_its_back_off():
    silent = FakeProber("dns_dot", {})
    s, _ = scheduler([silent], protocols=("dns_dot",), interval=10, backoff_max=100)
    s.table.add(LDNS, LDNS, T0).failures = 2  # as the state file left it
    s.offer(LDNS, LDNS)
    await settle(s, lambda: not s._pending)
    entry = s.table.get(LDNS)
    assert (entry.failures, entry.next_probe) == (3, T0 + 40)


# -- the sync group's side: announcements and remote requests ---------------


async def test_an_admitted_ldns_is_announced_once_and_remote_ones_never():
    dot = FakeProber("dns_dot")
    s, _ = scheduler([dot, FakeProber("tcp")], keys_per_target=2)
    announced: list = []
    s.announce = lambda ldns, target: announced.append((ldns, target))
    subnets = [ip_address(f"10.0.{i}.0") for i in range(4)]
    for subnet in subnets:
        s.offer(subnet, LDNS)  # ECS: four keys, one resolver
    s.offer(ip_address("127.0.0.54"), "127.0.0.54", True)  # asked by another node
    await settle(s, lambda: not s._pending and not s._queue)
    # Two keys within the target's budget were admitted and announced; the
    # other two were refused before any announcement; the remote one is not
    # announced back.
    assert announced == [(subnets[0], LDNS), (subnets[1], LDNS)]
    assert s.counts["target_keys_full"] == 2
    assert sorted(dot.calls) == sorted(
        [(LDNS, CNC), (LDNS, TEL), (ip_address("127.0.0.54"), CNC), (ip_address("127.0.0.54"), TEL)]
    )


async def test_a_node_without_vantage_points_still_announces():
    dot = FakeProber("dns_dot")
    s, _ = scheduler([dot, FakeProber("tcp")], datacenters=())
    announced: list = []
    s.announce = lambda ldns, target: announced.append(ldns)
    s.offer(LDNS, LDNS)
    s.offer(ip_address("127.0.0.54"), "127.0.0.54", True)  # nothing to probe it from
    await settle(s, lambda: not s._pending and not s._queue)
    assert (announced, dot.calls, s.counts["no_vantage"]) == ([LDNS], [], 1)


async def test_remote_requests_get_the_limits_with_a_quarter_wait_of_slack():
    clock = Clock()
    dot = FakeProber("dns_dot")
    s, _ = scheduler([dot, FakeProber("tcp")], clock=clock, interval=100, backoff_max=40)
    s.offer(LDNS, LDNS, True)
    await settle(s, lambda: len(dot.calls) == 2 and not s._pending)
    due = s.table.get(LDNS).next_probe
    assert T0 + 36 <= due <= T0 + 40  # the wait: backoff_max caps interval, less jitter
    clock.now = due - 11  # more than the slack (a quarter of 40 s) before due
    s.offer(LDNS, LDNS, True)
    await settle(s, lambda: not s._pending and not s._queue)
    assert (len(dot.calls), s.counts["not_due"]) == (2, 1)
    clock.now = due - 9  # within the slack: probed
    s.offer(LDNS, LDNS, True)
    await settle(s, lambda: len(dot.calls) == 4 and not s._pending)
    clock.now = s.table.get(LDNS).next_probe - 1  # a local offer gets no slack
    s.offer(LDNS, LDNS)
    await settle(s, lambda: not s._pending and not s._queue)
    assert (len(dot.calls), s.counts["not_due"]) == (4, 2)


async def test_a_remote_request_teaches_whom_to_probe_for_a_key_that_came_without():
    s, _ = scheduler([FakeProber("dns_dot"), FakeProber("tcp")])
    subnet = ip_address("10.9.8.0")
    s.table.add(subnet, None, T0)  # made by a path from the bus, target unknown
    s.offer(subnet, LDNS, True)
    await settle(s, lambda: not s._pending and not s._queue)
    assert s.table.get(subnet).target == LDNS


@pytest.mark.parametrize(
    ("interval", "backoff_max", "due_after"),
    [
        (15.0, 3600.0, 15.0),  # lowered: due 15 s after the measurement, not 600
        (1200.0, 3600.0, 1200.0),  # raised: not due at 600 any more
        (600.0, 300.0, 300.0),  # the back-off cap now below the interval
    ],
)
async def test_a_reload_applies_the_new_interval_to_ldns_measured_already(
    interval, backoff_max, due_after
):
    dot = FakeProber("dns_dot")
    clock = Clock()
    seen: deque = deque(maxlen=100)
    s, _ = scheduler([dot], clock=clock, seen=seen)
    forgotten = ip_address("127.0.0.54")  # in the table, its target's state evicted
    await measured(s, dot, LDNS, forgotten)
    del s._targets[forgotten]
    assert (s.table.get(LDNS).next_probe, s.table.get(forgotten).next_probe) == (T0 + 600,) * 2
    clock.now = T0 + 10
    s.configure(config(interval=interval, backoff_max=backoff_max))
    assert s.table.get(LDNS).next_probe == T0 + 600  # rescaled when next used, not on the reload
    clock.now = T0 + 20
    # scaled from the measurement (T0) for the first, from the reload for the other
    assert s.entries(str(LDNS))[0]["next_probe"] == T0 + due_after
    assert s.entries(str(forgotten))[0]["next_probe"] == T0 + 10 + 590 * due_after / 600
    for when, due in ((T0 + due_after - 1, False), (T0 + due_after, True)):
        clock.now = when
        seen.append(key_of(LDNS))
        await s.tick()
        assert (list(s._queue) == [(key_of(LDNS), LDNS, False)]) is due


def big_scheduler(n: int) -> Scheduler:
    """`n` LDNS: a quarter with a measured target, a quarter whose target was
    never measured, half whose target was forgotten; due at various times."""
    s = Scheduler(
        LdnsTable(max_entries=n, ldns_ttl=10**7),
        config(max_entries=n),
        probers={},
        clock=Clock(),
        rng=Draws(),
    )
    for i in range(n):
        address = address_of(0x0A00_0000 + i)
        entry = s.table.add(address, address, T0)
        entry.failures, entry.next_probe = i % 5, T0 + i % 1000 - 300
        if i % 4 < 2:
            state = s._targets[address] = TargetState()
            state.failures, state.measured_at = i % 3, T0 - i % 100
            state.next_probe = state.measured_at + 600 * (1 - i % 7 / 70)
            state.results = {0: ProbeResult("dns_dot", 1000)} if i % 4 == 0 else None
    return s


def rescaled_at_once(s: Scheduler, old: ProbeSettings, new: ProbeSettings, now: float) -> None:
    """What a reload did before: every target and entry rescaled at once."""

    def ratio(failures: int) -> float:
        return wait(new, failures) / max(wait(old, failures), 1e-9)

    for state in s._targets.values():
        if state.results is not None:
            at = state.measured_at
            state.next_probe = at + (state.next_probe - at) * ratio(state.failures)
    for address, entry in s.table.items():
        known = s._targets.get(entry.target or address)
        if known is not None and known.results is not None:
            entry.next_probe = known.next_probe
        elif entry.next_probe > now:
            entry.next_probe = now + (entry.next_probe - now) * ratio(entry.failures)


def test_reloads_that_change_the_wait_touch_no_entry_and_end_as_rescaled_at_once():
    n = 200_000
    lazy, once = big_scheduler(n), big_scheduler(n)
    settings = [
        config(max_entries=n),
        config(max_entries=n, interval=15.0),
        config(max_entries=n, interval=1200.0, backoff_max=300.0),
    ]
    for at, (old, new) in enumerate(itertools.pairwise(settings), start=1):
        lazy.clock.now = once.clock.now = T0 + 10 * at
        lazy.configure(new)
        once.configure(new)
        rescaled_at_once(once, old.probes, new.probes, T0 + 10 * at)
        assert sum(e.rescaled == lazy._epoch for _, e in lazy.table.items()) == 0  # none walked
    lazy.clock.now = T0 + 100
    assert len(lazy.table) == n
    got = [e["next_probe"] for e in lazy.entries()]  # each rescaled as it is read
    assert got == [e.next_probe for _, e in once.table.items()]
    assert got != [T0 + i % 1000 - 300 for i in range(n)]  # not the same as no rescale
    assert [s.next_probe for s in lazy._targets.values()] == [
        s.next_probe for s in once._targets.values()
    ]
    lazy.configure(settings[0])  # back: each entry is rescaled from where it was read
    once.configure(settings[0])
    rescaled_at_once(once, settings[2].probes, settings[0].probes, T0 + 100)
    assert [e["next_probe"] for e in lazy.entries()] == [
        e.next_probe for _, e in once.table.items()
    ]


async def test_offers_dropped_on_a_full_queue_are_counted_and_caught_up_when_asked_again():
    dot = FakeProber("dns_dot")
    s, _ = scheduler([dot], queue_size=4, concurrency=1)
    resolvers = [ip_address(f"127.0.3.{i}") for i in range(10)]
    for r in resolvers:
        s.offer(r, r)
    assert (len(s._queue), s.counts["queue_full"]) == (4, 6)
    runner = asyncio.create_task(s.run(tick=3600))
    try:
        deadline = time.monotonic() + 5
        while not all(r in s.table and s.table.get(r).paths for r in resolvers):
            assert time.monotonic() < deadline, "not caught up"
            for r in resolvers:  # they keep asking: each query offers them again
                s.offer(r, r)
            await asyncio.sleep(0.005)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert sorted(t for t, _ in dot.calls) == sorted(resolvers * 2)  # each measured once


def test_the_defaults_cover_a_thousand_resolvers_from_three_data_centers_in_20_s():
    s = ProbeSettings()
    assert 1000 * 3 / s.rate <= 20 * 0.75  # a quarter to spare for RTTs and timeouts
    assert s.queue_size >= 5000  # a burst of 5,000 first-seen resolvers queues whole
    # LDNS probed at once: enough to keep the rate busy with 200 ms paths
    assert s.concurrency * 3 / 0.2 >= s.rate
