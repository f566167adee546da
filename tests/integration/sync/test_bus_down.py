"""The bus goes down and comes back; a node restarts without its state file.

With NATS stopped both nodes keep answering every query and keep probing
from their own data centers; when it is back (same port, same store) they
catch up without a restart: what was measured meanwhile, and the probe
requests that waited, reach the other node. A node restarted without any
state file holds the group's paths within seconds, from the bucket.
"""

from __future__ import annotations

import time

from tests.fakeldns import DelayBySource, ldns_thread
from tests.integration.sync.conftest import CLIENT, PUBLISHED, SEED, STEADY, until, www


def connected(node, times: int = 1) -> bool:
    return sum(f"sync: connected node={node.name}" in line for line in node.server.log) >= times


def test_bus_down_answers_go_on_and_catch_up_after(make_node, nats_server, ldns):
    fake, port = ldns
    cnc = make_node("cnc-1", ["CNC"], port, [nats_server.url], **STEADY)
    tel = make_node("tel-1", ["TEL"], port, [nats_server.url], **STEADY)
    for node in (cnc, tel):
        until(lambda node=node: connected(node), 10, f"{node.name} connected")

    nats_server.stop()
    for node in (cnc, tel):
        assert node.server.logged(f"sync: disconnected node={node.name}", timeout=10)
    # Every query answered; a new LDNS is probed from CNC alone: topology
    # (CNC) answers until then, rtt with CNC's path only afterwards.
    during = "127.0.0.54"
    other = DelayBySource({SEED.cnc_source: SEED.slow, SEED.tel_source: SEED.fast}, default=None)
    with ldns_thread(other, during, port):
        for _ in range(20):
            assert www(cnc.server, during) == SEED.vs_cnc
            assert www(tel.server, CLIENT) == SEED.vs_cnc  # topology: CLIENT is never probed
        until(lambda: set(cnc.ldns(during)) == {"CNC"}, 5, "CNC's own path while down")
        assert {source for source, _ in other.received} == {SEED.cnc_source}

        nats_server.start()
        for node in (cnc, tel):
            until(lambda node=node: connected(node, 2), 15, f"{node.name} reconnected")
        # The waiting request reached TEL, which probed; its path reached CNC.
        until(lambda: set(cnc.ldns(during)) == {"CNC", "TEL"}, 10, "TEL's path after catch-up")
        until(lambda: www(cnc.server, during) == SEED.vs_tel, 2, "TEL answered, the view published")
        assert {source for source, _ in other.received} == {SEED.cnc_source, SEED.tel_source}

    # A new LDNS seen at one node after the bus is back: paths from the other.
    assert www(cnc.server) == SEED.vs_cnc
    until(lambda: www(cnc.server) == SEED.vs_tel, 10, "TEL answer for a new LDNS")
    until(lambda: set(tel.ldns()) == {"CNC", "TEL"}, 5, "CNC's path at TEL")
    assert {source for source, _ in fake.received} == {SEED.cnc_source, SEED.tel_source}


def test_a_node_without_state_bootstraps_from_the_group(make_node, nats_server, ldns):
    fake, port = ldns
    cnc = make_node("cnc-1", ["CNC"], port, [nats_server.url], **STEADY)
    tel = make_node("tel-1", ["TEL"], port, [nats_server.url], state=False, **STEADY)
    until(lambda: connected(cnc) and connected(tel), 10, "both connected")
    www(cnc.server)
    until(lambda: www(cnc.server) == SEED.vs_tel, 10, "TEL answer at CNC")
    until(lambda: set(tel.ldns()) == {"CNC", "TEL"}, 5, "both paths at TEL")
    assert tel.server.stop() == 0

    fake.delays.update(
        {SEED.cnc_source: None, SEED.tel_source: None}
    )  # no probe answers from now on
    again = make_node("tel-1", ["TEL"], port, [nats_server.url], state=False, **STEADY)
    until(lambda: connected(again), 10, "the new TEL connected")
    assert again.server.logged("sync: caught_up bucket=gslb_paths", timeout=5)
    assert set(again.ldns()) == {"CNC", "TEL"}
    time.sleep(PUBLISHED)
    assert www(again.server) == SEED.vs_tel  # its first query, from the group's paths
    assert SEED.ldns in {e["address"] for e in again.ctl("show", "ldns")}
