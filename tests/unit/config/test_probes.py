"""`[probes]`: defaults, a full table, and every problem located."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from gslb.config import load
from gslb.errors import ConfigError
from gslb.model import ProbeSettings
from gslb.probes import PROBE_PROTOCOLS
from tests.unit.config.conftest import MakeConfig, brief

W = "wideips.toml"
LINE = 83  # the `[probes]` header appended after the default 81 lines

FULL = """
[probes]
protocols = ["tcp", "dns_dot"]
timeout = 1
interval = 30.5
path_ttl = 120
ldns_ttl = 86400
max_entries = 5000
concurrency = 8
rate = 20
queue_size = 64
backoff_max = 600
keys_per_target = 16
allow = ["127.0.0.0/8", "10.0.0.0/8", "2001:db8::/32"]
deny = ["10.1.0.0/16"]
port = 5353
ports = { udp = 33434 }
datacenters = ["TEL"]
state_file = "/var/lib/gslb/ldns.json"
"""


def test_defaults_probe_loopback_only(make_config: MakeConfig):
    directory = make_config()
    probes = load(directory).probes
    assert probes == ProbeSettings(
        protocols=PROBE_PROTOCOLS, state_file=f"{directory}/var/ldns.json"
    )
    assert probes.protocols == ("dns_dot", "dns_rev", "udp", "tcp", "icmp")
    assert probes.allow == (ip_network("127.0.0.0/8"), ip_network("::1/128"))
    assert (probes.path_ttl, probes.ldns_ttl, probes.port) == (2400.0, 2_419_200.0, 53)
    assert probes.datacenters is None


def test_a_full_table(make_config: MakeConfig):
    probes = load(make_config((W, "", FULL))).probes
    assert probes == ProbeSettings(
        protocols=("tcp", "dns_dot"),
        timeout=1.0,
        interval=30.5,
        path_ttl=120.0,
        ldns_ttl=86400.0,
        max_entries=5000,
        concurrency=8,
        rate=20.0,
        queue_size=64,
        backoff_max=600.0,
        keys_per_target=16,
        allow=(ip_network("127.0.0.0/8"), ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")),
        deny=(ip_network("10.1.0.0/16"),),
        port=5353,
        ports=(("udp", 33434),),
        datacenters=(1,),
        state_file="/var/lib/gslb/ldns.json",
    )
    assert [probes.port_for(p) for p in ("udp", "tcp")] == [33434, 5353]


KNOWN = "known: dns_dot, dns_rev, icmp, tcp, udp"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            'protocols = ["dns_dot", "ping"]\nports = { smtp = 25 }',
            [
                (W, LINE + 1, "probes.protocols[1]", "ping", f"unknown protocol; {KNOWN}"),
                (W, LINE + 2, "probes.ports.smtp", "smtp", f"unknown protocol; {KNOWN}"),
            ],
        ),
        (
            'allow = ["127.0.0.1/8", "localhost"]\ndeny = ["::1/200"]',
            [
                (W, LINE + 1, "probes.allow[0]", "127.0.0.1/8", "127.0.0.1/8 has host bits set"),
                (W, LINE + 1, "probes.allow[1]", "localhost", "expected a subnet"),
                (W, LINE + 2, "probes.deny[0]", "::1/200", "expected a subnet"),
            ],
        ),
        (
            'datacenters = ["CNC", "MARS"]',
            [(W, LINE + 1, "probes.datacenters[1]", "MARS", "unknown datacenter")],
        ),
        (
            "timeout = 0\nrate = -1\nport = 70000\nprotocols = []",
            [
                (W, LINE + 1, "probes.timeout", 0, "Input should be greater than 0"),
                (W, LINE + 2, "probes.rate", -1, "Input should be greater than 0"),
                (W, LINE + 3, "probes.port", 70000, "Input should be less than or equal to 65535"),
                (
                    W,
                    LINE + 4,
                    "probes.protocols",
                    [],
                    "List should have at least 1 item after validation, not 0",
                ),
            ],
        ),
        (
            "keys_per_target = 0",
            [
                (
                    W,
                    LINE + 1,
                    "probes.keys_per_target",
                    0,
                    "Input should be greater than or equal to 1",
                )
            ],
        ),
        ("colour = 1", [(W, LINE + 1, "probes.colour", 1, "Extra inputs are not permitted")]),
    ],
)
def test_problems_name_file_line_field_and_value(make_config: MakeConfig, table, expected):
    with pytest.raises(ConfigError) as caught:
        load(make_config((W, "", f"\n[probes]\n{table}\n")))
    assert brief(caught.value.problems) == expected
