"""The worker's side: its copy of the LDNS view, its snapshot from Updates, its report."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from random import Random

import dns.message
import pytest

from gslb import layers
from gslb.config import load
from gslb.health import Health
from gslb.proximity import EMPTY, LdnsTable, Published, key_of
from gslb.server.channel import ChannelError, Update
from gslb.server.worker import Worker

ETC = Path(__file__).resolve().parents[3] / "etc"
T0 = 1_000_000.0


def test_the_mirror_follows_the_table_through_changes_removals_and_folds():
    rng = Random(7)
    t = LdnsTable(max_entries=3000, ldns_ttl=3600)
    mirror = Published()
    sent = EMPTY
    addresses = [ip_address(0x0A000000 + i) for i in range(4000)]
    for step in range(12):
        for a in rng.sample(addresses, 600):
            t.add(a, a, T0 + step)
            t.record(a, rng.randrange(2), rtt_us=rng.randrange(1, 10_000), now=T0 + step)
        t.expire(T0 + step + 3600 - 4)  # forget those last seen four steps ago
        view = t.view()
        copy = mirror.publish(view.changes_since(sent))
        sent = view
        assert len(copy) == len(view)
        assert all(copy.paths(key_of(a)) == view.paths(key_of(a)) for a in addresses)


def test_the_mirror_folds_a_step_at_a_time_as_the_table_does(monkeypatch):
    monkeypatch.setattr(layers, "FOLD_AT", 300)
    monkeypatch.setattr(layers, "CHUNK", 200)
    rng = Random(11)
    t = LdnsTable(max_entries=3000, ldns_ttl=3600)
    mirror = Published()
    sent = EMPTY
    addresses = [ip_address(0x0A000000 + i) for i in range(4000)]
    folds = 0
    for step in range(12):
        for a in rng.sample(addresses, 400):
            t.add(a, a, T0 + step)
            t.record(a, rng.randrange(2), rtt_us=rng.randrange(1, 10_000), now=T0 + step)
        t.expire(T0 + step + 3600 - 4)
        view = t.view()
        mirror.publish(view.changes_since(sent))
        sent = view
        while t.folding or mirror.folding:  # each side steps as its own loop lets it
            folds += t.folding
            if t.folding and (done := t.fold_step()) is not None:
                mirror.publish(done.changes_since(sent))
                sent = done
            if mirror.folding:
                mirror.fold_step()
        assert all(mirror.view.paths(key_of(a)) == sent.paths(key_of(a)) for a in addresses)
    assert folds > 10  # folds of more than one step happened


def worker() -> Worker:
    config = load(ETC)
    return Worker(Update(1, 1, config, Health.initial(config), None))


def test_updates_rebuild_or_patch_the_snapshot():
    w = worker()
    first = w.holder.current
    config = first.config
    down = Health(member_up=(True, False, True), datacenter_up=(True, True))
    w.apply(Update(2, 1, None, down, None))
    assert w.holder.current.available == (True, False, True)
    assert w.holder.current.config is config

    ldns = ip_address("127.0.0.1")
    t = LdnsTable(max_entries=10, ldns_ttl=3600)
    t.add(ldns, ldns, T0)
    t.record(ldns, 0, rtt_us=700, now=T0)
    w.apply(Update(3, 1, None, None, t.view().changes_since(EMPTY)))
    assert w.holder.current.proximity.paths(key_of(ldns))[0].rtt_us == 700
    assert w.holder.current.available == (True, False, True)

    reloaded = load(ETC)
    w.apply(Update(4, 2, reloaded, Health.initial(reloaded), None))
    snap = w.holder.current
    assert (snap.generation, snap.config is reloaded, snap.available) == (2, True, (True,) * 3)
    assert snap.proximity.paths(key_of(ldns))[0].rtt_us == 700  # the view outlives a reload


def test_the_first_update_must_carry_a_config():
    with pytest.raises(ChannelError):
        Worker(Update(1, 1, None, None, None))


def test_a_report_hands_over_who_queried_and_what_to_probe_once():
    w = worker()
    a, b = ip_address("127.0.0.1"), ip_address("127.0.1.2")
    for wire in range(3):
        w.responder.answer(_query(wire), a, "udp")
    w.responder.answer(_query(9), b, "tcp")
    report = w.report({("tcp", "refused"): 2})
    assert report.seen == {key_of(a): 3, key_of(b): 1}
    assert report.events == {("tcp", "refused"): 2}
    assert report.offers == [(key_of(a), a), (key_of(b), b)]  # rtt had no path: probe each once
    assert sum(report.queries.values()) == 4
    assert report.persistence == 2  # one record per /24
    again = w.report({})
    assert (again.seen, again.offers, again.queries) == ({}, [], report.queries)


def _query(qid: int) -> bytes:
    q = dns.message.make_query("www.gslb.example.", "A")
    q.id = qid
    return q.to_wire()
