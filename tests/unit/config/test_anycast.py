"""`[anycast]`: defaults, a full table, and every problem located."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from gslb.config import load
from gslb.errors import ConfigError
from gslb.model import AnycastPrefix, AnycastSettings
from tests.unit.config.conftest import MakeConfig, brief

W = "wideips.toml"
LINE = 83  # the `[anycast]` header appended after the default 81 lines
LISTEN = ('listen = ["127.0.0.1:5300"]', 'listen = ["127.0.0.1:5300", "127.0.0.53:53"]')
MINIMAL = """
[anycast]
prefixes = ["127.0.0.53/32"]
announce = "true"
withdraw = "true"
"""


def test_no_section_no_gate(make_config: MakeConfig):
    assert load(make_config()).anycast is None


def test_defaults_check_every_quarter_second_and_act_after_two(make_config: MakeConfig):
    directory = make_config((W, *LISTEN), (W, "", MINIMAL))
    anycast = load(directory).anycast
    assert anycast == AnycastSettings(
        prefixes=(AnycastPrefix(ip_network("127.0.0.53/32"), "127.0.0.53", 53),),
        announce="true",
        withdraw="true",
        check_zone="gslb.example.",
        # Relative paths are the config directory's; "" (no drain file) stays "".
        stopping_file=f"{directory}/run/gslbd.stopping",
        state_file=f"{directory}/run/anycast.json",
    )
    assert (anycast.interval, anycast.timeout, anycast.rise, anycast.fall) == (0.25, 0.25, 2, 2)
    assert (anycast.shutdown_drain, anycast.reassert, anycast.drain_file) == (2.0, 10.0, "")
    assert anycast.http == ("127.0.0.1", 9301)


def test_a_full_table_with_frr(make_config: MakeConfig):
    table = """
[anycast]
prefixes = ["127.0.0.52/31"]
routing = "frr_ospf"
ospf_area = "0.0.0.2"
vtysh = ["vtysh", "--vty_socket", "/run/frr/n1"]
check_zone = "GSLB.example"
interval = 0.5
timeout = 0.2
rise = 3
fall = 1
command_timeout = 2
reassert = 0
drain_file = "/run/gslb/drain"
shutdown_drain = 3.5
stopping_file = "/run/gslb/stopping"
state_file = "/run/gslb/anycast.json"
http = ""
"""
    anycast = load(make_config((W, *LISTEN), (W, "", table))).anycast
    assert anycast == AnycastSettings(
        prefixes=(AnycastPrefix(ip_network("127.0.0.52/31"), "127.0.0.53", 53),),
        routing="frr_ospf",
        ospf_area="0.0.0.2",
        vtysh=("vtysh", "--vty_socket", "/run/frr/n1"),
        check_zone="gslb.example.",
        interval=0.5,
        timeout=0.2,
        rise=3,
        fall=1,
        command_timeout=2.0,
        reassert=0.0,
        drain_file="/run/gslb/drain",
        shutdown_drain=3.5,
        stopping_file="/run/gslb/stopping",
        state_file="/run/gslb/anycast.json",
        http=None,
    )


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            'prefixes = ["127.0.0.53/32", "192.0.2.1/24", "127.0.0.53", "198.51.100.53/32"]\n'
            'announce = "a"\nwithdraw = "w"',
            [
                (
                    W,
                    LINE + 1,
                    "anycast.prefixes[1]",
                    "192.0.2.1/24",
                    "not a prefix: 192.0.2.1/24 has host bits set",
                ),
                (
                    W,
                    LINE + 1,
                    "anycast.prefixes[2]",
                    "127.0.0.53",
                    "overlaps another prefix of the list",
                ),
                (
                    W,
                    LINE + 1,
                    "anycast.prefixes[3]",
                    "198.51.100.53/32",
                    "no [server] listen "
                    "address inside it: bind the service address explicitly, so replies leave "
                    "from the address asked",
                ),
            ],
        ),
        (
            'prefixes = ["127.0.0.53/32"]\nannounce = "a"',
            [(W, LINE, "anycast.withdraw", None, "required with routing = 'shell'")],
        ),
        (
            'prefixes = ["127.0.0.53/32"]\nrouting = "bird"\nvtysh = ["vtysh"]\nospf_area = "x"',
            [
                (W, LINE, "anycast.bird_protocol", None, "required with routing = 'bird'"),
                (W, LINE + 3, "anycast.vtysh", ["vtysh"], "only for routing = 'frr_ospf'"),
                (W, LINE + 4, "anycast.ospf_area", "x", "only for routing = 'frr_ospf'"),
                (
                    W,
                    LINE + 4,
                    "anycast.ospf_area",
                    "x",
                    "an OSPF area is a number or a dotted quad",
                ),
            ],
        ),
        (
            'prefixes = ["127.0.0.53/32", "127.0.0.54/32"]\nrouting = "bird"\n'
            'bird_protocol = "anycast"',
            [
                (
                    W,
                    LINE + 1,
                    "anycast.prefixes",
                    ["127.0.0.53/32", "127.0.0.54/32"],
                    "routing = 'bird' gates one protocol: one prefix only (or routing = 'shell')",
                ),
                (
                    W,
                    LINE + 1,
                    "anycast.prefixes[1]",
                    "127.0.0.54/32",
                    "no [server] listen address inside it: bind the service address "
                    "explicitly, so replies leave from the address asked",
                ),
            ],
        ),
        (
            'prefixes = ["127.0.0.53/32"]\nrouting = "exabgp"\ncheck_zone = "www.gslb.example"',
            [
                (
                    W,
                    LINE + 3,
                    "anycast.check_zone",
                    "www.gslb.example",
                    "not a configured zone (the gate asks for its SOA)",
                ),
            ],
        ),
        (
            'prefixes = ["127.0.0.53/32"]\nrouting = "quagga"\ninterval = 0\nrise = 0',
            [
                (
                    W,
                    LINE + 2,
                    "anycast.routing",
                    "quagga",
                    "Input should be 'shell', 'frr_ospf', 'bird' or 'exabgp'",
                ),
                (W, LINE + 3, "anycast.interval", 0, "Input should be greater than 0"),
                (W, LINE + 4, "anycast.rise", 0, "Input should be greater than or equal to 1"),
            ],
        ),
        (
            'routing = "exabgp"',
            [(W, LINE, "anycast.prefixes", None, "Field required")],
        ),
    ],
)
def test_problems_name_file_line_field_and_value(make_config: MakeConfig, table, expected):
    with pytest.raises(ConfigError) as caught:
        load(make_config((W, *LISTEN), (W, "", f"\n[anycast]\n{table}\n")))
    assert brief(caught.value.problems) == expected
