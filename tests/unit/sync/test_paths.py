"""Path replication without a bus: the value codec, batches out, messages in."""

from __future__ import annotations

import dataclasses
from ipaddress import ip_address

import pytest

from gslb.probes import PROBE_PROTOCOLS, PROTOCOL_CODES
from gslb.proximity import LdnsTable, PathRecord, key_of, unpack
from gslb.sync.paths import (
    BUCKET,
    PER_BUNDLE,
    RECORD,
    PathReplica,
    bundle,
    decode,
    encode,
    retention,
    unbundle,
)

LDNS = ip_address("127.0.0.53")
SUBNET, RESOLVER = ip_address("10.1.2.0"), ip_address("192.0.2.53")
T0 = 1_000_000


def replica(names=("CNC", "TEL"), own=(), size=100) -> tuple[PathReplica, LdnsTable]:
    table = LdnsTable(max_entries=size, ldns_ttl=3600)
    holder = {"names": tuple(names)}
    return PathReplica(table, lambda: holder["names"], lambda: float(T0), lambda: own), table


def packed(path: PathRecord) -> bytes:
    """The table's record of one path."""
    table = LdnsTable(max_entries=1, ldns_ttl=3600)
    table.merge(LDNS, None, path, T0)
    entry = table.get(LDNS)
    assert entry is not None
    return entry.paths


PATH_TCP = PathRecord(1, 150_000, 9_000, T0, T0 + 1, 2, 7, "tcp", 160_000)


@pytest.mark.parametrize("target", [None, RESOLVER, ip_address("2001:db8::53")])
def test_a_path_survives_the_codec(target):
    value = encode(packed(PATH_TCP), target)
    assert len(value) == 1 + RECORD + (0 if target is None else len(target.packed))
    record, decoded_target = decode(value, 1)
    assert list(unpack(record)) == [PATH_TCP] and decoded_target == target
    assert next(unpack(decode(value, 0)[0])).datacenter == 0  # the reader's own index


def test_a_path_value_is_these_bytes():
    """What other nodes, of this version or another, read from the bucket:
    a change of layout or of the protocols' numbers must show here."""
    assert encode(packed(PATH_TCP), None) == bytes.fromhex(
        "02"  # version 2
        "f0490200"  # rtt_us 150000, little-endian
        "2823"  # completion rate 9000
        "40420f00"  # measured at 1000000
        "41420f00"  # probed at 1000001
        "0200"  # failures 2
        "07"  # hops 7
        "04"  # protocol: tcp (dns_dot 1, dns_rev 2, udp 3, tcp 4, icmp 5)
        "00710200"  # the held sample, 160000
    )
    assert encode(packed(PATH_TCP), ip_address("192.0.2.1"))[-4:] == b"\xc0\x00\x02\x01"


def test_protocols_keep_their_numbers():
    assert PROTOCOL_CODES == {"dns_dot": 1, "dns_rev": 2, "udp": 3, "tcp": 4, "icmp": 5}
    assert set(PROTOCOL_CODES) == set(PROBE_PROTOCOLS)  # a new prober needs its number


@pytest.mark.parametrize("target", [None, RESOLVER])
def test_a_version_1_value_is_still_read(target):
    """As nodes before version 2 wrote them: no held sample."""
    value = bytes.fromhex("01f0490200282340420f0041420f0002000704")
    value += b"" if target is None else target.packed
    record, decoded_target = decode(value, 1)
    assert list(unpack(record)) == [dataclasses.replace(PATH_TCP, pending_us=0)]
    assert decoded_target == target


@pytest.mark.parametrize(
    "value", [b"\x03" + bytes(RECORD), b"\x02" + bytes(RECORD + 3), b"\x02", b"\x01", b""]
)
def test_a_bad_value_is_refused(value):
    with pytest.raises(Exception, match=r"version|bytes|unpack"):
        decode(value, 0)


def test_paths_measured_here_go_out_once_per_batch():
    r, table = replica()
    table.add(LDNS, None, T0)
    table.add(SUBNET, RESOLVER, T0)
    table.record(LDNS, 0, rtt_us=150_000, protocol="dns_dot", now=T0)
    table.record(LDNS, 0, rtt_us=120_000, protocol="dns_dot", now=T0 + 1)
    table.record(SUBNET, 1, rtt_us=30_000, protocol="dns_dot", now=T0)
    batch = sorted(r.batch())
    assert [(dc, key) for dc, key, _ in batch] == [(0, key_of(LDNS)), (1, key_of(SUBNET))]
    held = table.path(key_of(LDNS), 0)
    assert held is not None
    # What the table holds, its held sample too.
    assert decode(batch[0][2], 0) == (held[0].paths, None)
    assert held[1].measured_at == T0 + 1
    assert decode(batch[1][2], 1)[1] == RESOLVER
    assert r.batch() == [] and r.counts["published"] == 2


def test_a_batch_of_at_most_so_many_paths_leaves_the_others_for_the_next():
    r, table = replica()
    for i in range(5):
        table.add(ip_address(0x0A000000 + i), None, T0)
        table.record(ip_address(0x0A000000 + i), 0, rtt_us=150_000, protocol="dns_dot", now=T0)
    first = r.batch(2)
    assert len(first) == 2 and r.waiting == 3 and r.counts["published"] == 2
    rest = r.batch(10)
    assert len(rest) == 3 and r.waiting == 0
    assert sorted(key for _, key, _ in first + rest) == [
        key_of(ip_address(0x0A000000 + i)) for i in range(5)
    ]


def test_paths_from_the_bus_are_merged_by_name_newest_round_first():
    r, table = replica(("TEL", "CNC"))  # this node lists the DCs the other way round
    key = f"CNC.{key_of(SUBNET):x}"
    r.take(
        key,
        encode(packed(PathRecord(0, 150_000, 10_000, T0, T0, 0, 0, "dns_dot")), RESOLVER),
        False,
    )
    entry = table.get(SUBNET)
    assert entry is not None and entry.target == RESOLVER
    assert [(p.datacenter, p.rtt_us) for p in unpack(entry.paths)] == [(1, 150_000)]
    older = packed(PathRecord(0, 99, 10_000, T0 - 5, T0 - 5, 0, 0, "dns_dot"))
    r.take(key, encode(older, RESOLVER), False)
    r.take(f"HK.{key_of(SUBNET):x}", encode(older, None), False)
    r.take("CNC.zz", encode(older, None), False)
    assert [p.rtt_us for p in unpack(table.get(SUBNET).paths)] == [150_000]
    assert dict(r.counts) == {"read": 2, "merged": 1, "older": 1, "unknown_dc": 1, "bad": 1}
    assert table.recorded == set()  # merged paths are not sent back
    view = r.view()
    assert view is not None and view.paths(key_of(SUBNET))[1].rtt_us == 150_000
    assert r.view() is None  # nothing new since


def test_a_nodes_own_path_coming_back_changes_nothing():
    r, table = replica()
    table.add(LDNS, None, T0)
    table.record(LDNS, 0, rtt_us=150_000, protocol="dns_dot", now=T0)
    table.record(LDNS, 0, rtt_us=30_000, protocol="dns_dot", now=T0 + 1)  # may be held back
    before = table.path(key_of(LDNS), 0)
    ((_, key, value),) = r.batch()
    r.take(f"CNC.{key:x}", value, False)  # the echo from the bus, as a one-path key
    assert table.path(key_of(LDNS), 0) == before and r.counts["older"] == 1


def test_an_ldns_expired_where_it_was_queried_is_withdrawn():
    r, table = replica(own={0})
    table.add(LDNS, None, T0)
    table.add(SUBNET, RESOLVER, T0)
    table.record(LDNS, 0, rtt_us=150_000, protocol="dns_dot", now=T0)
    table.record(SUBNET, 0, rtt_us=150_000, protocol="dns_dot", now=T0)
    table.merge(LDNS, None, PathRecord(1, 30_000, 10_000, T0, T0, 0, 0, "dns_dot"), T0)
    table.seen(LDNS, T0)  # queried here; SUBNET only probed (on request)
    r.batch()
    assert table.expire(T0 + 3601) == 2
    # Only this node's own data center, only the one queried here.
    batch = r.batch()
    assert batch == [(0, key_of(LDNS), None)]
    assert r.counts["withdrawn_sent"] == 1 and r.batch() == []


def test_a_withdrawn_path_is_dropped_unless_measured_here():
    r, table = replica(own={1})
    tel = packed(PathRecord(1, 30_000, 10_000, T0, T0, 0, 0, "dns_dot"))
    for address in (LDNS, SUBNET):
        r.take(f"CNC.{key_of(address):x}", encode(packed(PATH_TCP), None), False)
    table.merge_packed(key_of(LDNS), None, tel, T0)
    table.seen(SUBNET, T0)
    r.take(f"CNC.{key_of(LDNS):x}", b"", True)
    r.take(f"TEL.{key_of(LDNS):x}", b"", True)  # this node's own DC: kept
    assert [p.datacenter for p in unpack(table.get(LDNS).paths)] == [1]
    r.take(f"TEL.{key_of(SUBNET):x}", b"", True)  # none held: nothing
    r.take(f"CNC.{key_of(SUBNET):x}", b"", True)
    assert r.counts["withdrawn"] == 2
    lone = ip_address("127.0.0.54")  # only the group's path, never queried here: gone
    r.take(f"CNC.{key_of(lone):x}", encode(packed(PATH_TCP), None), False)
    r.take(f"CNC.{key_of(lone):x}", b"", True)
    assert table.get(lone) is None
    queried = table.get(SUBNET)  # queried here: the entry stays, without paths
    assert queried is not None and queried.paths == b""
    assert r.counts["withdrawn"] == 3


def test_a_bundle_is_these_bytes():
    """Many paths of one data center in one message: what other nodes read."""
    v4, v6 = key_of(LDNS), key_of(ip_address("2001:db8::53"))
    value = encode(packed(PATH_TCP), None)
    payload = bundle([(v4, value), (v6, None)])
    assert payload == (
        bytes.fromhex("03")  # version 3: a bundle
        + bytes.fromhex("047f000035")  # a 4-byte key: 127.0.0.53
        + bytes((len(value),))
        + value  # the path's value, version 2 (above)
        + bytes((len(v6.to_bytes(17, "big").lstrip(b"\0")),))
        + v6.to_bytes(17, "big").lstrip(b"\0")  # an IPv6 key, flag bit and all
        + bytes.fromhex("00")  # no value: withdrawn
    )
    assert list(unbundle(payload)) == [(v4, value), (v6, None)]


@pytest.mark.parametrize("payload", [b"", b"\x02", b"\x03\x04\x7f\x00", b"\x03\x01\x05\x09ab"])
def test_a_cut_or_foreign_bundle_is_refused(payload):
    with pytest.raises(ValueError):
        list(unbundle(payload))


def test_a_batch_goes_out_as_one_bundle_a_data_center():
    r, table = replica(size=PER_BUNDLE + 2)
    for i in range(PER_BUNDLE + 1):
        address = ip_address(f"10.0.{i // 256}.{i % 256}")
        table.add(address, None, T0)
        table.record(address, 0, rtt_us=150_000 + i, protocol="dns_dot", now=T0)
    table.add(SUBNET, RESOLVER, T0)
    table.record(SUBNET, 1, rtt_us=30_000, protocol="dns_dot", now=T0)
    batch = r.batch()
    bundles = r.bundles(batch)
    assert sorted((s.split(".")[2], len(part)) for s, _, part in bundles) == [
        ("CNC", 1), ("CNC", PER_BUNDLE), ("TEL", 1)
    ]  # fmt: skip
    assert len({s for s, _, _ in bundles}) == 3  # a key of its own each
    assert all(s.startswith(f"$KV.{BUCKET}.") and f"._{r.writer}-" in s for s, _, _ in bundles)
    assert sorted(p for _, _, part in bundles for p in part) == sorted(batch)
    # Another node reads them: every path merged, the ECS target too.
    other, theirs = replica(size=PER_BUNDLE + 2)
    for subject, payload, _ in bundles:
        other.take(subject.removeprefix(f"$KV.{BUCKET}."), payload, False)
    assert other.counts["merged"] == PER_BUNDLE + 2
    assert theirs.path(key_of(SUBNET), 1)[1] == table.path(key_of(SUBNET), 1)[1]
    assert theirs.get(SUBNET).target == RESOLVER
    # This node's own bundles coming back: skipped whole.
    for subject, payload, _ in bundles:
        r.take(subject.removeprefix(f"$KV.{BUCKET}."), payload, False)
    assert "older" not in r.counts and "merged" not in r.counts


def test_a_withdrawn_path_in_a_bundle_is_dropped_and_a_bad_bundle_counted():
    writer, _ = replica(own={0})
    reader, table = replica(own={1})
    reader.take(f"CNC.{key_of(LDNS):x}", encode(packed(PATH_TCP), None), False)
    [(subject, payload, _)] = writer.bundles([(0, key_of(LDNS), None)])
    reader.take(subject.removeprefix(f"$KV.{BUCKET}."), payload, False)
    assert table.get(LDNS) is None and reader.counts["withdrawn"] == 1
    reader.take("CNC._0badcafe-1", b"\x03\x04\x7f", False)
    reader.take("CNC._0badcafe-2", payload, True)  # a bundle purged: nothing withdrawn again
    assert reader.counts["bad"] == 1 and reader.counts["withdrawn"] == 1


def test_retention_is_the_longer_of_two_checkpoint_ages_and_two_intervals() -> None:
    assert retention(ldns_ttl=2_419_200, interval=600, checkpoint_age=3600) == 7200
    assert retention(ldns_ttl=2_419_200, interval=6000, checkpoint_age=3600) == 12000
    assert retention(ldns_ttl=2_419_200, interval=60, checkpoint_age=60) == 3600  # MIN_KEEP
    assert retention(ldns_ttl=3, interval=0.5, checkpoint_age=3600) == 3  # an LDNS's own, shorter


def test_a_bundle_counts_each_path_as_one_message_of_it_would():
    """A bundle's paths are taken as single paths are: merged, older, a bad
    value and a withdrawal each counted once, the bundle cut after them too."""
    reader, table = replica(own={1})
    newer = encode(packed(PathRecord(0, 150_000, 10_000, T0, T0 + 9, 0, 0, "dns_dot")), None)
    reader.take(f"CNC.{key_of(SUBNET):x}", newer, False)  # held already: round T0 + 9
    older = encode(packed(PathRecord(0, 99, 10_000, T0, T0, 0, 0, "dns_dot")), RESOLVER)
    paths = [(key_of(LDNS), older), (key_of(SUBNET), older), (key_of(RESOLVER), b"\x02\x00")]
    payload = bundle([*paths, (key_of(LDNS), None)])
    reader.take("CNC._0badcafe-1", payload + b"\x04", False)  # a key cut short at the end
    assert dict(reader.counts) == {"read": 5, "merged": 2, "older": 1, "bad": 2, "withdrawn": 1}
    assert table.get(LDNS) is None and table.get(RESOLVER) is None  # merged, then withdrawn
    assert [p.rtt_us for p in unpack(table.get(SUBNET).paths)] == [150_000]
