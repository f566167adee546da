from ipaddress import ip_address, ip_network

import pytest

from gslb.decide.persistence import PersistenceTable, Sticky
from gslb.model import AAAA, A, Persistence, key_of

P = Persistence(ttl=60, cidr_v4=24, cidr_v6=48)
WIP = "www.gslb.example."


def net(text: str) -> tuple[int, int, int]:
    """(version, network address as an int, prefix length), as the key holds them."""
    n = ip_network(text)
    return (n.version, int(n.network_address), n.prefixlen)


@pytest.mark.parametrize(
    ("ldns", "rtype", "persistence", "expected"),
    [
        ("198.51.100.77", A, P, (WIP, A, *net("198.51.100.0/24"))),
        ("198.51.100.77", AAAA, P, (WIP, AAAA, *net("198.51.100.0/24"))),
        ("198.51.100.77", A, Persistence(60), (WIP, A, *net("198.51.100.77/32"))),
        ("198.51.100.77", A, Persistence(60, cidr_v4=16), (WIP, A, *net("198.51.0.0/16"))),
        ("2001:db8:1:2::53", A, P, (WIP, A, *net("2001:db8:1::/48"))),
        ("2001:db8:1:2::53", A, Persistence(60), (WIP, A, *net("2001:db8:1:2::53/128"))),
    ],
)
def test_key_masks_the_ldns(ldns, rtype, persistence, expected):
    assert PersistenceTable.key(WIP, rtype, key_of(ip_address(ldns)), persistence) == expected


def sticky(member: str, expires: float = 160.0) -> Sticky:
    return Sticky("web", (member,), expires)


@pytest.mark.parametrize(
    ("now", "expected"),
    [(100.0, sticky("a")), (159.999, sticky("a")), (160.0, None), (1000.0, None)],
)
def test_get_until_expiry(now, expected):
    table = PersistenceTable()
    table.put(("k",), sticky("a"))
    assert table.get(("k",), now) == expected
    assert len(table) == (1 if expected else 0)


def test_get_unknown_key():
    assert PersistenceTable().get(("k",), 0.0) is None


def test_put_replaces_the_record_of_a_key():
    table = PersistenceTable()
    table.put(("k",), sticky("a"))
    table.put(("k",), sticky("b"))
    assert (table.get(("k",), 0.0), len(table)) == (sticky("b"), 1)


@pytest.mark.parametrize(
    ("puts", "kept"),
    [
        (["k1", "k2", "k3"], ["k2", "k3"]),
        (["k1", "k2", "k3", "k4"], ["k3", "k4"]),
        (["k1", "k2", "k1", "k3"], ["k1", "k3"]),  # re-put makes k1 the newest
        (["k1", "k1", "k1"], ["k1"]),
    ],
)
def test_bounded_table_evicts_the_oldest(puts, kept):
    table = PersistenceTable(max_entries=2)
    for k in puts:
        table.put((k,), sticky(k))
    assert [k for k in ("k1", "k2", "k3", "k4") if table.get((k,), 0.0)] == kept
    assert len(table) == len(kept)


def test_zero_entries_keeps_nothing():
    table = PersistenceTable(max_entries=0)
    table.put(("k",), sticky("a"))
    assert (table.get(("k",), 0.0), len(table)) == (None, 0)
