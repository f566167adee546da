"""`[sync]`: absent by default, a full table, and every problem located."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gslb.config import load
from gslb.config.group import default_node
from gslb.errors import ConfigError
from gslb.model import SyncSettings
from tests.unit.config.conftest import MakeConfig, brief

W = "wideips.toml"
LINE = 83  # the `[sync]` header appended after the default 81 lines
RULE = "must be 1 to 64 letters, digits, '-' or '_' (it names NATS subjects)"


def test_no_sync_table_is_a_standalone_node(make_config: MakeConfig):
    assert load(make_config()).sync is None


def test_a_full_table(make_config: MakeConfig):
    table = (
        '\n[sync]\nservers = ["nats://10.0.0.1:4222", "tls://nats.example:4443"]\n'
        'node = "cnc-1"\nreplicas = 3\npublish_interval = 0.5\nheartbeat = 2\nstale_after = 30\n'
    )
    assert load(make_config((W, "", table))).sync == SyncSettings(
        servers=("nats://10.0.0.1:4222", "tls://nats.example:4443"),
        node="cnc-1",
        replicas=3,
        publish_interval=0.5,
        heartbeat=2.0,
        stale_after=30.0,
    )


def test_the_node_defaults_to_the_host_name(make_config: MakeConfig, monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "cnc-1.dc.example")
    sync = load(make_config((W, "", '\n[sync]\nservers = ["nats://127.0.0.1:4222"]\n'))).sync
    assert sync is not None
    assert sync.node == "cnc-1"


@pytest.mark.parametrize(
    ("host", "node"),
    [("cnc-1.dc.example", "cnc-1"), ("box 7", "box-7"), ("", "gslb"), ("x" * 70, "x" * 64)],
)
def test_a_host_name_becomes_a_subject_token(monkeypatch, host, node):
    monkeypatch.setattr(socket, "gethostname", lambda: host)
    assert default_node() == node


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            'servers = ["http://127.0.0.1:4222", "nats://:4222", "nats://h:99999"]\nnode = "a.b"',
            [
                (
                    W,
                    LINE + 1,
                    "sync.servers[0]",
                    "http://127.0.0.1:4222",
                    "expected a URL like nats://host:4222 (scheme one of nats, tls, ws, wss)",
                ),
                (W, LINE + 1, "sync.servers[1]", "nats://:4222", "no host in the URL"),
                (
                    W,
                    LINE + 1,
                    "sync.servers[2]",
                    "nats://h:99999",
                    "not a URL: Port out of range 0-65535",
                ),
                (W, LINE + 2, "sync.node", "a.b", RULE),
            ],
        ),
        (
            "servers = []\nreplicas = 7",
            [
                (
                    W,
                    LINE + 1,
                    "sync.servers",
                    [],
                    "List should have at least 1 item after validation, not 0",
                ),
                (W, LINE + 2, "sync.replicas", 7, "Input should be less than or equal to 5"),
            ],
        ),
        ('node = "x"', [(W, LINE, "sync.servers", None, "Field required")]),
    ],
)
def test_problems_name_file_line_field_and_value(make_config: MakeConfig, table, expected):
    with pytest.raises(ConfigError) as caught:
        load(make_config((W, "", f"\n[sync]\n{table}\n")))
    assert brief(caught.value.problems) == expected


def test_datacenter_names_must_be_subject_tokens_with_sync(make_config: MakeConfig):
    edits = (
        (W, 'name = "TEL"', 'name = "TEL south"'),
        (W, 'datacenter = "TEL"', 'datacenter = "TEL south"'),
        ("topology.csv", "dc:TEL,region", "dc:TEL south,region"),
        ("topology.csv", "dc:TEL,127", "dc:TEL south,127"),
    )
    directory = make_config(*edits)
    load(directory)  # fine for a standalone node
    toml = directory / W
    toml.write_text(toml.read_text() + '\n[sync]\nservers = ["nats://127.0.0.1:4222"]\n')
    with pytest.raises(ConfigError) as caught:
        load(directory)
    assert brief(caught.value.problems) == [
        (W, 28, "datacenter[1].name", "TEL south", f"with [sync]: {RULE}")
    ]


@pytest.mark.parametrize("node", ["cnc-1", "tel-1"])
def test_the_two_dc_example_loads(node):
    directory = Path(__file__).resolve().parents[3] / "contrib" / "sync-two-dc" / node
    config = load(directory)
    assert config.sync is not None and config.sync.node == node
    assert config.probes.datacenters == ((0,) if node == "cnc-1" else (1,))


def test_the_two_dc_example_nodes_share_one_config_hash():
    from gslb.sync.roster import config_hash

    example = Path(__file__).resolve().parents[3] / "contrib" / "sync-two-dc"
    hashes = {config_hash(load(example / node)) for node in ("cnc-1", "tel-1")}
    assert len(hashes) == 1  # what `gslbctl show sync` compares: only [probes] etc. differ
