"""The roster: peers' reports, freshness, rows for `show sync`, the config hash."""

from __future__ import annotations

import dataclasses
import json

from gslb.model import Config, ProbeSettings, Record, ServerSettings, SyncSettings, Zone
from gslb.sync.roster import Roster, config_hash

CONFIG = Config("", ServerSettings(), (), (), (), (), (), (), ())


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def report(node: str, at: float, **extra) -> bytes:
    return json.dumps(
        {"node": node, "datacenters": ["CNC"], "at": at, "generation": 3, "config_hash": "h",
         "members": {"vs_cnc": "up"}, **extra}
    ).encode()  # fmt: skip


def test_the_hash_covers_what_the_group_shares_only():
    mine = dataclasses.replace(
        CONFIG,
        source="/etc/gslb",
        probes=ProbeSettings(datacenters=(0,)),
        sync=SyncSettings(("nats://a:4222",), "cnc-1"),
    )
    assert config_hash(mine) == config_hash(CONFIG)
    here = [Record("a.example.", 1, 60, b"\x7f\x00\x00\x01", line=3, file="cnc-1/z.zone")]
    there = [Record("a.example.", 1, 60, b"\x7f\x00\x00\x01", line=9, file="tel-1/z.zone")]
    assert config_hash(
        dataclasses.replace(CONFIG, zones=(Zone("example.", "cnc-1/z.zone", tuple(here)),))
    ) == config_hash(
        dataclasses.replace(CONFIG, zones=(Zone("example.", "tel-1/z.zone", tuple(there)),))
    )
    assert config_hash(dataclasses.replace(CONFIG, topology=((),))) != config_hash(CONFIG)  # type: ignore[arg-type]


def test_peers_come_go_stale_and_show():
    clock = Clock()
    roster = Roster("tel-1", stale_after=10, clock=clock)
    roster.take("tel-1", report("tel-1", 999), False)  # our own: not a peer
    roster.take("cnc-1", report("cnc-1", 999.5), False)
    roster.take("hk-1", b"not json", False)
    assert list(roster.peers) == ["cnc-1"] and roster.changed
    assert roster.counts == {"received": 1, "bad": 1}
    assert not roster.went_stale()
    own = {
        "node": "tel-1",
        "datacenters": ["TEL"],
        "at": 1000.0,
        "generation": 3,
        "config_hash": "h2",
    }
    rows = roster.rows(own)
    assert [(r["node"], r["connected"], r["last_heard"], r["config_match"]) for r in rows] == [
        ("tel-1", True, 0.0, True),
        ("cnc-1", True, 0.5, False),
    ]
    assert roster.mismatches("h2") == 1
    clock.now = 1010.0
    assert roster.went_stale() and not roster.went_stale()  # said once
    assert roster.mismatches("h2") == 0  # a stale peer is not counted
    assert roster.rows(own)[1]["connected"] is False
    roster.take("cnc-1", b"", True)
    assert roster.peers == {}
