"""The LDNS table: smoothing, staleness, expiry, eviction, views, save/load."""

from __future__ import annotations

import json
import os
import random
from ipaddress import ip_address

import pytest

from gslb import layers
from gslb.ldnsfile import load, save
from gslb.proximity import (
    EMPTY,
    EXPIRE_STEP,
    FULL,
    PATH,
    FrozenView,
    LdnsTable,
    Path,
    PathRecord,
    address_of,
    agree,
    key_of,
)

A, B, C = ip_address("198.51.100.7"), ip_address("198.51.100.8"), ip_address("2001:db8::7")
T0 = 1_000_000.0
DCS = ("CNC", "TEL")


def table(max_entries: int = 100, ldns_ttl: float = 3600.0) -> LdnsTable:
    return LdnsTable(max_entries=max_entries, ldns_ttl=ldns_ttl)


def paths_of(t: LdnsTable, address) -> list[PathRecord]:
    from gslb.proximity import unpack

    entry = t.get(address)
    assert entry is not None
    return list(unpack(entry.paths))


@pytest.mark.parametrize("address", ["0.0.0.10", "::a", "::ffff:10.0.0.1", "255.255.255.255"])
def test_keys_are_distinct_ints_per_family(address):
    a = ip_address(address)
    assert address_of(key_of(a)) == a
    assert key_of(ip_address("0.0.0.10")) != key_of(ip_address("::a"))


@pytest.mark.parametrize(
    ("samples", "levels", "pending"),
    [
        # A lasting change: held once, adopted on the second sample (their mean).
        ([150_000, 60_000, 60_000, 60_000], [150_000, 150_000, 60_000, 60_000], 0),
        ([7_500, 86_000, 84_000], [7_500, 7_500, 85_000], 0),
        # One outlier, either way, then the old level again: ignored.
        ([60_000, 150_000, 60_000, 60_000], [60_000, 60_000, 60_000, 60_000], 0),
        ([86_000, 7_500, 86_000], [86_000, 86_000, 86_000], 0),
        # Two outliers that disagree with each other: the second replaces the first.
        ([60_000, 150_000, 20_000], [60_000, 60_000, 60_000], 20_000),
        ([60_000, 150_000, 20_000, 21_000], [60_000, 60_000, 60_000, 20_500], 0),
        # Jitter within the band moves the level halfway.
        ([60_000, 66_000, 58_000], [60_000, 63_000, 60_500], 0),
        ([7_500, 9_000, 86_000, 7_600], [7_500, 8_250, 8_250, 7_925], 0),
        # A round without an answer between the two samples keeps the pending one.
        ([60_000, 150_000, None, 150_000], [60_000, 60_000, 60_000, 150_000], 0),
        ([60_000, 150_000, None], [60_000, 60_000, 60_000], 150_000),
    ],
)
def test_a_new_level_takes_two_agreeing_samples_and_one_outlier_changes_nothing(
    samples, levels, pending
):
    t = table()
    t.add(A, A, T0)
    got = []
    for i, sample in enumerate(samples):
        t.record(A, 0, rtt_us=sample, hops=2, protocol="dns_dot", now=T0 + i)
        got.append(paths_of(t, A)[0].rtt_us)
        assert t.view().paths(key_of(A))[0].rtt_us == got[-1]  # what the methods read
    assert (got, paths_of(t, A)[0].pending_us) == (levels, pending)
    assert t.get(A).protocol == "dns_dot"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (10_000, 12_000, True),  # 2 ms: AGREE_US
        (10_000, 12_001, False),
        (100_000, 120_000, True),  # a fifth of the smaller
        (120_000, 100_000, True),
        (100_000, 120_001, False),
        (1, 2_001, True),
        (1, 2_002, False),
    ],
)
def test_when_two_samples_agree(a, b, expected):
    assert agree(a, b) is expected


def test_the_first_answer_after_failures_only_is_the_level():
    t = table()
    t.add(A, A, T0)
    t.record(A, 0, rtt_us=None, now=T0)
    t.record(A, 0, rtt_us=90_000, hops=2, protocol="udp", now=T0 + 1)
    assert paths_of(t, A) == [PathRecord(0, 90_000, 3334, int(T0) + 1, int(T0) + 1, 0, 2, "udp", 0)]


def test_failures_lower_the_completion_rate_and_keep_the_rtt():
    t = table()
    t.add(A, A, T0)
    t.record(A, 1, rtt_us=50_000, hops=0, protocol="tcp", now=T0)
    rates = []
    for i in range(1, 4):
        t.record(A, 1, rtt_us=None, now=T0 + i)
        rates.append(paths_of(t, A)[0].completion_rate)
    t.record(A, 1, rtt_us=50_000, hops=0, protocol="tcp", now=T0 + 4)
    rates.append(paths_of(t, A)[0].completion_rate)
    assert rates == [6666, 4444, 2962, 5308]
    (p,) = paths_of(t, A)
    assert (p.rtt_us, p.measured_at, p.probed_at, p.failures) == (50_000, T0 + 4, T0 + 4, 0)


def test_a_path_that_never_answered_is_not_in_the_view():
    t = table()
    t.add(A, A, T0)
    t.record(A, 0, rtt_us=None, now=T0)
    t.record(A, 1, rtt_us=70_000, hops=1, protocol="icmp", now=T0)
    assert paths_of(t, A)[0] == PathRecord(0, 0, 0, 0, int(T0), 1, 0, "")
    assert t.view().paths(key_of(A)) == {1: Path(70_000, 1, 10_000, T0)}


def test_the_view_carries_the_measurement_time_so_methods_see_staleness():
    from tests.unit.factories import context

    t = table()
    t.add(A, A, T0)
    t.record(A, 0, rtt_us=10_000, now=T0)
    t.record(A, 1, rtt_us=20_000, now=T0 + 100)
    from gslb.algorithms.base import fresh_paths

    ctx = context(ldns=A, now=T0 + 2450)
    ctx.proximity = t.view()
    assert set(fresh_paths(ctx)) == {1}  # 2450 s old is stale, 2350 s is not


def test_views_are_frozen_and_published_in_batches():
    t = table()
    assert t.view() is EMPTY
    t.add(A, A, T0)
    t.record(A, 0, rtt_us=10_000, now=T0)
    first = t.view()
    assert t.view() is first  # nothing changed: the same view
    t.record(A, 0, rtt_us=12_000, now=T0 + 1)
    t.add(B, B, T0)
    t.record(B, 1, rtt_us=5_000, now=T0 + 1)
    second = t.view()
    assert first.paths(key_of(A))[0].rtt_us == 10_000  # published views never change
    assert (second.paths(key_of(A))[0].rtt_us, second.paths(key_of(B))[1].rtt_us) == (11_000, 5_000)
    assert first.paths(key_of(B)) == {}


def everything(view: FrozenView, addresses) -> dict[int, bytes]:
    """The view as one mapping: key -> packed paths, for every address it has."""
    return {k: p for a in addresses if (p := view._packed(k := key_of(a)))}


def test_recent_changes_fold_into_a_new_base_a_chunk_at_a_time(monkeypatch):
    monkeypatch.setattr(layers, "FOLD_AT", 100)
    monkeypatch.setattr(layers, "CHUNK", 64)
    t = table(max_entries=1000)
    addresses = [ip_address(0x0A000000 + i) for i in range(400)]
    for i, a in enumerate(addresses[:150]):
        t.add(a, a, T0)
        t.record(a, 0, rtt_us=1000 + i, now=T0)
    small = t.view()  # 150 changes over an empty base: folded at once
    assert (small._recent, len(small._base), t.folding) == ({}, 150, False)

    for i, a in enumerate(addresses[100:201]):  # 50 changed, 51 new
        t.add(a, a, T0 + 1)
        t.record(a, 1, rtt_us=5000 + i, now=T0 + 1)
    started = t.view()
    assert t.folding and started._base is small._base and len(started._recent) == 101
    assert t.fold_step() is None  # 64 of 150 copied
    t.record(addresses[0], 0, rtt_us=None, now=T0 + 2)  # changes go on meanwhile
    meanwhile = t.view()
    assert meanwhile._base is small._base and len(meanwhile._recent) == 102
    assert t.fold_step() is None  # 128
    folded = t.fold_step()  # the last 22: done
    assert folded is not None and folded is t.view() and not t.folding
    assert (folded._recent, len(folded._base)) == ({}, 201)
    assert everything(folded, addresses) == everything(meanwhile, addresses)
    assert {k: p for k, p in folded._base.items()} == {
        key_of(a): t.get(a).paths for a in addresses[:201]
    }
    assert len(everything(small, addresses)) == 150  # views handed out never change
    assert everything(started, addresses) != everything(meanwhile, addresses)

    # What a worker's copy needs across the fold: the changes alone, exactly.
    old = everything(started, addresses)
    new = everything(folded, addresses)
    assert folded.changes_since(started) == {k: v for k, v in new.items() if old.get(k) != v}
    assert folded.changes_since(small) == {
        k: v for k, v in new.items() if everything(small, addresses).get(k) != v
    }


def test_least_recently_seen_is_evicted():
    t = table(max_entries=2)
    for a in (A, B):
        t.add(a, a, T0)
        t.record(a, 0, rtt_us=1000, now=T0)
    t.view()
    t.seen(A, T0 + 5)  # A is now more recent than B
    t.add(C, C, T0 + 6)
    assert (A in t, B in t, C in t, t.evicted) == (True, False, True, 1)
    assert t.view().paths(key_of(B)) == {}


def test_seen_counts_queries_of_known_ldns_only():
    t = table()
    assert t.seen(A, T0) is None and A not in t
    t.add(A, A, T0)
    t.seen(A, T0 + 10, count=3)
    t.seen(A, T0 + 4)  # late news does not move last_seen back
    entry = t.get(A)
    assert (entry.first_seen, entry.last_seen, entry.queries) == (T0, T0 + 10, 4)


def test_inactive_ldns_expire():
    t = table(ldns_ttl=100)
    for a in (A, B):
        t.add(a, a, T0)
        t.record(a, 0, rtt_us=1000, now=T0)
    t.seen(B, T0 + 50)
    assert t.expire(T0 + 100) == 0  # exactly ldns_ttl: kept
    assert t.expire(T0 + 101) == 1
    assert (A in t, B in t) == (False, True)
    assert t.view().paths(key_of(A)) == {}


def queried_table(n: int, ldns_ttl: float) -> tuple[LdnsTable, list]:
    """`n` LDNS with a path each, least recently seen first: a third never
    queried, a third queried at T0, a third queried at T0 + 50."""
    t = LdnsTable(max_entries=n, ldns_ttl=ldns_ttl)
    t.configure(DCS)
    addresses = [address_of(0x0A00_0000 + i) for i in range(n)]
    for i, a in enumerate(addresses):
        t.add(a, a, T0)
        t.record(a, i % 2, rtt_us=1000 + i, protocol="udp", now=T0)
    for third, at in ((1, T0), (2, T0 + 50)):
        for a in addresses[third::3]:
            t.seen(a, at)
    t.view()
    while t.fold_step() is None:
        pass
    t.recorded = set()  # in a sync group, taken: expiry withdraws the paths queried here
    return t, addresses


def test_a_big_expiry_takes_bounded_steps_and_ends_as_done_at_once():
    n = 200_000
    steps, addresses = queried_table(n, ldns_ttl=100)
    once, _ = queried_table(n, ldns_ttl=100)
    expected = len(addresses[0::3]) + len(addresses[1::3])  # all but those seen at T0 + 50
    assert once.expire(T0 + 101, limit=n) == expected
    done = []
    while gone := steps.expire(T0 + 101):
        done.append(gone)
    assert done == [EXPIRE_STEP] * (expected // EXPIRE_STEP) + [expected % EXPIRE_STEP]
    assert steps.keys() == once.keys() == [key_of(a) for a in addresses[2::3]]
    assert (
        steps.recorded
        == once.recorded
        == {(key_of(a), i % 2) for i, a in enumerate(addresses) if i % 3 == 1}
    )
    assert everything(steps.view(), addresses) == everything(once.view(), addresses)
    assert steps.evicted == once.evicted == 0


def test_a_lowered_max_entries_is_reached_a_bounded_step_at_a_time():
    t, addresses = queried_table(10_000, ldns_ttl=3600)
    t.max_entries = 1_000  # a reload lowered it
    t.add(A, A, T0 + 60)
    assert (len(t), t.evicted) == (10_000 - 1, 2)  # two out for the one in, not 9 001
    done = []
    while gone := t.expire(T0 + 60):
        done.append(gone)
    assert done == [EXPIRE_STEP] * 4 + [10_000 - 1 - 1_000 - 4 * EXPIRE_STEP]
    assert t.keys() == [key_of(a) for a in addresses[2::3][-999:]] + [key_of(A)]
    assert t.evicted == 10_000 + 1 - 1_000
    assert t.recorded == set()  # evicted, not expired: nothing withdrawn


def test_the_target_is_kept_only_when_it_is_not_the_key():
    t = table()
    subnet, resolver = ip_address("203.0.113.0"), ip_address("198.51.100.53")
    assert t.add(subnet, resolver, T0).target == resolver
    assert t.add(A, A, T0).target is None


def test_frozen_view_of_paths():
    view = FrozenView.of({A: {0: Path(10, 1, 9000, T0)}, C: {1: Path(20, 2, 10_000, T0)}})
    assert view.paths(key_of(A)) == {0: Path(10, 1, 9000, T0)}
    assert view.paths(key_of(C)) == {1: Path(20, 2, 10_000, T0)}
    assert view.paths(key_of(B)) == {} and len(view) == 2


@pytest.mark.parametrize(
    ("field", "since", "expected"),
    [
        ("rtt_us", T0, {0: 10, 1: 20}),
        ("hops", T0, {0: 1, 1: 2}),
        ("completion_rate", T0, {0: 9000, 1: 10_000}),
        ("rtt_us", T0 + 1, {1: 20}),  # DC 0 measured at T0: stale
        ("rtt_us", T0 + 6, {}),
    ],
)
def test_fresh_reads_one_metric_of_the_paths_measured_since(field, since, expected):
    view = FrozenView.of({A: {0: Path(10, 1, 9000, T0), 1: Path(20, 2, 10_000, T0 + 5)}})
    assert view.fresh(key_of(A), since, field) == expected
    assert view.fresh(key_of(B), since, field) == {}


def filled() -> LdnsTable:
    t = table()
    subnet, resolver = ip_address("203.0.113.0"), ip_address("198.51.100.53")
    t.add(A, A, T0)
    t.record(A, 0, rtt_us=150_000, hops=3, protocol="dns_dot", now=T0)
    t.record(A, 1, rtt_us=None, now=T0)
    t.add(subnet, resolver, T0 + 1)
    t.record(subnet, 1, rtt_us=60_000, protocol="tcp", now=T0 + 1)
    t.add(C, C, T0 + 2)
    t.record(C, 0, rtt_us=5, protocol="icmp", now=T0 + 2)
    t.seen(A, T0 + 10, 7)
    return t


def test_save_then_load_keeps_every_entry(tmp_path):
    before = filled()
    path = tmp_path / "var" / "ldns.json"
    save(path, before.rows(DCS), T0 + 20)
    after = table()
    assert load(path, after, DCS, T0 + 20) == 3
    assert before.rows(DCS) == after.rows(DCS)
    assert [str(a) for a, _ in after.items()] == ["203.0.113.0", "2001:db8::7", "198.51.100.7"]
    assert after.view().paths(key_of(A)) == {0: Path(150_000, 3, 10_000, T0)}
    assert os.listdir(path.parent) == ["ldns.json"]  # no temporary file left


def test_a_pending_sample_is_saved_and_rows_saved_without_one_load(tmp_path):
    t = table()
    t.add(A, A, T0)
    t.record(A, 0, rtt_us=60_000, protocol="udp", now=T0)
    t.record(A, 0, rtt_us=150_000, protocol="udp", now=T0 + 1)
    path = tmp_path / "ldns.json"
    save(path, t.rows(DCS), T0 + 1)
    again = table()
    assert load(path, again, DCS, T0 + 1) == 1
    assert paths_of(again, A)[0].pending_us == 150_000
    header, row = path.read_text().splitlines()
    older = json.loads(row)
    older[7] = [p[:8] for p in older[7]]  # a row saved before pending samples: 8 fields a path
    path.write_text(header + "\n" + json.dumps(older) + "\n")
    old = table()
    assert load(path, old, DCS, T0 + 1) == 1
    assert paths_of(old, A) == [
        PathRecord(0, 60_000, 10_000, int(T0) + 1, int(T0) + 1, 0, 0, "udp", 0)
    ]


def test_load_maps_data_centers_by_name_and_skips_expired(tmp_path):
    path = tmp_path / "ldns.json"
    save(path, filled().rows(DCS), T0)
    swapped = table(ldns_ttl=3600)
    # The data centers swapped places; the subnet (last seen T0+1) has expired.
    assert load(path, swapped, ("TEL", "CNC"), T0 + 3602) == 2
    assert ip_address("203.0.113.0") not in swapped
    assert swapped.view().paths(key_of(A)) == {1: Path(150_000, 3, 10_000, T0)}
    assert [p.datacenter for p in paths_of(swapped, A)] == [0, 1]  # TEL's failure kept too
    only_tel = table()
    load(path, only_tel, ("TEL",), T0)  # CNC is gone from the config: its paths too
    assert only_tel.view().paths(key_of(A)) == {} and only_tel.view().paths(key_of(C)) == {}
    assert only_tel.view().paths(key_of(ip_address("203.0.113.0"))) == {
        0: Path(60_000, 0, 10_000, T0 + 1)
    }


@pytest.mark.parametrize("text", ["{", '{"version": 9, "entries": []}', '{"version": 1}', "[]"])
def test_an_unreadable_file_is_an_empty_table(tmp_path, caplog, text):
    path = tmp_path / "ldns.json"
    path.write_text(text)
    t = table()
    assert load(path, t, DCS, T0) == 0 and len(t) == 0
    assert "ldns_table: unreadable" in caplog.text


def test_a_missing_file_is_an_empty_table(tmp_path):
    assert load(tmp_path / "none.json", table(), DCS, T0) == 0


def test_a_failed_save_keeps_the_old_file(tmp_path, monkeypatch, caplog):
    path = tmp_path / "ldns.json"
    save(path, filled().rows(DCS), T0)
    old = path.read_text()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    save(path, [], T0 + 1)
    assert path.read_text() == old
    assert json.loads(old.splitlines()[0])["saved_at"] == T0
    assert "ldns_table: not saved" in caplog.text


def named_paths(t: LdnsTable, address) -> list[list[object]]:
    """The entry's paths as saved: by data-center name."""
    row = t.row(key_of(address), t.datacenters)
    assert row is not None
    return row[7]


def test_a_reload_that_moves_data_centers_leaves_every_record_as_it_is():
    t = filled()
    assert t.configure(DCS) == (0, 1)
    before = t.view()
    saved_a, saved_c = named_paths(t, A), named_paths(t, C)
    assert t.configure(("TEL", "HK", "CNC")) == (1, 2, 0)  # reordered, one added
    assert t.view() is before  # nothing re-indexed, nothing to publish
    assert t.datacenters == ("CNC", "TEL", "HK")
    assert (named_paths(t, A), named_paths(t, C)) == (saved_a, saved_c)
    assert [p[0] for p in saved_a] == ["CNC", "TEL"] and saved_a[0][1] == 150_000

    assert t.configure(("HK", "CNC")) == (2, 0)  # TEL removed
    assert t.view() is before
    assert t.datacenters == ("CNC", "", "HK")
    assert named_paths(t, A) == [saved_a[0]]  # TEL's path is not saved
    assert named_paths(t, ip_address("203.0.113.0")) == []
    t.record(A, 1, rtt_us=9, now=T0 + 20)  # a probe from TEL that was under way: ignored
    assert t.view() is before
    t.record(A, 2, rtt_us=40_000, now=T0 + 20)  # the entry is written: TEL's path goes
    assert [p.datacenter for p in paths_of(t, A)] == [0, 2]

    assert t.configure(("TEL", "HK", "CNC")) == (3, 2, 0)  # TEL back: a new id, no old paths
    assert t.datacenters == ("CNC", "", "HK", "TEL")
    assert [p[0] for p in named_paths(t, A)] == ["CNC", "HK"]
    assert named_paths(t, ip_address("203.0.113.0")) == []


def test_a_restored_row_takes_the_ids_of_its_names():
    t = filled()
    t.configure(DCS)
    rows = t.rows(t.datacenters)
    later = table()
    assert later.configure(("HK", "TEL", "CNC")) == (0, 1, 2)
    assert later.restore(rows, later.datacenters, T0) == 3

    def by_name(rows):  # paths are held in id order
        return [(r[:7], sorted(r[7])) for r in rows]

    assert by_name(later.rows(later.datacenters)) == by_name(rows)
    assert [p.datacenter for p in paths_of(later, A)] == [1, 2]


def test_ids_run_out_once_in_a_long_life_and_the_table_is_re_indexed():
    t = filled()
    t.MAX_IDS = 4
    t.configure(DCS)
    saved_a = named_paths(t, A)
    assert t.configure(("TEL", "HK")) == (1, 2)  # CNC retired: ids 0-2 given
    assert t.configure(("TEL", "HK", "CNC")) == (1, 2, 3)  # CNC back: id 3, the last
    assert t.compactions == 0
    t.record(C, 3, rtt_us=77, now=T0 + 3)
    assert t.configure(("SIN", "TEL")) == (0, 1)  # one more name: re-indexed
    assert (t.compactions, t.datacenters) == (1, ("SIN", "TEL"))
    assert [p[0] for p in named_paths(t, A)] == ["TEL"]
    assert named_paths(t, A) == [saved_a[1]]
    assert named_paths(t, C) == []  # CNC's paths, old id and new, went with it


def test_changes_since_an_older_view_sharing_its_base():
    t = table()
    for a in (A, B):
        t.add(a, a, T0)
        t.record(a, 0, rtt_us=1000, now=T0)
    first = t.view()
    assert first.changes_since(EMPTY) == {key_of(A): t.get(A).paths, key_of(B): t.get(B).paths}
    t.record(A, 1, rtt_us=2000, now=T0)
    t.add(C, C, T0)  # no paths yet: an entry, but nothing for the view to hold
    second = t.view()
    assert second.changes_since(first) == {key_of(A): t.get(A).paths}
    assert second.changes_since(second) == {}


def test_changes_since_across_a_fold_and_removals(monkeypatch):
    monkeypatch.setattr(layers, "FOLD_AT", 1000)
    t = table(max_entries=2000)
    addresses = [ip_address(0x0A000000 + i) for i in range(2300)]

    def state() -> dict[int, bytes]:
        return {key_of(a): (e.paths if (e := t.get(a)) else b"") for a in addresses}

    for a in addresses[:1100]:
        t.add(a, a, T0)
        t.record(a, 0, rtt_us=1000, now=T0)
    before, old = t.view(), state()
    t.record(addresses[500], 1, rtt_us=300, now=T0 + 1)
    for a in addresses[1100:]:  # 1200 more: the oldest 300 are evicted, the view folds
        t.add(a, a, T0 + 2)
        t.record(a, 0, rtt_us=2000, now=T0 + 2)
    after, new = t.view(), state()
    assert after._base is not before._base and after._recent == {}
    changes = after.changes_since(before)
    assert changes == {k: v for k, v in new.items() if old[k] != v}
    assert len(changes) == 1200 + 300 + 1


# FrozenView.best, what rtt, hops and completion_rate read per query: which
# paths are fresh as `since` moves either way, paths that change, each metric.
def test_best_follows_staleness_forward_and_back():
    # DC 0 faster but measured at T0, DC 1 slower, measured at T0 + 5.
    view = FrozenView.of({A: {0: Path(10, 1, FULL, T0), 1: Path(20, 2, FULL, T0 + 5)}})
    first, key = {0: 0, 1: 1}, key_of(A)
    asked = [T0 - 10, T0, T0 + 0.5, T0 + 1, T0 + 5, T0 + 5.5, T0 + 1, T0, T0 - 1]
    expected = [0, 0, 1, 1, 1, None, 1, 0, 0]
    assert [view.best(key, since, "rtt_us", first, False) for since in asked] == expected
    assert [view.best(key, since, "rtt_us", first, True) for since in asked] == [
        1,
        1,
        1,
        1,
        1,
        None,
        1,
        1,
        1,
    ]


def test_best_of_a_changed_path_is_the_new_one_in_the_new_view_only():
    t = table()
    t.add(A, A, T0)
    t.record(A, 0, rtt_us=10_000, now=T0)
    t.record(A, 1, rtt_us=90_000, now=T0)
    old = t.view()
    first, key = {0: 0, 1: 1}, key_of(A)
    assert old.best(key, T0, "rtt_us", first, False) == 0
    for _ in range(2):  # two agreeing samples: DC 0's level moves past DC 1's
        t.record(A, 0, rtt_us=500_000, now=T0 + 1)
    new = t.view()
    assert new.best(key, T0, "rtt_us", first, False) == 1
    assert old.best(key, T0, "rtt_us", first, False) == 0  # each view its own paths
    assert new.best(key, T0, "rtt_us", first, False) == 1
    t.record(A, 0, rtt_us=None, now=T0 + 2)  # an unanswered round keeps the level
    assert t.view().best(key, T0, "rtt_us", first, False) == 1
    t.expire(T0 + 10_000)  # A gone: no paths, no answer
    assert t.view().best(key, T0, "rtt_us", first, False) is None


def test_best_of_the_same_positions_by_another_metric_or_positions():
    view = FrozenView.of({A: {0: Path(10, 9, FULL, T0), 1: Path(20, 2, 5_000, T0)}})
    first, key = {0: 0, 1: 1}, key_of(A)
    assert view.best(key, T0, "rtt_us", first, False) == 0
    assert view.best(key, T0, "hops", first, False) == 1
    assert view.best(key, T0, "completion_rate", first, True) == 0
    assert view.best(key, T0, "rtt_us", {0: 1, 1: 0}, False) == 1  # other positions
    assert view.best(key, T0, "rtt_us", first, False) == 0


@pytest.mark.parametrize("highest_first", [False, True])
def test_best_of_equal_paths_is_the_lower_position(highest_first):
    view = FrozenView.of(
        {A: {0: Path(10, 3, FULL, T0), 1: Path(10, 3, FULL, T0), 2: Path(9, 3, 0, T0)}}
    )
    key = key_of(A)
    assert view.best(key, T0, "rtt_us", {0: 0, 1: 1}, highest_first) == 0
    assert view.best(key, T0, "rtt_us", {0: 1, 1: 0}, highest_first) == 0
    assert view.best(key, T0, "hops", {2: 0, 1: 1, 0: 2}, highest_first) == 0
    assert view.best(key, T0, "rtt_us", {5: 0}, highest_first) is None  # no path of its DCs


def _merged(paths: bytes, new: bytes, names: tuple[str, ...]) -> tuple[int, bytes]:
    """The rule `merge_packed` keeps, written out: the held paths but those of
    removed data centers, the new one in place of its data center's if of a
    newer probe round, in data-center order; unchanged when not taken."""
    held = {r[0]: r for r in PATH.iter_unpack(paths) if r[0] >= len(names) or names[r[0]]}
    record = PATH.unpack(new)
    old = held.get(record[0])
    if old is not None and old[4] >= record[4]:
        return 0, paths
    held[record[0]] = record
    return 1, b"".join(PATH.pack(*held[dc]) for dc in sorted(held))


def test_merging_one_path_keeps_the_rule_whatever_the_entry_holds():
    """One path from the bus, whatever the entry holds (in or out of
    order, a removed data center, an older, equal or newer round): the
    bytes the rule written out above gives."""
    rng = random.Random(7)
    names = ("CNC", "", "TEL", "NTT", "")
    for _ in range(3_000):
        table = LdnsTable(max_entries=10, ldns_ttl=3600)
        table.datacenters = names
        dcs = rng.sample(range(6), rng.randint(1, 5))
        if rng.random() < 0.7:
            dcs.sort()
        held = b"".join(
            PATH.pack(dc, rng.randint(1, 9), 9, 5, rng.randint(1, 4), 0, 0, 1, 0) for dc in dcs
        )
        table.add(A, None, T0)
        table.merge_packed(key_of(A), None, held, T0)
        entry = table.get(A)
        assert entry is not None
        entry.paths = held  # exactly these, in this order
        new = PATH.pack(rng.randrange(6), 7, 8, 6, rng.randint(1, 4), 0, 0, 1, 0)
        want = _merged(held, new, names)
        table.view()
        assert (table.merge_packed(key_of(A), None, new, T0), entry.paths) == want
        assert table.dirty == bool(want[0])


def test_an_ldns_forgotten_is_not_in_the_next_base(monkeypatch):
    monkeypatch.setattr(layers, "FOLD_AT", 4)
    t = table(max_entries=100)
    addresses = [ip_address(0x0A000000 + i) for i in range(6)]
    for a in addresses:
        t.add(a, a, T0)
        t.record(a, 0, rtt_us=1000, now=T0)
    assert len(t.view()._base) == 6
    assert t.forget(key_of(addresses[0]), 0)  # its only path withdrawn: the entry goes
    for a in addresses[1:5]:
        t.record(a, 1, rtt_us=2000, now=T0 + 1)
    folded = t.view()  # 5 changes: a new base (small: at once)
    assert folded._recent == {} and set(folded._base) == {key_of(a) for a in addresses[1:]}
