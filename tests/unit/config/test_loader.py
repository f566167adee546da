"""gslb.config.load: the default etc/, schema errors, and the all-at-once rule."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address
from pathlib import Path

import pytest

from gslb.config import load
from gslb.errors import ConfigError
from gslb.model import (
    AAAA,
    A,
    DataCenter,
    Persistence,
    Pool,
    PoolMember,
    Region,
    ServerSettings,
    TopologyRecord,
    VirtualServer,
    WideIP,
)
from tests.unit.config.conftest import ETC, MakeConfig, brief


def test_default_etc_compiles_to_exactly_these_objects() -> None:
    config = load(ETC)

    assert config.source == str(ETC)
    assert config.server == ServerSettings(
        listen=(("127.0.0.1", 5300),),
        edns_buffer_size=1232,
        tcp_idle_timeout=10.0,
        tcp_max_connections=256,
        nsid=b"gslb-default",
        workers=1,
        persistence_max_entries=100_000,
        rrl_responses_per_second=0,
        rrl_slip=2,
    )
    assert config.datacenters == (
        DataCenter("CNC", IPv4Address("127.0.0.2")),
        DataCenter("TEL", IPv4Address("127.0.0.3")),
    )
    assert config.virtual_servers == (
        VirtualServer("vs_cnc", IPv4Address("127.0.10.1"), 80, 0),
        VirtualServer("vs_tel", IPv4Address("127.0.20.1"), 80, 1),
        VirtualServer("vs_cnc6", IPv6Address("::1"), 80, 0),
    )
    assert config.pools == (
        Pool(
            "web",
            (PoolMember(0), PoolMember(1)),
            methods=("rtt", "topology", "global_availability"),
            ttl=30,
            max_answers=1,
            fallback_ip=IPv4Address("127.0.0.99"),
            rtype=A,
        ),
        Pool("web6", (PoolMember(2),), methods=("global_availability",), rtype=AAAA),
    )
    assert config.wideips == (
        WideIP(
            "www.gslb.example.",
            aliases=("web.gslb.example.", "*.app.gslb.example."),
            pools=(0, 1),
            pool_method="global_availability",
            persistence=Persistence(300, 24, 56),
        ),
    )
    assert config.regions == (
        Region("north", (IPv4Network("202.106.0.0/16"), IPv4Network("200.100.0.0/16"))),
        Region("south", (IPv4Network("219.172.0.0/16"),)),
    )
    assert config.topology == (
        TopologyRecord("dc", "CNC", "region", "north", False, 100, line=2),
        TopologyRecord("dc", "TEL", "region", "south", False, 100, line=3),
        TopologyRecord("dc", "TEL", "subnet", "127.0.0.0/8", False, 100, line=4),
        TopologyRecord("dc", "CNC", "subnet", "127.0.0.0/8", False, 50, line=5),
    )
    assert config.warnings == ()
    [zone] = config.zones
    assert (zone.origin, zone.file) == ("gslb.example.", str(ETC / "gslb.example.zone"))
    assert [(r.name, r.rtype, r.ttl, r.line) for r in zone.records] == [
        ("gslb.example.", 6, 3600, 4),
        ("gslb.example.", 2, 3600, 10),
        ("gslb.example.", 2, 3600, 11),
        ("ns1.gslb.example.", 1, 3600, 12),
        ("ns2.gslb.example.", 28, 3600, 13),
        ("gslb.example.", 15, 3600, 14),
        ("mail.gslb.example.", 1, 3600, 15),
        ("gslb.example.", 16, 3600, 16),
        ("gslb.example.", 257, 3600, 17),
        ("ftp.gslb.example.", 5, 3600, 18),
        ("docs.gslb.example.", 5, 3600, 19),
        ("_sip._udp.gslb.example.", 33, 3600, 20),
        ("sub.gslb.example.", 2, 3600, 22),
        ("ns.sub.gslb.example.", 1, 3600, 23),
    ]


def test_defaults_fill_every_optional_field(make_config: MakeConfig) -> None:
    minimal = """\
[[zone]]
name = "gslb.example"
file = "gslb.example.zone"

[[datacenter]]
name = "dc1"

[[virtual_server]]
name = "vs1"
address = "192.0.2.1"
datacenter = "dc1"

[[pool]]
name = "p"
members = ["vs1"]

[[wideip]]
name = "WWW.Gslb.Example"
pools = ["p"]
"""
    directory = make_config(("wideips.toml", "", ""), remove=("topology.csv",))
    (directory / "wideips.toml").write_text(minimal)
    config = load(directory)
    assert config.server == ServerSettings()
    assert config.datacenters == (DataCenter("dc1"),)
    assert config.virtual_servers == (VirtualServer("vs1", IPv4Address("192.0.2.1"), 80, 0),)
    assert config.pools == (Pool("p", (PoolMember(0),)),)
    assert config.wideips == (WideIP("www.gslb.example.", pools=(0,)),)
    assert (config.regions, config.topology) == ((), ())


def test_pool_members_sort_by_order_stably_and_tables_mix_with_names(
    make_config: MakeConfig,
) -> None:
    members = (
        'members = [{vs = "vs_tel", order = 2, ratio = 3}, "vs_cnc",'
        ' {vs = "vs_cnc6x", order = 2, enabled = false}, {vs = "vs_x", order = -1}]'
    )
    extra = """
[[virtual_server]]
name = "vs_cnc6x"
address = "127.0.10.6"
datacenter = "CNC"

[[virtual_server]]
name = "vs_x"
address = "127.0.10.7"
datacenter = "TEL"
"""
    directory = make_config(
        ("wideips.toml", 'members = ["vs_cnc", "vs_tel"]', members), ("wideips.toml", "", extra)
    )
    pool = load(directory).pools[0]
    assert pool.members == (
        PoolMember(4, order=-1),
        PoolMember(0),
        PoolMember(1, ratio=3, order=2),
        PoolMember(3, order=2, enabled=False),
    )


def test_pool_used_by_no_wide_ip_is_a_warning(make_config: MakeConfig) -> None:
    directory = make_config(("wideips.toml", 'pools = ["web", "web6"]', 'pools = ["web"]'))
    config = load(directory)
    toml = directory / "wideips.toml"
    assert config.warnings == (f"{toml}:57: pool[1]: pool is used by no wide IP (value: 'web6')",)


def test_last_resort_pool_counts_as_used(make_config: MakeConfig) -> None:
    directory = make_config(
        ("wideips.toml", 'pools = ["web", "web6"]', 'pools = ["web"]\nlast_resort_pool = "web6"')
    )
    config = load(directory)
    assert config.warnings == ()
    assert config.wideips[0].last_resort_pool == 1


# Each edit replaces one line of the default wideips.toml (line numbers are
# those of etc/wideips.toml) and must yield exactly these problems.
SCHEMA_CASES = [
    (
        "listen without port",
        ('listen = ["127.0.0.1:5300"]', 'listen = ["127.0.0.1"]'),
        [(8, "server.listen[0]", "127.0.0.1", 'expected "host:port" or "[v6]:port"')],
    ),
    (
        "listen v6 without brackets",
        ('listen = ["127.0.0.1:5300"]', 'listen = ["::1:53", "[::1]:70000", "x:53"]'),
        [
            (8, "server.listen[0]", "::1:53", 'an IPv6 listen address is written "[v6]:port"'),
            (8, "server.listen[1]", "[::1]:70000", "port must be 0..65535"),
            (8, "server.listen[2]", "x:53", "not an IP address: 'x'"),
        ],
    ),
    (
        "edns buffer too small",
        ("edns_buffer_size = 1232", "edns_buffer_size = 511"),
        [(9, "server.edns_buffer_size", 511, "Input should be greater than or equal to 512")],
    ),
    (
        "unknown key",
        ("tcp_max_connections = 256", "tcp_max_conections = 256"),
        [(11, "server.tcp_max_conections", 256, "Extra inputs are not permitted")],
    ),
    (
        "nested table field",
        ("slip = 2", 'slip = "2"'),
        [(17, "server.rrl.slip", "2", "Input should be a valid integer")],
    ),
    (
        "bad probe source",
        ('probe_source = "127.0.0.3"', 'probe_source = "127.0.0.300"'),
        [
            (
                29,
                "datacenter[1].probe_source",
                "127.0.0.300",
                "value is not a valid IPv4 or IPv6 address",
            )
        ],
    ),
    (
        "string port",
        ('address = "127.0.20.1"\nport = 80', 'address = "127.0.20.1"\nport = "80"'),
        [(40, "virtual_server[1].port", "80", "Input should be a valid integer")],
    ),
    (
        "missing field points at its table",
        ('address = "::1"', 'adress = "::1"'),
        [
            (43, "virtual_server[2].address", None, "Field required"),
            (45, "virtual_server[2].adress", "::1", "Extra inputs are not permitted"),
        ],
    ),
    (
        "member ratio and ttl",
        (
            'members = ["vs_cnc", "vs_tel"]',
            'members = ["vs_cnc", {vs = "vs_tel", ratio = 0}, 7]',
        ),
        [
            (51, "pool[0].members[1].ratio", 0, "Input should be greater than or equal to 1"),
            (
                51,
                "pool[0].members[2]",
                7,
                "Input should be a valid dictionary or instance of PoolMember",
            ),
        ],
    ),
    (
        "empty method chain",
        ('methods = ["rtt", "topology", "global_availability"]', "methods = []"),
        [(52, "pool[0].methods", [], "List should have at least 1 item after validation, not 0")],
    ),
    (
        "ttl out of range",
        ("ttl = 30\nmax_answers = 1", "ttl = 2147483648\nmax_answers = 0"),
        [
            (53, "pool[0].ttl", 2147483648, "Input should be less than or equal to 2147483647"),
            (54, "pool[0].max_answers", 0, "Input should be greater than or equal to 1"),
        ],
    ),
    (
        "pool type",
        ('type = "AAAA"', 'type = "MX"'),
        [(59, "pool[1].type", "MX", "Input should be 'A' or 'AAAA'")],
    ),
    (
        "pool method",
        ('pool_method = "global_availability"', 'pool_method = "rtt"'),
        [
            (
                68,
                "wideip[0].pool_method",
                "rtt",
                "Input should be 'global_availability', 'ratio', 'round_robin',"
                " 'topology' or 'random'",
            )
        ],
    ),
    (
        "persistence cidrs",
        ("cidr_v4 = 24\ncidr_v6 = 56", "cidr_v4 = 33\ncidr_v6 = 129"),
        [
            (72, "wideip[0].persistence.cidr_v4", 33, "Input should be less than or equal to 32"),
            (73, "wideip[0].persistence.cidr_v6", 129, "Input should be less than or equal to 128"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"), [c[1:] for c in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES]
)
def test_schema_problem_is_exact(
    make_config: MakeConfig, edit: tuple[str, str], expected: list[tuple[object, ...]]
) -> None:
    directory = make_config(("wideips.toml", *edit))
    with pytest.raises(ConfigError) as caught:
        load(directory)
    assert brief(caught.value.problems) == [("wideips.toml", *e) for e in expected]


def test_toml_syntax_error_names_its_line(make_config: MakeConfig) -> None:
    directory = make_config(("wideips.toml", "ttl = 300", "ttl == 300"))
    with pytest.raises(ConfigError) as caught:
        load(directory)
    assert brief(caught.value.problems) == [
        ("wideips.toml", 71, "", None, "TOML syntax: Invalid value")
    ]


def test_missing_objects_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path)
    assert brief(caught.value.problems) == [
        ("wideips.toml", None, "", None, "cannot read: No such file or directory")
    ]


def test_missing_topology_file_means_no_records(make_config: MakeConfig) -> None:
    assert load(make_config(remove=("topology.csv",))).topology == ()


def test_schema_topology_and_zone_errors_are_reported_together(make_config: MakeConfig) -> None:
    directory = make_config(
        ("wideips.toml", "edns_buffer_size = 1232", "edns_buffer_size = 70000"),
        ("wideips.toml", 'name = "TEL"', "name = 5"),
        ("topology.csv", "dc:CNC,region:north,100", "dc:CNC,region:north,high"),
        ("gslb.example.zone", "mail    IN A    127.0.0.25", "mail    IN A    127.0.0"),
    )
    with pytest.raises(ConfigError) as caught:
        load(directory)
    assert brief(caught.value.problems) == [
        (
            "gslb.example.zone",
            15,
            "mail.gslb.example. A",
            "127.0.0",
            "not an A address: '127.0.0'",
        ),
        ("topology.csv", 2, "score", "high", "must be an integer 0..2147483647"),
        (
            "wideips.toml",
            9,
            "server.edns_buffer_size",
            70000,
            "Input should be less than or equal to 65535",
        ),
        ("wideips.toml", 28, "datacenter[1].name", 5, "Input should be a valid string"),
    ]
