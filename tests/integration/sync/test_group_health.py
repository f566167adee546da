"""Health views across the group, members disabled group-wide, `show sync`, metrics.

vs_cnc (data center CNC) has an external monitor that is up at a node when
a file named after that node's gslbd PID exists, so each node can be made to
see it differently. Queries come from 127.0.0.1, which [probes] deny keeps unprobed:
topology decides: CNC when vs_cnc is available, else TEL.
"""

from __future__ import annotations

import pytest

from tests.integration.ops.helpers import metric
from tests.integration.sync.conftest import CLIENT, SEED, STEADY, until, www

VS_CNC_TABLE = 'name = "vs_cnc"\naddress = "127.0.10.1"\nport = 80\ndatacenter = "CNC"\n'


def answer(node) -> str:
    return www(node.server, CLIENT)


def monitored(tmp_path):
    command = f'["/bin/sh", "-c", "test -e {tmp_path}/up-$PPID"]'
    monitor = (
        '\n[[monitor]]\nname = "node_file"\ntype = "external"\ninterval = 0.2\n'
        f"timeout = 2\nrise = 1\nfall = 1\ncommand = {command}\n"
    )
    return (
        (VS_CNC_TABLE, VS_CNC_TABLE + 'monitors = ["node_file"]\n'),
        ("[[region]]", monitor + "\n[[region]]"),
    )


@pytest.fixture
def pair(make_node, nats_server, ldns, tmp_path):
    _, port = ldns
    nodes = [
        make_node(name, [dc], port, [nats_server.url], sync="stale_after = 2\n",
                  toml=monitored(tmp_path), **STEADY)
        for name, dc in (("cnc-1", "CNC"), ("tel-1", "TEL"))
    ]  # fmt: skip
    for node in nodes:
        assert node.server.logged(f"sync: connected node={node.name}", timeout=10)
    return nodes


def see_up(tmp_path, node, up: bool) -> None:
    flag = tmp_path / f"up-{node.server.proc.pid}"
    if up:
        flag.touch()
    else:
        flag.unlink(missing_ok=True)


def test_a_members_state_comes_from_the_nodes_in_its_datacenter(pair, tmp_path):
    cnc, tel = pair
    see_up(tmp_path, tel, True)  # TEL sees vs_cnc up, CNC (its own DC) does not: down
    until(
        lambda: answer(tel) == SEED.vs_tel and answer(cnc) == SEED.vs_tel, 10, "vs_cnc down at both"
    )
    see_up(tmp_path, cnc, True)
    see_up(tmp_path, tel, False)  # now only CNC sees it up, and CNC stands in its DC
    until(lambda: answer(cnc) == SEED.vs_cnc, 10, "vs_cnc up at CNC")
    until(lambda: answer(tel) == SEED.vs_cnc, 10, "vs_cnc up at TEL, by CNC's view")
    for _ in range(10):  # TEL's own checks keep saying down; CNC's view keeps deciding
        assert answer(tel) == SEED.vs_cnc

    assert cnc.server.stop() == 0  # a silent peer: its view is unknown after 2 s, not down
    until(lambda: answer(tel) == SEED.vs_tel, 10, "TEL back on its own view")
    rows = {r["node"]: r for r in tel.ctl("show", "sync")}
    assert (rows["cnc-1"]["connected"], rows["tel-1"]["connected"]) == (False, True)


def test_member_disable_applies_to_the_whole_group(pair, tmp_path):
    cnc, tel = pair
    for node in pair:
        see_up(tmp_path, node, True)
    until(
        lambda: answer(cnc) == SEED.vs_cnc and answer(tel) == SEED.vs_cnc, 10, "vs_cnc up at both"
    )
    tel.ctl("member", "disable", "vs_cnc")
    until(lambda: answer(cnc) == SEED.vs_tel, 5, "vs_cnc disabled at CNC by TEL's operator")
    assert answer(tel) == SEED.vs_tel
    members = {m["name"]: m for m in cnc.ctl("show", "members")}
    assert members["vs_cnc"]["state"] == "disabled"
    cnc.ctl("member", "enable", "vs_cnc")
    until(lambda: answer(tel) == SEED.vs_cnc, 5, "vs_cnc enabled at TEL by CNC's operator")


def test_show_sync_and_metrics(pair, tmp_path):
    cnc, tel = pair
    until(lambda: len(cnc.ctl("show", "sync")) == 2, 5, "both nodes in CNC's roster")
    rows = {r["node"]: r for r in cnc.ctl("show", "sync")}
    assert {n: (r["connected"], r["datacenters"], r["config_match"]) for n, r in rows.items()} == {
        "cnc-1": (True, "CNC", True),
        "tel-1": (True, "TEL", True),
    }
    assert rows["cnc-1"]["self"] and not rows["tel-1"]["self"]
    assert rows["tel-1"]["last_heard"] < 3
    assert metric(cnc.server, "gslb_sync_connected") == 1
    assert metric(cnc.server, "gslb_sync_peers", state="connected") == 1
    assert metric(cnc.server, "gslb_sync_config_mismatch") == 0

    # A node whose shared config differs: shown, and counted.
    toml = tel.server.config_dir / "wideips.toml"
    toml.write_text(
        toml.read_text().replace("ttl = 30\nmax_answers = 1", "ttl = 60\nmax_answers = 1", 1)
    )
    tel.ctl("reload")
    until(lambda: metric(cnc.server, "gslb_sync_config_mismatch") == 1, 5, "mismatch counted")
    rows = {r["node"]: r for r in cnc.ctl("show", "sync")}
    assert (rows["tel-1"]["config_match"], rows["tel-1"]["generation"]) == (False, 2)
