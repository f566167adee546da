"""The outbox: bundles in order, each until stored; bounded, the rest waiting in the table.

The store here is a function in the test standing for `Bus.store` (the
real one, against a NATS cluster losing its stream leader, is
tests/integration/sync/test_acked_paths.py).
"""

from __future__ import annotations

import asyncio
from ipaddress import ip_address

from gslb.proximity import LdnsTable
from gslb.sync import outbox as outbox_module
from gslb.sync.outbox import Outbox
from gslb.sync.paths import PathReplica, unbundle

T0 = 1_700_000_000


def replica(count: int) -> PathReplica:
    table = LdnsTable(max_entries=10_000, ldns_ttl=3600)
    r = PathReplica(table, lambda: ("CNC", "TEL"), lambda: float(T0), lambda: {0})
    for i in range(count):
        table.add(ip_address(0x0A000000 + i), None, T0)
        table.record(ip_address(0x0A000000 + i), 0, rtt_us=150_000, protocol="dns_dot", now=T0)
    return r


def test_a_bundle_not_stored_is_sent_again_before_the_next(monkeypatch):
    monkeypatch.setattr(outbox_module, "BACKOFF", 0.01)
    attempts: list[str] = []
    ids: set[str] = set()
    failures = {"a": 2}  # "a" refused twice (the stream electing its leader)

    async def store(subject: str, payload: bytes, msg_id: str) -> bool:
        attempts.append(subject)
        ids.add(msg_id)  # the same for every resend: the stream drops a copy it has
        if failures.get(subject, 0):
            failures[subject] -= 1
            raise TimeoutError
        return subject == "b"  # the stream had "b" already: a duplicate

    async def body() -> Outbox:
        out = Outbox(store, lambda: True)
        out.start()
        out.put("a", b"1", 3)
        out.put("b", b"2", 4, done=lambda: attempts.append("b stored"))
        assert out.waiting == 7
        await out.stop(within=5)
        return out

    out = asyncio.run(body())
    assert attempts == ["a", "a", "a", "b", "b stored"] and len(ids) == 2
    assert dict(out.counts) == {"retried": 2, "acked": 1, "duplicates": 1}
    assert out.waiting == 0


def test_nothing_is_sent_while_the_bus_is_away_and_stop_gives_up(caplog):
    sent: list[str] = []

    async def store(subject: str, payload: bytes, msg_id: str) -> bool:
        sent.append(subject)
        return False

    async def body() -> Outbox:
        out = Outbox(store, lambda: False)
        out.start()
        out.put("a", b"1", 3)
        await out.stop(within=0.3)
        return out

    out = asyncio.run(body())
    assert sent == [] and out.waiting == 3
    assert "sync: not acknowledged at stop messages=1 paths=3" in caplog.text


def test_a_full_outbox_takes_no_more_paths_they_wait_in_the_table():
    async def store(subject: str, payload: bytes, msg_id: str) -> bool:
        return False

    async def body() -> None:
        r = replica(5000)
        out = Outbox(store, lambda: True, limit=2)
        out.fill(r)  # room for 2 bundles of PER_BUNDLE paths: 4 096 of the 5 000
        assert (out.waiting, r.waiting) == (4096, 904)
        out.fill(r)  # full: nothing taken, counted
        assert (out.waiting, r.waiting, out.counts["full"]) == (4096, 904, 1)
        out.start()
        for _ in range(100):
            if not out.waiting:
                break
            await asyncio.sleep(0.01)
        out.fill(r)
        keys = [key for _, payload, _, _ in out._queue for key, _ in unbundle(payload)]
        assert len(keys) == 904 and r.waiting == 0
        await out.stop(within=1)

    asyncio.run(body())
