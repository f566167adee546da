from ipaddress import ip_address

import pytest

from gslb.decide.topology import TopologyIndex, score
from gslb.model import Config, key_of
from tests.unit.factories import ConfigBuilder, member, pool_candidate


def config(*records: str) -> Config:
    return (
        ConfigBuilder()
        .dc("CNC", "TEL", "CMC")
        .vs("cnc1", "192.0.2.1", "CNC")
        .vs("cnc2", "192.0.2.2", "CNC")
        .vs("tel1", "192.0.2.11", "TEL")
        .vs("cmc1", "192.0.2.21", "CMC")
        .pool("web", ["cnc1", "cnc2", "tel1", "cmc1"])
        .pool("api", ["cnc1", "tel1"])
        .region("guangdong", subnets=("113.64.0.0/12",))
        .region("south", subnets=("219.172.0.0/16",), regions=("guangdong",))
        .region("v6-south", subnets=("2001:db8:100::/40",), regions=("south",))
        .region("north-dcs", datacenters=("CNC",))
        .region("edge-pools", pools=("api",))
        .region("gold-vs", virtual_servers=("tel1",))
        .region("everything-north", regions=("north-dcs",))
        .topology(*records)
        .build()
    )


def score_of(records: tuple[str, ...], ldns: str, who: str) -> int:
    """who: "pool/vs" for a member-tier candidate, "pool" for a pool-tier one."""
    cfg = config(*records)
    pool, _, vs = who.partition("/")
    candidate = member(cfg, pool, vs) if vs else pool_candidate(cfg, pool)
    return score(TopologyIndex(cfg).match(key_of(ip_address(ldns))), candidate)


NESTED = ("dc:CNC,10.0.0.0/8,10", "dc:CNC,10.1.0.0/16,20", "dc:CNC,10.1.2.0/24,30")
NEGATED = ("dc:CNC,!10.0.0.0/8,40", "dc:CNC,11.0.0.0/8,60")
PRECEDENCE = (
    "region:north-dcs,10.0.0.0/8,5",
    "dc:CNC,10.0.0.0/8,10",
    "pool:web,10.0.0.0/8,20",
    "vs:cnc1,10.0.0.0/8,30",
)

CASES = [
    # longest prefix wins per candidate
    (NESTED, "10.1.2.3", "web/cnc1", 30),
    (NESTED, "10.1.3.3", "web/cnc1", 20),
    (NESTED, "10.2.0.1", "web/cnc1", 10),
    (NESTED, "11.0.0.1", "web/cnc1", 0),
    (NESTED, "10.1.2.3", "web/tel1", 0),
    (tuple(reversed(NESTED)), "10.1.2.3", "web/cnc1", 30),  # not record order
    # a longer prefix beats a more specific server side
    (("vs:cnc1,10.0.0.0/8,30", "dc:CNC,10.1.0.0/16,10"), "10.1.0.1", "web/cnc1", 10),
    # any: counts as /0, matches both families
    (("dc:CNC,any,5", "dc:CNC,10.0.0.0/8,50"), "10.9.9.9", "web/cnc1", 50),
    (("dc:CNC,any,5", "dc:CNC,10.0.0.0/8,50"), "192.0.2.53", "web/cnc1", 5),
    (("dc:CNC,any,5", "dc:CNC,10.0.0.0/8,50"), "2001:db8::53", "web/cnc1", 5),
    # negation
    (NEGATED[:1], "10.1.1.1", "web/cnc1", 0),
    (NEGATED[:1], "11.1.1.1", "web/cnc1", 40),
    (NEGATED[:1], "192.0.2.53", "web/cnc1", 40),
    (NEGATED, "11.1.1.1", "web/cnc1", 60),  # /8 beats a negation (/0)
    (NEGATED, "12.1.1.1", "web/cnc1", 40),
    (("dc:CNC,!10.1.0.0/16,40", "dc:CNC,10.0.0.0/8,10"), "10.2.0.1", "web/cnc1", 10),
    (("dc:CNC,!10.1.0.0/16,40", "dc:CNC,10.0.0.0/8,10"), "10.1.0.1", "web/cnc1", 10),
    (("dc:CNC,!10.1.0.0/16,40",), "10.1.0.1", "web/cnc1", 0),
    # region on the LDNS side, nested regions included
    (("dc:TEL,region:south,100",), "219.172.3.4", "web/tel1", 100),
    (("dc:TEL,region:south,100",), "113.70.1.1", "web/tel1", 100),  # via guangdong
    (("dc:TEL,region:south,100",), "8.8.8.8", "web/tel1", 0),
    (("dc:TEL,region:guangdong,100",), "219.172.3.4", "web/tel1", 0),  # not upwards
    (("dc:TEL,region:v6-south,100",), "2001:db8:100::53", "web/tel1", 100),
    (("dc:TEL,region:v6-south,100",), "113.70.1.1", "web/tel1", 100),
    (("dc:CNC,!region:south,30",), "113.70.1.1", "web/cnc1", 0),
    (("dc:CNC,!region:south,30",), "8.8.8.8", "web/cnc1", 30),
    (("dc:TEL,region:south,100", "dc:TEL,219.172.5.0/24,7"), "219.172.5.1", "web/tel1", 7),
    # region on the server side
    (("region:north-dcs,any,70",), "8.8.8.8", "web/cnc1", 70),
    (("region:north-dcs,any,70",), "8.8.8.8", "web/cnc2", 70),
    (("region:north-dcs,any,70",), "8.8.8.8", "web/tel1", 0),
    (("region:everything-north,any,70",), "8.8.8.8", "api/cnc1", 70),
    (("region:edge-pools,any,80",), "8.8.8.8", "api/tel1", 80),
    (("region:edge-pools,any,80",), "8.8.8.8", "web/tel1", 0),
    (("region:edge-pools,any,80",), "8.8.8.8", "api", 80),  # pool tier
    (("region:gold-vs,any,90",), "8.8.8.8", "web/tel1", 90),
    (("region:gold-vs,any,90",), "8.8.8.8", "web/cmc1", 0),
    # vs > pool > dc > region at equal prefix length
    (PRECEDENCE, "10.0.0.1", "web/cnc1", 30),
    (PRECEDENCE, "10.0.0.1", "web/cnc2", 20),
    (PRECEDENCE, "10.0.0.1", "api/tel1", 0),
    (PRECEDENCE, "10.0.0.1", "api/cnc1", 30),
    (PRECEDENCE[:2], "10.0.0.1", "api/cnc1", 10),
    (tuple(reversed(PRECEDENCE)), "10.0.0.1", "web/cnc2", 20),
    # same prefix, same kind: the earlier record
    (("dc:CNC,10.0.0.0/8,10", "dc:CNC,10.0.0.0/8,20"), "10.0.0.1", "web/cnc1", 10),
    # IPv4 and IPv6 are kept apart
    (("dc:CNC,::/0,10",), "10.0.0.1", "web/cnc1", 0),
    (("dc:CNC,::/0,10",), "2001:db8::1", "web/cnc1", 10),
    (("dc:CNC,0.0.0.0/0,10",), "2001:db8::1", "web/cnc1", 0),
    (("dc:CNC,0.0.0.0/0,10",), "10.0.0.1", "web/cnc1", 10),
    (("dc:CNC,::/0,10", "dc:TEL,0.0.0.0/0,20"), "192.0.2.53", "web/cnc1", 0),
    (("dc:CNC,2001:db8::/32,10",), "32.1.13.184", "web/cnc1", 0),  # 2001:0db8 as v4 bits
    # pool tier (datacenter == -1) matches pool: records only
    (("pool:api,10.0.0.0/8,50",), "10.0.0.1", "api", 50),
    (("pool:api,10.0.0.0/8,50",), "10.0.0.1", "web", 0),
    (("dc:CNC,any,50", "vs:cnc1,any,60"), "10.0.0.1", "api", 0),
]


@pytest.mark.parametrize(("records", "ldns", "who", "expected"), CASES)
def test_score(records, ldns, who, expected):
    assert score_of(records, ldns, who) == expected


def test_one_index_answers_many_addresses_in_any_order():
    cfg = config("dc:CNC,10.0.0.0/8,10", "dc:TEL,!10.0.0.0/8,20", "dc:CMC,::/0,30")
    index = TopologyIndex(cfg)
    cands = [member(cfg, "web", v) for v in ("cnc1", "tel1", "cmc1")]
    queries = ["10.0.0.1", "2001:db8::1", "11.0.0.1", "10.0.0.2", "2001:db8::2", "11.0.0.2"]
    got = [tuple(score(index.match(key_of(ip_address(q))), c) for c in cands) for q in queries]
    assert got == [(10, 0, 0), (0, 20, 30), (0, 20, 0), (10, 0, 0), (0, 20, 30), (0, 20, 0)]


def test_match_reports_the_deciding_record_line():
    cfg = config("dc:CNC,10.0.0.0/8,10", "dc:CNC,10.1.0.0/16,20")
    match = TopologyIndex(cfg).match(key_of(ip_address("10.1.0.1")))[("dc", 0)]
    assert (match.score, match.rank, match.line) == (20, (16, 1, -1), 3)
