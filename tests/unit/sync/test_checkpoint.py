"""The checkpoint's format without a bus: what a node writes, what another reads."""

from __future__ import annotations

import asyncio
from collections import Counter
from ipaddress import ip_address

import pytest

from gslb.model import SyncSettings, key_of
from gslb.proximity import LdnsTable, PathRecord, unpack
from gslb.sync.checkpoint import Checkpoints, encode, header, read, record, records, remap

T0 = 1_000_000
LDNS, SUBNET, V6 = ip_address("192.0.2.53"), ip_address("10.1.2.0"), ip_address("2001:db8::53")
CNC = PathRecord(0, 150_000, 9_000, T0, T0 + 1, 2, 7, "tcp", 160_000)
TEL = PathRecord(1, 30_000, 10_000, T0, T0, 0, 0, "dns_dot")


def table_with(*paths: tuple[object, object, PathRecord]) -> LdnsTable:
    table = LdnsTable(max_entries=100, ldns_ttl=3600)
    for address, target, path in paths:
        table.merge(address, target, path, T0)
    return table


def entries(table: LdnsTable) -> list[tuple[int, object, bytes]]:
    """(key, target, packed paths) of every entry, least recently seen first."""
    keys = table.keys()
    return [(k, e.target, e.paths) for k in keys if (e := table.get_key(k)) is not None]


def checkpoint_of(table: LdnsTable, revision: int) -> bytes:
    return header(revision, ("CNC", "TEL")) + b"".join(record(*e) for e in entries(table))


def test_a_checkpoint_is_these_bytes():
    """What nodes of other versions read: a change of layout shows here."""
    table = table_with((LDNS, None, CNC))
    entry = table.get(LDNS)
    assert entry is not None
    data = header(7, ("CNC", "TEL")) + record(key_of(LDNS), None, entry.paths)
    assert data == bytes.fromhex(
        "01"  # version 1
        "0700000000000000"  # revision 7
        "02" "03434e43" "0354454c"  # two data centers: CNC, TEL
        "00"  # flags: an IPv4 key, no target
        "c0000235"  # 192.0.2.53
        "01"  # one path
        "0000"  # data center 0 (CNC), then the table's record as the paths bucket's value
        "f0490200" "2823" "40420f00" "41420f00" "0200" "07" "04" "00710200"
    )  # fmt: skip


def test_every_kind_of_entry_survives():
    table = table_with((LDNS, None, CNC), (LDNS, None, TEL), (SUBNET, LDNS, TEL), (V6, V6, CNC))
    table.merge(SUBNET, ip_address("2001:db8::1"), CNC, T0)  # an IPv6 target
    data = checkpoint_of(table, 99)
    revision, names, at = read(data)
    assert (revision, names) == (99, ("CNC", "TEL"))
    got = [(e.key, e.target, e.packed) for e in records(data, at)]
    assert got == entries(table)
    assert {key for key, _, _ in got} == {key_of(LDNS), key_of(SUBNET), key_of(V6)}


def test_a_truncated_or_other_version_checkpoint_is_refused():
    table = table_with((LDNS, None, CNC))
    entry = table.get(LDNS)
    assert entry is not None
    data = header(1, ("CNC",)) + record(key_of(LDNS), None, entry.paths)
    with pytest.raises(ValueError, match="truncated"):
        list(records(data[:-3], read(data)[2]))
    with pytest.raises(ValueError, match="version 2"):
        read(b"\x02" + data[1:])


def test_data_centers_follow_their_names():
    table = table_with((LDNS, None, CNC), (LDNS, None, TEL))
    entry = table.get(LDNS)
    assert entry is not None
    # The reader lists TEL first and knows no CNC... then both, swapped.
    assert [p.datacenter for p in unpack(remap(entry.paths, {1: 0}))] == [0]
    swapped = list(unpack(remap(entry.paths, {0: 1, 1: 0})))
    assert [(p.datacenter, p.rtt_us) for p in swapped] == [(0, 30_000), (1, 150_000)]


def test_a_loaded_checkpoint_keeps_newer_paths_held():
    """Merged slice by slice into a table that already holds some paths:
    the newest probe round wins, whichever came first."""
    writer = table_with((LDNS, None, CNC), (SUBNET, None, TEL))
    data = checkpoint_of(writer, 5)
    newer = PathRecord(0, 99_000, 10_000, T0 + 50, T0 + 50, 0, 0, "dns_dot")  # TEL here
    reader = table_with((SUBNET, None, newer))
    settings = SyncSettings(servers=("nats://127.0.0.1:1",), node="tel-1")
    checkpoints = Checkpoints(settings, reader, lambda: ("TEL", "CNC"), lambda: float(T0))
    _, names, at = read(data)
    asyncio.run(checkpoints.merge(data, names, at, 0.0))
    assert [(p.datacenter, p.rtt_us) for p in unpack(reader.get(LDNS).paths)] == [(1, 150_000)]
    assert [p.rtt_us for p in unpack(reader.get(SUBNET).paths)] == [99_000]
    assert checkpoints.counts["checkpoint_merged"] == 1


def test_a_path_withdrawn_while_the_checkpoint_merges_does_not_come_back():
    """The feed reads the bucket from the checkpoint's revision on while the
    checkpoint merges: a withdrawal read before the merge reaches its LDNS
    drops that path from what the merge takes."""
    writer = table_with((LDNS, None, CNC), (LDNS, None, TEL), (SUBNET, None, TEL))
    data = checkpoint_of(writer, 5)
    reader = LdnsTable(max_entries=100, ldns_ttl=3600)
    reader.configure(("CNC", "TEL"))
    settings = SyncSettings(servers=("nats://127.0.0.1:1",), node="hk-1")
    checkpoints = Checkpoints(settings, reader, lambda: ("CNC", "TEL"), lambda: float(T0))
    _, names, at = read(data)

    async def load_then_withdraw() -> None:
        checkpoints.loading = asyncio.create_task(checkpoints.merge(data, names, at, 0.0))
        checkpoints.withdrawn(key_of(LDNS), 0)  # CNC's path of LDNS, before the merge ran
        await checkpoints.loading

    asyncio.run(load_then_withdraw())
    assert [p.datacenter for p in unpack(reader.get(LDNS).paths)] == [1]  # TEL's only
    assert [p.datacenter for p in unpack(reader.get(SUBNET).paths)] == [1]
    checkpoints.withdrawn(key_of(SUBNET), 1)  # no merge going: nothing is kept for later
    assert not checkpoints._withdrawn


def test_a_checkpoint_is_due_after_so_many_paths_not_messages():
    """A bundle of many paths is one message of the bucket: the paths count."""
    settings = SyncSettings(servers=("nats://127.0.0.1:4222",), node="a", checkpoint_changes=3)
    table = LdnsTable(max_entries=10, ldns_ttl=3600)
    counts: Counter[str] = Counter()
    checkpoints = Checkpoints(settings, table, lambda: ("CNC",), lambda: float(T0), counts)
    assert not checkpoints.due(1)  # a bundle of two paths: not yet
    counts["read"], counts["published"] = 2, 0
    assert not checkpoints.due(1)
    counts["published"] = 1  # one of this node's own
    assert checkpoints.due(1) and not checkpoints.due(0)  # nothing past the last revision


def test_a_checkpoint_is_due_after_as_many_paths_as_the_table_holds_ldns():
    """With more LDNS than `checkpoint_changes`, a checkpoint waits for as
    many paths as the table holds LDNS: writing one costs per LDNS."""
    settings = SyncSettings(servers=("nats://127.0.0.1:4222",), node="a", checkpoint_changes=3)
    table = LdnsTable(max_entries=10, ldns_ttl=3600)
    for n in range(5):
        table.merge(ip_address(f"192.0.2.{n}"), None, TEL, T0)
    counts: Counter[str] = Counter()
    checkpoints = Checkpoints(settings, table, lambda: ("CNC",), lambda: float(T0), counts)
    counts["read"] = 4
    assert not checkpoints.due(1)  # past checkpoint_changes, short of the table's 5 LDNS
    counts["published"] = 1
    assert checkpoints.due(1)


def test_encode_writes_what_record_writes():
    """The writer's fast path makes the same bytes as `record`, entry by entry:
    every kind of key and target, and entries without paths left out."""
    table = table_with(
        (LDNS, None, CNC),
        (SUBNET, LDNS, TEL),
        (V6, ip_address("2001:db8::1"), CNC),
        (ip_address("10.1.3.0"), LDNS, CNC),
        (ip_address("2001:db8:1::"), LDNS, TEL),
    )
    table.add(ip_address("192.0.2.99"), None, T0)  # no paths: not in a checkpoint
    out = bytearray()
    assert encode(out, table, table.keys()) == 5
    assert bytes(out) == b"".join(record(*e) for e in entries(table) if e[2])
