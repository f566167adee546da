"""Three nodes, one cut off from the bus: what each answers.

cnc-1 and tel-1 reach NATS directly; cnc-2 (a second node in CNC) through a
TCP forwarder that the test cuts, a partition. While cut:
- cnc-1 and tel-1 go on sharing: a new LDNS that asks cnc-1 gets both paths
  and the faster DC (TEL) at both, as with two nodes;
- cnc-2 keeps answering from what it held before (the LDNS it already knew:
  TEL) and probes new LDNS from CNC only, so a new LDNS that asks it is
  answered by topology (CNC) until its own probe, then by rtt over the one
  path it has (CNC): the answer of a standalone CNC node;
- each side shows the other as not connected once `stale_after` passed, and
  stops counting its health view.
When the partition heals, cnc-2 catches up without a restart.
"""

from __future__ import annotations

import pytest

from tests.fakeldns import DelayBySource, ldns_thread
from tests.integration.sync.conftest import SEED, STEADY, until, www
from tests.integration.tcpproxy import TcpProxy

NEW = "127.0.0.54"


@pytest.fixture
def proxy(nats_server):
    forwarder = TcpProxy(nats_server.port)
    try:
        yield forwarder
    finally:
        forwarder.close()


def connected(node, peer: str) -> bool:
    return {r["node"]: r["connected"] for r in node.ctl("show", "sync")}.get(peer, False)


def test_a_partitioned_node_answers_from_what_it_has(make_node, nats_server, proxy, ldns):
    _, port = ldns
    sync = "stale_after = 2\n"
    cnc1 = make_node("cnc-1", ["CNC"], port, [nats_server.url], sync=sync, **STEADY)
    tel1 = make_node("tel-1", ["TEL"], port, [nats_server.url], sync=sync, **STEADY)
    cnc2 = make_node(
        "cnc-2", ["CNC"], port, [f"nats://127.0.0.1:{proxy.port}"], sync=sync, **STEADY
    )
    nodes = (cnc1, tel1, cnc2)
    until(lambda: all(connected(n, p.name) for n in nodes for p in nodes), 15, "a full group")
    www(cnc1.server)
    until(lambda: www(cnc1.server) == SEED.vs_tel, 10, "TEL for the first LDNS")
    until(lambda: all(set(n.ldns()) == {"CNC", "TEL"} for n in nodes), 10, "paths everywhere")

    proxy.cut()
    assert cnc2.server.logged("sync: disconnected node=cnc-2", timeout=10)
    until(lambda: not connected(cnc1, "cnc-2") and not connected(cnc2, "cnc-1"), 10, "the cut seen")
    assert connected(cnc1, "tel-1")
    fake = DelayBySource({SEED.cnc_source: SEED.slow, SEED.tel_source: SEED.fast}, default=None)
    with ldns_thread(fake, NEW, port):
        assert www(cnc1.server, NEW) == SEED.vs_cnc
        until(
            lambda: www(cnc1.server, NEW) == SEED.vs_tel, 10, "TEL for a new LDNS on the bus side"
        )
        until(lambda: www(tel1.server, NEW) == SEED.vs_tel, 5, "and at tel-1")
        assert www(cnc2.server) == SEED.vs_tel  # the LDNS it knew: from what it held
        assert www(cnc2.server, NEW) == SEED.vs_cnc  # a new one: topology, then its own CNC path
        until(lambda: set(cnc2.ldns(NEW)) == {"CNC"}, 5, "cnc-2's own path")
        assert www(cnc2.server, NEW) == SEED.vs_cnc

        proxy.mend()
        assert cnc2.server.logged("sync: caught_up bucket=gslb_paths", timeout=15)
        until(lambda: set(cnc2.ldns(NEW)) == {"CNC", "TEL"}, 10, "cnc-2 caught up")
        until(lambda: www(cnc2.server, NEW) == SEED.vs_tel, 2, "TEL at cnc-2")
        until(lambda: connected(cnc1, "cnc-2") and connected(cnc2, "tel-1"), 10, "the group whole")
