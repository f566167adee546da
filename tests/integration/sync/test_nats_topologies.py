"""The sync group over NATS as it is run for redundancy and across data centers.

- One data center, three NATS servers in a JetStream cluster (`[sync]
  replicas = 3`, every node listing all three): the server a node is
  connected to crashes; the node reconnects to another, paths still
  replicate, and its answers never stop.
- Two data centers, each with its own NATS cluster, joined by gateways
  into a super-cluster (every node listing only its own data center's
  server): a path measured in CNC reaches the node in TEL, and TEL probes
  an LDNS that only ever asked CNC.
"""

from __future__ import annotations

import subprocess
import threading
from collections import Counter

import pytest

from tests.fakeldns import DelayBySource, ldns_thread
from tests.integration.conftest import ROOT
from tests.integration.natsserver import binary, cluster, gateways, needed, running
from tests.integration.sync.conftest import LDNS, SEED, STEADY, until, www

NEW = "127.0.0.54"
# A JetStream cluster elects its metadata leader some seconds after its
# servers start; a node's set-up retries meanwhile.
ELECTED = 40
RECOVERED = 60


def full(nodes) -> bool:
    return all(
        {r["node"]: r["connected"] for r in n.ctl("show", "sync")}
        == dict.fromkeys((m.name for m in nodes), True)
        for n in nodes
    )


def whole(nodes, within: float) -> float:
    """Wait for every node to see every other connected; the sync log lines
    of each in the failure."""
    try:
        took = until(lambda: full(nodes), within, "the group whole again")
    except AssertionError as exc:
        lines = [f"{n.name}: {line}" for n in nodes for line in n.server.log if "sync: " in line]
        raise AssertionError(f"{exc}\n{''.join(lines)}") from None
    return took


def server_of(node) -> str:
    """The NATS server `node` is connected to, as `gslbctl show sync` says."""
    [row] = [r for r in node.ctl("show", "sync") if r["self"]]
    return row["server"]


class Asking(threading.Thread):
    """Ask `server` for www from `source` every 20 ms until stopped (at most
    `limit` times): every answer counted, every failure kept."""

    def __init__(self, server, source: str = LDNS, limit: int = 3000) -> None:
        super().__init__(daemon=True)
        self.server, self.source, self.limit = server, source, limit
        self.answers: Counter[str] = Counter()
        self.failures: list[Exception] = []
        self.done = threading.Event()

    def run(self) -> None:
        for _ in range(self.limit):
            if self.done.wait(0.02):
                return
            try:
                self.answers[www(self.server, self.source)] += 1
            except Exception as exc:
                self.failures.append(exc)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)


def test_a_node_moves_to_another_server_when_its_server_crashes(make_node, ldns, tmp_path):
    needed()
    _, port = ldns
    with running(cluster(tmp_path / "nats", "cnc", 3)) as servers:
        urls = [s.url for s in servers]
        sync = "replicas = 3\nstale_after = 5\n"
        cnc = make_node("cnc-1", ["CNC"], port, urls, sync=sync, **STEADY)
        tel = make_node("tel-1", ["TEL"], port, urls[::-1], sync=sync, **STEADY)
        until(lambda: full((cnc, tel)), ELECTED, "both nodes connected through the cluster")
        www(cnc.server)
        until(lambda: www(cnc.server) == SEED.vs_tel, 15, "TEL for the first LDNS at cnc-1")
        until(lambda: set(tel.ldns()) == {"CNC", "TEL"}, 10, "both paths at tel-1")

        used = server_of(cnc)
        [crashed] = [s for s in servers if used == f"127.0.0.1:{s.port}"]
        asking = Asking(cnc.server)
        asking.start()
        crashed.kill()
        assert cnc.server.logged("sync: disconnected node=cnc-1", timeout=15)
        until(lambda: server_of(cnc) not in ("-", used), 30, "cnc-1 on another server")
        # Seconds: the feeds' consumers have the buckets' three replicas, so
        # the ones led by the crashed server elect a new leader, and new
        # ones are never left on it (gslb/sync/feed.py).
        whole((cnc, tel), RECOVERED)

        fake = DelayBySource({SEED.cnc_source: SEED.slow, SEED.tel_source: SEED.fast})
        with ldns_thread(fake, NEW, port):
            assert www(cnc.server, NEW) == SEED.vs_cnc
            until(lambda: www(cnc.server, NEW) == SEED.vs_tel, 15, "TEL for a new LDNS")
            until(lambda: set(tel.ldns(NEW)) == {"CNC", "TEL"}, 10, "its paths at tel-1")
            until(lambda: www(tel.server, NEW) == SEED.vs_tel, 5, "TEL at tel-1")
        asking.stop()
        assert asking.failures == []
        assert set(asking.answers) == {SEED.vs_tel} and sum(asking.answers.values()) > 50


def test_a_path_measured_in_one_datacenter_reaches_the_other_through_a_gateway(
    make_node, ldns, tmp_path
):
    needed()
    fake, port = ldns
    clusters = gateways(tmp_path / "nats", {"cnc": 1, "tel": 1})
    with running(clusters["cnc"]), running(clusters["tel"]):
        cnc = make_node("cnc-1", ["CNC"], port, [s.url for s in clusters["cnc"]], **STEADY)
        tel = make_node("tel-1", ["TEL"], port, [s.url for s in clusters["tel"]], **STEADY)
        until(lambda: full((cnc, tel)), ELECTED, "both nodes connected across the gateway")
        assert (server_of(cnc), server_of(tel)) == (
            f"127.0.0.1:{clusters['cnc'][0].port}",
            f"127.0.0.1:{clusters['tel'][0].port}",
        )
        assert www(cnc.server) == SEED.vs_cnc  # no path anywhere yet: topology
        until(lambda: www(cnc.server) == SEED.vs_tel, 15, "TEL at cnc-1")
        # tel-1 probed an LDNS that only asked cnc-1 (a probe request across
        # the gateway), and cnc-1's path reached tel-1 (the bucket's stream
        # lives in one cluster; the other reads and writes it through the gateway).
        assert {source for source, _ in fake.received} == {SEED.cnc_source, SEED.tel_source}
        until(lambda: set(tel.ldns()) == {"CNC", "TEL"}, 10, "CNC's path at tel-1")
        until(lambda: www(tel.server) == SEED.vs_tel, 5, "TEL at tel-1")


CONTRIB = ROOT / "contrib" / "sync-two-dc" / "nats"


@pytest.mark.parametrize("conf", sorted(p.name for p in CONTRIB.glob("*.conf")))
def test_the_examples_nats_configurations_are_valid(conf):
    """What the README points at: nats-server itself reads each file."""
    needed()
    exe = binary()
    assert exe is not None
    done = subprocess.run(
        [exe, "-t", "-c", str(CONTRIB / conf)], capture_output=True, text=True, timeout=30
    )
    assert (done.returncode, done.stdout + done.stderr) == (
        0, f"nats-server: configuration file {CONTRIB / conf} is valid\n"
    )  # fmt: skip
