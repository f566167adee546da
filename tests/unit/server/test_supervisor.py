"""The parent's side: what each published snapshot sends the workers, and the sums."""

from __future__ import annotations

import pickle
from ipaddress import ip_address
from pathlib import Path

import pytest

from gslb.config import load
from gslb.health import Health
from gslb.probes.scheduler import Scheduler
from gslb.proximity import LdnsTable, key_of
from gslb.server.channel import HEADER, Report, Update
from gslb.server.supervisor import PublishingHolder, Slot, WorkerPool
from gslb.snapshot import Snapshot, SnapshotHolder

ETC = Path(__file__).resolve().parents[3] / "etc"
T0 = 1_000_000.0
LDNS = ip_address("127.0.0.1")


class Pipe:
    """Stands for a worker's StreamWriter: keeps what was sent."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def messages(self) -> list[Update]:
        out, data = [], self.data
        while data:
            (size,) = HEADER.unpack(data[: HEADER.size])
            out.append(pickle.loads(data[HEADER.size : HEADER.size + size]))
            data = data[HEADER.size + size :]
        self.data = b""
        return out


def pool() -> tuple[WorkerPool, Pipe, LdnsTable]:
    config = load(ETC)
    holder = PublishingHolder(Snapshot.build(config))
    table = LdnsTable(max_entries=100, ldns_ttl=3600)
    p = WorkerPool(holder, Scheduler(table, config), 2)
    pipe = Pipe()
    p.slots = [Slot(0, None, writer=pipe)]  # type: ignore[arg-type]
    return p, pipe, table


def test_each_publish_sends_only_what_changed():
    p, pipe, table = pool()
    holder = p.holder
    snap = holder.current
    down = Health(member_up=(True, False, True), datacenter_up=(True, True))
    holder.publish(snap.with_health(down))
    table.add(LDNS, LDNS, T0)
    table.record(LDNS, 0, rtt_us=700, now=T0)
    holder.publish(holder.current.with_proximity(table.view()))
    holder.publish(holder.current.with_proximity(table.view()))  # the same view: nothing
    reloaded = load(ETC)
    holder.publish(Snapshot.build(reloaded, 2, health=down, proximity=table.view()))
    assert pipe.messages() == [
        Update(1, 1, None, down, None),
        Update(2, 1, None, None, {key_of(LDNS): table.get(LDNS).paths}),
        Update(3, 2, reloaded, down, None),
    ]
    first = p._everything()
    assert (first.seq, first.generation, first.config, first.health) == (3, 2, reloaded, down)
    assert first.proximity == {key_of(LDNS): table.get(LDNS).paths}


def test_the_pool_needs_a_publishing_holder():
    config = load(ETC)
    holder = SnapshotHolder(Snapshot.build(config))
    with pytest.raises(TypeError):
        WorkerPool(holder, Scheduler(LdnsTable(max_entries=1, ldns_ttl=1), config), 2)


def report(n: int, seen: dict[int, int] | None = None) -> Report:
    key = (("", 1, 0, "", "", ()), 0, "udp")
    events = {("tcp", "refused"): n, ("udp", "send_failed"): 2 * n}
    return Report(seen or {}, [], {key: n}, ([n, 0] + [0] * 10, n * 1e-5), n, events)


def test_counters_sum_the_workers_and_keep_what_exited_ones_counted():
    p, _, table = pool()
    a, b = Slot(0, None), Slot(1, None)  # type: ignore[arg-type]
    p.slots = [a, b]
    table.add(LDNS, LDNS, T0)
    p._take(a, report(3, {key_of(LDNS): 3}))
    p._take(b, report(4, {key_of(LDNS): 4}))
    p._take(a, report(5))  # a's running totals replace its last report
    assert p.scheduler._reported == {key_of(LDNS): 7}
    total = p.counters()
    assert [cell[0] for cell in total.queries.values()] == [9]
    assert (total.duration.counts[0], total.duration.sum) == (9, pytest.approx(9e-5))
    assert p.persistence_records() == 9
    assert p.events() == {("tcp", "refused"): 9, ("udp", "send_failed"): 18}

    p._retire(a)  # what `_reap` does when a exits
    p._take(a, report(1))  # its successor starts from zero
    assert [cell[0] for cell in p.counters().queries.values()] == [10]
    assert p.events() == {("tcp", "refused"): 10, ("udp", "send_failed"): 20}
