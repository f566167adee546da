from collections import Counter
from ipaddress import IPv4Address

import pytest

from gslb.algorithms import REGISTRY
from gslb.model import Pool
from tests.unit.factories import candidates, context, names

METHOD = REGISTRY["static_persist"]
POOL = Pool("web", (), persist_cidr_v4=24, persist_cidr_v6=48)
ABC = candidates("a", "b", "c")
# 3000 distinct /24s: 10.0.0.0/24, 10.0.1.0/24, ...
NETWORKS = [IPv4Address((10 << 24) + (i << 8) + 1) for i in range(3000)]


def first(ldns, cs=ABC, pool=POOL) -> str:
    return METHOD.select(cs, context(ldns=ldns, pool=pool)).members[0].name


@pytest.mark.parametrize(
    "same_network",
    [
        ("198.51.100.1", "198.51.100.77", "198.51.100.254"),
        ("203.0.113.0", "203.0.113.128"),
        ("2001:db8:1::1", "2001:db8:1:ffff::53", "2001:db8:1:8000::"),
    ],
)
def test_same_masked_network_same_order(same_network):
    orders = {names(METHOD.select(ABC, context(ldns=a, pool=POOL)).members) for a in same_network}
    assert len(orders) == 1
    assert sorted(orders.pop()) == ["a", "b", "c"]


def test_masks_with_the_pools_cidr():
    verdict = METHOD.select(ABC, context(ldns="198.51.100.1", pool=POOL))
    assert (verdict.kind, dict(verdict.metrics)) == ("pick", {"cidr": 24})
    v6 = METHOD.select(ABC, context(ldns="2001:db8::1", pool=POOL))
    assert dict(v6.metrics) == {"cidr": 48}
    no_pool = METHOD.select(ABC, context(ldns="198.51.100.1"))
    assert dict(no_pool.metrics) == {"cidr": 32}


def test_does_not_depend_on_configured_order():
    reversed_ = tuple(reversed(ABC))
    assert [first(a) for a in NETWORKS[:200]] == [first(a, reversed_) for a in NETWORKS[:200]]


@pytest.mark.parametrize("offered", [("a", "b", "c"), ("web-cnc", "web-tel", "web-cmc", "web-cu")])
def test_different_networks_spread_evenly(offered):
    cs = candidates(*offered)
    share = len(NETWORKS) / len(offered)
    counts = Counter(first(a, cs) for a in NETWORKS)
    assert set(counts) == set(offered)
    # about 4 standard deviations either side of an even share
    assert all(0.88 * share <= n <= 1.12 * share for n in counts.values()), counts


@pytest.mark.parametrize("removed", ["a", "b", "c"])
def test_removing_a_member_moves_only_its_own_networks(removed):
    rest = tuple(c for c in ABC if c.name != removed)
    before = {ldns: first(ldns) for ldns in NETWORKS}
    after = {ldns: first(ldns, rest) for ldns in NETWORKS}
    moved = {ldns for ldns in NETWORKS if before[ldns] != after[ldns]}
    assert moved == {ldns for ldns in NETWORKS if before[ldns] == removed}
    assert moved  # the removed member had some networks


def test_unsuccessful_without_candidates():
    verdict = METHOD.select((), context(pool=POOL))
    assert (verdict.kind, verdict.reason) == ("unsuccessful", "no available member")
