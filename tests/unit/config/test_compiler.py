"""Cross-checks of the compiler, through load(): each yields the exact Problem."""

from __future__ import annotations

import pytest

from gslb.algorithms import REGISTRY
from gslb.config import load
from gslb.errors import ConfigError
from tests.unit.config.conftest import Edit, MakeConfig, brief

W, T, Z = "wideips.toml", "topology.csv", "gslb.example.zone"

EXTRA_DC = '\n[[datacenter]]\nname = "CNC"\n'
REGIONS = """
[[region]]
name = "a"
members = ["region:b", "dc:TEL", "pool:web", "vs:vs_cnc", "10.0.0.0/8"]

[[region]]
name = "b"
members = ["region:c"]

[[region]]
name = "c"
members = ["region:a", "region:c"]
"""

# (id, edits, expected problems as (file, line, path, value, message))
CASES: list[tuple[str, list[Edit], list[tuple[object, ...]]]] = [
    (
        "duplicate datacenter",
        [(W, "", EXTRA_DC)],
        [(W, 84, "datacenter[2].name", "CNC", "duplicate datacenter name (first at line 24)")],
    ),
    (
        "duplicate names of every kind",
        [
            (W, 'name = "vs_tel"', 'name = "vs_cnc"'),
            (W, 'name = "web6"', 'name = "web"'),
            (W, 'name = "south"', 'name = "north"'),
        ],
        # The renamed objects' old names become unknown where they are used.
        [
            (T, 3, "ldns", "region:south", "unknown region"),
            (
                W,
                38,
                "virtual_server[1].name",
                "vs_cnc",
                "duplicate virtual_server name (first at line 32)",
            ),
            (W, 51, "pool[0].members[1]", "vs_tel", "unknown virtual_server"),
            (W, 58, "pool[1].name", "web", "duplicate pool name (first at line 50)"),
            (W, 67, "wideip[0].pools[1]", "web6", "unknown pool"),
            (W, 80, "region[1].name", "north", "duplicate region name (first at line 76)"),
        ],
    ),
    (
        "unknown datacenter of a virtual server",
        [(W, 'datacenter = "TEL"', 'datacenter = "tel"')],
        [(W, 41, "virtual_server[1].datacenter", "tel", "unknown datacenter")],
    ),
    (
        "unknown and repeated pool members",
        [(W, 'members = ["vs_cnc", "vs_tel"]', 'members = ["vs_cnc", "vs_nope", "vs_cnc"]')],
        [
            (W, 51, "pool[0].members[1]", "vs_nope", "unknown virtual_server"),
            (W, 51, "pool[0].members[2]", "vs_cnc", "virtual server listed twice in the pool"),
        ],
    ),
    (
        "address family of members and fallback",
        [
            (W, 'members = ["vs_cnc", "vs_tel"]', 'members = ["vs_cnc", "vs_cnc6"]'),
            (W, 'fallback_ip = "127.0.0.99"', 'fallback_ip = "::99"'),
        ],
        [
            (W, 51, "pool[0].members[1]", "vs_cnc6", "IPv6 address ::1 in a pool of type A"),
            (W, 55, "pool[0].fallback_ip", "::99", "IPv6 address ::99 in a pool of type A"),
        ],
    ),
    (
        "AAAA pool with an IPv4 member",
        [(W, 'members = ["vs_cnc6"]', 'members = ["vs_tel"]')],
        [(W, 60, "pool[1].members[0]", "vs_tel", "IPv4 address 127.0.20.1 in a pool of type AAAA")],
    ),
    (
        "unknown method and fallback_ip without an address",
        [(W, 'methods = ["global_availability"]', 'methods = ["fastest", "fallback_ip"]')],
        [
            (
                W,
                61,
                "pool[1].methods[0]",
                "fastest",
                "unknown method; known: " + ", ".join(sorted(REGISTRY)),
            ),
            (
                W,
                61,
                "pool[1].methods[1]",
                "fallback_ip",
                "method fallback_ip needs the pool's fallback_ip",
            ),
        ],
    ),
    (
        "unknown pools of a wide IP",
        [
            (W, 'pools = ["web", "web6"]', 'pools = ["web", "web7"]'),
            (W, 'pool_method = "global_availability"', 'last_resort_pool = "web8"'),
        ],
        [
            (W, 67, "wideip[0].pools[1]", "web7", "unknown pool"),
            (W, 68, "wideip[0].last_resort_pool", "web8", "unknown pool"),
        ],
    ),
    (
        "wide IP names: zone, CNAME, delegation, duplicates",
        [
            (
                W,
                'aliases = ["web.gslb.example.", "*.app.gslb.example."]',
                'aliases = ["WWW.gslb.example", "ftp", "ftp.gslb.example.", "x.sub.gslb.example.",'
                ' "a..gslb.example."]',
            )
        ],
        [
            (
                W,
                66,
                "wideip[0].aliases[0]",
                "www.gslb.example.",
                "name already used by wideip[0].name",
            ),
            (W, 66, "wideip[0].aliases[1]", "ftp.", "name is in no configured zone"),
            (
                W,
                66,
                "wideip[0].aliases[2]",
                "ftp.gslb.example.",
                "the zone has a CNAME at this name (ZONE:18)",
            ),
            (
                W,
                66,
                "wideip[0].aliases[3]",
                "x.sub.gslb.example.",
                "name is below the delegation sub.gslb.example.",
            ),
            (W, 66, "wideip[0].aliases[4]", "a..gslb.example.", "bad name: empty label"),
        ],
    ),
    (
        "a wide IP below a DNAME (RFC 6672: never answered), and one at its owner",
        [
            (Z, "", "legacy IN DNAME gslb.example.\n"),
            (
                W,
                'aliases = ["web.gslb.example.", "*.app.gslb.example."]',
                'aliases = ["x.legacy.gslb.example.", "legacy.gslb.example."]',
            ),
        ],
        [
            (
                W,
                66,
                "wideip[0].aliases[0]",
                "x.legacy.gslb.example.",
                "name is below the DNAME at legacy.gslb.example.",
            ),
        ],
    ),
    (
        "regions: members, unknown names, cycles",
        [
            (W, "", REGIONS),
            (W, 'members = ["219.172.0.0/16"]', 'members = ["219.172.0.1/16", "vs:x", "r"]'),
        ],
        [
            (W, 81, "region[1].members[0]", "219.172.0.1/16", "219.172.0.1/16 has host bits set"),
            (W, 81, "region[1].members[1]", "x", "unknown virtual_server"),
            (
                W,
                81,
                "region[1].members[2]",
                "r",
                "expected a subnet, region:NAME, dc:NAME, pool:NAME or vs:NAME",
            ),
            (W, 85, "region[2].members", None, "region cycle: a -> b -> c -> a"),
            (W, 93, "region[4].members", None, "region cycle: c -> c"),
        ],
    ),
    (
        "topology names",
        [(T, "", "pool:nope,region:west,1\nvs:vs_cnc,!region:north,2\nregion:zz,any,3\n")],
        [
            (T, 6, "server", "pool:nope", "unknown pool"),
            (T, 6, "ldns", "region:west", "unknown region"),
            (T, 8, "server", "region:zz", "unknown region"),
        ],
    ),
    (
        "unknown region member of another region",
        [(W, 'members = ["219.172.0.0/16"]', 'members = ["region:east"]')],
        [(W, 81, "region[1].members[0]", "east", "unknown region")],
    ),
    (
        "zone file not found",
        [(W, 'file = "gslb.example.zone"', 'file = "nope.zone"')],
        [
            (
                W,
                21,
                "zone[0].file",
                "nope.zone",
                "cannot read DIR/nope.zone: No such file or directory",
            )
        ],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cross_check_problem_is_exact(
    make_config: MakeConfig, edits: list[Edit], expected: list[tuple[object, ...]]
) -> None:
    directory = make_config(*edits)
    with pytest.raises(ConfigError) as caught:
        load(directory)
    placeholders = {"ZONE": str(directory / Z), "DIR": str(directory)}

    def fill(message: object) -> object:
        for key, value in placeholders.items():
            message = str(message).replace(key, value)
        return message

    assert brief(caught.value.problems) == [(*e[:4], fill(e[4])) for e in expected]


INDEPENDENT = (
    "duplicate datacenter",
    "unknown datacenter of a virtual server",
    "unknown and repeated pool members",
    "AAAA pool with an IPv4 member",
    "unknown pools of a wide IP",
    "wide IP names: zone, CNAME, delegation, duplicates",
    "topology names",
    "unknown region member of another region",
)


def test_every_cross_check_problem_is_reported_at_once(make_config: MakeConfig) -> None:
    chosen = [case for case in CASES if case[0] in INDEPENDENT]
    assert len(chosen) == len(INDEPENDENT)
    directory = make_config(*[edit for _, edits, _ in chosen for edit in edits])
    with pytest.raises(ConfigError) as caught:
        load(directory)
    expected = sorted(
        (e for _, _, problems in chosen for e in problems), key=lambda e: (e[0], e[1])
    )
    got = brief(caught.value.problems)
    assert [(p[0], p[1], p[2], p[3]) for p in got] == [e[:4] for e in expected]
