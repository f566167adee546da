"""Health views across the group, members disabled group-wide, `show sync`, metrics.

vs_cnc (data center CNC) has an external monitor that is up at a node when
a file named after that node's gslbd PID exists, so each node can be made to
see it differently. Queries come from 127.0.0.1, which [probes] deny keeps unprobed:
topology decides: CNC when vs_cnc is available, else TEL.
"""

from __future__ import annotations

import itertools
import re

import pytest

from tests.integration.ops.helpers import ctl, metric
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


def views_of(node, member: str) -> dict:
    """`gslbctl show members --json`: the member's row, its views by node."""
    [row] = [m for m in node.ctl("show", "members") if m["name"] == member]
    return {**row, "views": {v.pop("node"): v for v in row["views"]}}


def text_row(node, member: str) -> list[str]:
    """`gslbctl show members` as printed: the member's line, by column."""
    done = ctl(None, "show", "members", socket=node.socket)
    assert done.returncode == 0, done.stderr
    head, *lines = done.stdout.splitlines()
    [line] = [line for line in lines if line.startswith(member + " ")]
    starts = [m.start() for m in re.finditer(r"\S+", head)] + [len(line)]
    cells = {head[a:b].strip(): line[a:b].strip() for a, b in itertools.pairwise(starts)}
    return [cells[c] for c in ("STATE", "GROUP", "RULE", "VIEWS")]


def test_show_members_shows_each_nodes_view(pair, tmp_path):
    cnc, tel = pair
    see_up(tmp_path, tel, True)  # tel-1's checks: up; cnc-1's: down, and cnc-1 stands in CNC
    seen = lambda: {n: v["state"] for n, v in views_of(tel, "vs_cnc")["views"].items()}  # noqa: E731
    until(lambda: seen() == {"tel-1": "up", "cnc-1": "down"}, 10, "both views at TEL")
    # The answers follow at the next health snapshot (the 0.2 s batch).
    until(lambda: answer(tel) == SEED.vs_tel, 2, "vs_cnc down at TEL, by CNC's view")
    row = views_of(tel, "vs_cnc")
    ages = {name: v.pop("age") for name, v in row["views"].items()}
    assert (row["state"], row["group"], row["rule"], row["available"]) == (
        "up", "down", "datacenter CNC", False
    )  # fmt: skip
    assert row["views"] == {
        "tel-1": {"datacenters": "TEL", "state": "up", "stale": False, "counted": False},
        "cnc-1": {"datacenters": "CNC", "state": "down", "stale": False, "counted": True},
    }
    assert ages["tel-1"] == 0.0 and 0.0 <= ages["cnc-1"] < 2
    state, group, rule, views = text_row(tel, "vs_cnc")
    assert (state, group, rule) == ("up", "down", "datacenter CNC")
    assert re.fullmatch(r"tel-1=up/0\.0s cnc-1=down/\d\.\ds\*", views), views
    # vs_tel: no monitor, up everywhere; tel-1 stands in TEL and decides it.
    tel_row = views_of(tel, "vs_tel")
    assert (tel_row["group"], tel_row["rule"]) == ("up", "datacenter TEL")
    assert {n: (v["state"], v["counted"]) for n, v in tel_row["views"].items()} == {
        "tel-1": ("up", True),
        "cnc-1": ("up", False),
    }

    assert cnc.server.stop() == 0  # silent: its view goes stale after 2 s, unknown, never down
    until(lambda: answer(tel) == SEED.vs_cnc, 10, "TEL back on its own view")
    row = views_of(tel, "vs_cnc")
    assert (row["group"], row["rule"]) == ("up", "all")  # nobody fresh stands in CNC
    cnc_view = row["views"]["cnc-1"]
    assert (cnc_view["state"], cnc_view["stale"], cnc_view["counted"]) == ("unknown", True, False)
    assert cnc_view["age"] > 2
    *_, views = text_row(tel, "vs_cnc")
    assert re.fullmatch(r"tel-1=up/0\.0s\* cnc-1=unknown/\d+\.\ds\(stale\)", views), views


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


def test_show_sync_and_metrics(pair, nats_server, tmp_path):
    cnc, tel = pair
    until(lambda: len(cnc.ctl("show", "sync")) == 2, 5, "both nodes in CNC's roster")
    rows = {r["node"]: r for r in cnc.ctl("show", "sync")}
    assert {n: (r["connected"], r["datacenters"], r["config_match"]) for n, r in rows.items()} == {
        "cnc-1": (True, "CNC", True),
        "tel-1": (True, "TEL", True),
    }
    assert rows["cnc-1"]["self"] and not rows["tel-1"]["self"]
    # The NATS server each node is connected to, as it reports it.
    assert {n: r["server"] for n, r in rows.items()} == dict.fromkeys(
        rows, f"127.0.0.1:{nats_server.port}"
    )
    assert rows["tel-1"]["last_heard"] < 3
    done = ctl(None, "show", "sync", socket=cnc.socket)  # as printed
    assert done.stdout.split("\n", 1)[0].split() == [
        "NODE", "SELF", "CONNECTED", "DATACENTERS", "SERVER", "LAST_HEARD", "LAG",
        "GENERATION", "CONFIG_HASH", "CONFIG_MATCH", "MEMBERS_DOWN", "UNACKED",
    ]  # fmt: skip
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
