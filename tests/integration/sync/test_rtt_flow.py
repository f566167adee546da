"""The seed's RTT flow across two gslbd nodes, one per data center.

The LDNS asks only node CNC; CNC answers by topology and asks the group to
probe; node TEL probes the LDNS from TEL without ever being asked by it, CNC
from CNC; both hold both paths and both answer TEL (30 ms) rather than CNC
(150 ms). When the delays swap, both follow.
"""

from __future__ import annotations

import time

from tests.integration.ops.helpers import metric
from tests.integration.sync.conftest import PUBLISHED, SEED, until, www


def test_two_nodes_share_paths_and_answer_alike(make_node, nats_server, ldns):
    fake, port = ldns
    # Paths stay fresh for 10 s: the checks below take seconds on a loaded
    # machine, and nobody queries in between to have them re-probed.
    cnc = make_node("cnc-1", ["CNC"], port, [nats_server.url], path_ttl=10)
    tel = make_node("tel-1", ["TEL"], port, [nats_server.url], path_ttl=10)
    for node in (cnc, tel):
        assert node.server.logged(f"sync: connected node={node.name}", timeout=10)

    assert www(cnc.server) == SEED.vs_cnc  # no path data anywhere yet: topology decides
    until(lambda: www(cnc.server) == SEED.vs_tel, 10, "TEL answer at CNC")
    # TEL probed the LDNS, which never asked it anything.
    assert {source for source, _ in fake.received} == {SEED.cnc_source, SEED.tel_source}
    until(lambda: set(tel.ldns()) == {"CNC", "TEL"}, 5, "both paths at TEL")
    for node in (cnc, tel):
        paths = node.ldns()
        assert set(paths) == {"CNC", "TEL"}
        assert (
            paths["CNC"] >= SEED.slow * 1e6 * 0.9
            and SEED.fast * 1e6 * 0.9 <= paths["TEL"] < paths["CNC"]
        )
    time.sleep(PUBLISHED)  # the table holds them; the hot path's view within a batch
    assert www(tel.server) == SEED.vs_tel  # its first query: decided from the group's paths

    fake.delays.update({SEED.cnc_source: SEED.fast, SEED.tel_source: SEED.slow})  # the links change
    until(lambda: www(cnc.server) == SEED.vs_cnc, 15, "CNC answer at CNC after the swap")
    until(lambda: www(tel.server) == SEED.vs_cnc, 15, "CNC answer at TEL after the swap")


def test_each_node_probes_only_from_its_own_datacenters(make_node, nats_server, ldns):
    _, port = ldns
    cnc = make_node("cnc-1", ["CNC"], port, [nats_server.url])
    tel = make_node("tel-1", ["TEL"], port, [nats_server.url])
    for node in (cnc, tel):
        assert node.server.logged(f"sync: connected node={node.name}", timeout=10)
    www(cnc.server)
    until(lambda: www(cnc.server) == SEED.vs_tel, 10, "TEL answer at CNC")
    sent = {
        (node.name, dc): metric(node.server, "gslb_probes_total", datacenter=dc)
        for node in (cnc, tel)
        for dc in ("CNC", "TEL")
    }
    assert sent[("cnc-1", "TEL")] == sent[("tel-1", "CNC")] == 0, sent
    assert sent[("cnc-1", "CNC")] >= 1 and sent[("tel-1", "TEL")] >= 1, sent


def test_a_node_with_worker_processes_takes_part_alike(make_node, nats_server, ldns):
    # The workers answer and report who asked; the first process probes,
    # announces, merges the group's paths and sends the view to the workers.
    _, port = ldns
    workers = (("[server]\n", "[server]\nworkers = 2\n"),)
    cnc = make_node("cnc-1", ["CNC"], port, [nats_server.url], toml=workers, path_ttl=10)
    tel = make_node("tel-1", ["TEL"], port, [nats_server.url], path_ttl=10)
    for node in (cnc, tel):
        assert node.server.logged(f"sync: connected node={node.name}", timeout=10)
    assert www(cnc.server) == SEED.vs_cnc
    until(lambda: www(cnc.server) == SEED.vs_tel, 10, "TEL answer at CNC's workers")
    until(lambda: set(tel.ldns()) == {"CNC", "TEL"}, 5, "CNC's path at TEL")
