"""Combining the group's health views: by data center, one up is enough, stale is none."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from gslb.health import Health
from gslb.model import Config, DataCenter, ServerSettings, VirtualServer
from gslb.sync.views import View, combine, explain, own_members, verdict

NOW = 1_000_000.0
CONFIG = Config(
    source="",
    server=ServerSettings(),
    datacenters=(DataCenter("CNC"), DataCenter("TEL")),
    virtual_servers=(
        VirtualServer("vs_cnc", ip_address("127.0.10.1"), 80, 0),
        VirtualServer("vs_tel", ip_address("127.0.20.1"), 80, 1),
    ),
    pools=(),
    wideips=(),
    regions=(),
    topology=(),
    zones=(),
)


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ((), "unknown"),
        (("unknown", "unknown"), "unknown"),
        (("down", "unknown"), "down"),
        (("down", "up"), "up"),
        (("down", "down"), "down"),
    ],
)
def test_verdict(states, expected):
    assert verdict(states) == expected


def view(node, dcs, at=NOW, **members):
    return View(node, dcs, at, members)


def health(cnc: str, tel: str) -> Health:
    states = {"up": (True, False), "down": (False, False), "unknown": (False, True)}
    (up_c, unk_c), (up_t, unk_t) = states[cnc], states[tel]
    unknown = frozenset(i for i, u in enumerate((unk_c, unk_t)) if u)
    return Health((up_c, up_t), (True, True), frozenset({"x"}), unknown)


@pytest.mark.parametrize(
    ("own", "peers", "expected"),
    [
        # No peers: this node's own view, unchanged.
        (("down", "up"), [], ("down", "up")),
        # vs_cnc from the node standing in CNC; vs_tel from the one in TEL.
        (("up", "down"), [view("cnc-1", ("CNC",), vs_cnc="down", vs_tel="up")], ("down", "down")),
        # Two nodes in CNC: one up is enough.
        (
            ("down", "up"),
            [view("cnc-1", ("CNC",), vs_cnc="down"), view("cnc-2", ("CNC",), vs_cnc="up")],
            ("up", "up"),
        ),
        # A stale view counts as none: back to this node's own.
        (("down", "down"), [view("cnc-1", ("CNC",), at=NOW - 11, vs_cnc="up")], ("down", "down")),
        # Nobody stands in CNC: every view votes on vs_cnc.
        (("down", "down"), [view("hk-1", ("HK",), vs_cnc="up")], ("up", "down")),
        # The voters do not know: unknown, never down.
        (("up", "down"), [view("cnc-1", ("CNC",))], ("unknown", "down")),
    ],
)
def test_combine(own, peers, expected):
    mine_health = health(*own)
    mine = View("tel-1", ("TEL",), NOW, own_members(CONFIG, mine_health))
    got = combine(CONFIG, mine_health, mine, peers, NOW, stale_after=10)
    assert got == health(*expected)  # links and admin state kept as they were


def test_explain_shows_each_view_its_age_and_the_rule():
    mine = view("tel-1", ("TEL",), vs_cnc="up", vs_tel="up")
    peers = [
        view("cnc-2", ("CNC",), at=NOW - 12.34, vs_cnc="down", vs_tel="down"),  # stale
        view("cnc-1", ("CNC",), at=NOW - 0.44, vs_cnc="down", vs_tel="down"),
    ]
    shown = explain(CONFIG, mine, peers, NOW, stale_after=10)
    row = {"node": "", "datacenters": "", "state": "", "age": 0.0, "stale": False, "counted": False}
    assert shown == {
        "vs_cnc": {
            "group": "down",  # cnc-1 stands in CNC: its view decides; tel-1's up does not count
            "rule": "datacenter CNC",
            "views": [
                {**row, "node": "tel-1", "datacenters": "TEL", "state": "up"},
                {**row, "node": "cnc-1", "datacenters": "CNC", "state": "down", "age": 0.4,
                 "counted": True},
                # Stale: unknown, never down, and not counted.
                {**row, "node": "cnc-2", "datacenters": "CNC", "state": "unknown", "age": 12.3,
                 "stale": True},
            ],
        },
        "vs_tel": {
            "group": "up",
            "rule": "datacenter TEL",
            "views": [
                {**row, "node": "tel-1", "datacenters": "TEL", "state": "up", "counted": True},
                {**row, "node": "cnc-1", "datacenters": "CNC", "state": "down", "age": 0.4},
                {**row, "node": "cnc-2", "datacenters": "CNC", "state": "unknown", "age": 12.3,
                 "stale": True},
            ],
        },
    }  # fmt: skip


def test_explain_without_a_node_in_the_members_datacenter_counts_every_view():
    mine = view("tel-1", ("TEL",), vs_cnc="down")
    peers = [view("hk-1", ("HK",), at=NOW - 1, vs_cnc="up")]
    shown = explain(CONFIG, mine, peers, NOW, stale_after=10)["vs_cnc"]
    assert (shown["group"], shown["rule"]) == ("up", "all")
    assert [(v["node"], v["state"], v["counted"]) for v in shown["views"]] == [
        ("tel-1", "down", True),
        ("hk-1", "up", True),
    ]
