"""Entries as the operator sees them: the dict, and 3-DNS's `ldns { ... }` text."""

from __future__ import annotations

from ipaddress import ip_address

from gslb.probes.report import entry_dict, format_entry
from gslb.proximity import LdnsTable

T0 = 1_000_000.0
SEED = """\
ldns { address 61.136.178.229  ttl 2419199  probe_protocol tcp
  path { datacenter "CNC" cur_rtt 189850 cur_hops 0 cur_completion_rate 10000 }
  path { datacenter "TEL" cur_rtt 57209 cur_hops 0 cur_completion_rate 10000 } }"""


def seed_entry():
    address = ip_address("61.136.178.229")
    table = LdnsTable(max_entries=10, ldns_ttl=2_419_200)
    table.add(address, address, T0)
    table.record(address, 1, rtt_us=57209, protocol="tcp", now=T0)
    table.record(address, 0, rtt_us=189850, protocol="tcp", now=T0 + 1)
    return entry_dict(address, table.get(address), ("CNC", "TEL"), T0 + 1, 2_419_200, 2400)


def test_the_seed_entry_as_a_dict():
    entry = seed_entry()
    assert entry == {
        "address": "61.136.178.229",
        "ttl": 2419199,
        "probe_protocol": "tcp",
        "probe_target": "61.136.178.229",
        "first_seen": T0,
        "last_seen": T0,
        "queries": 0,
        "failures": 0,
        "next_probe": 0.0,
        "paths": [
            {
                "datacenter": "CNC",
                "cur_rtt": 189850,
                "cur_hops": 0,
                "cur_completion_rate": 10000,
                "protocol": "tcp",
                "measured_at": T0 + 1,
                "probed_at": T0 + 1,
                "failures": 0,
                "fresh": True,
            },
            {
                "datacenter": "TEL",
                "cur_rtt": 57209,
                "cur_hops": 0,
                "cur_completion_rate": 10000,
                "protocol": "tcp",
                "measured_at": T0,
                "probed_at": T0,
                "failures": 0,
                "fresh": True,
            },
        ],
    }


def test_the_seed_entry_in_text():
    assert format_entry(seed_entry()) == SEED


def test_an_entry_without_paths():
    entry = {"address": "::1", "ttl": 5, "probe_protocol": "none", "paths": []}
    assert format_entry(entry) == "ldns { address ::1  ttl 5  probe_protocol none }"
