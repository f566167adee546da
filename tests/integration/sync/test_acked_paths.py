"""Paths published while the paths stream elects a new leader are not lost.

Three NATS servers in a JetStream cluster, `[sync] replicas = 3`; node
cnc-1 probes from CNC, node reader-1 probes nothing and reads the group's
paths. The paths stream is led by a server neither node is connected to.
New LDNS ask cnc-1 at 100 a second, each probed (a closed port on loopback
answers), its path published in the next bundle; a third of the way in
the stream's leader is SIGKILLed. A plain publish made while the other two
elect a new leader is dropped by the cluster without a word; an
acknowledged one (gslb/sync/outbox.py) is sent again until stored. Every
path published reaches reader-1, exactly, and cnc-1 answers throughout.
"""

from __future__ import annotations

import asyncio
import json
import time

import nats

from tests.integration.natsserver import cluster, needed, running
from tests.integration.ops.helpers import metric
from tests.integration.sync.conftest import SEED, STEADY, until, www
from tests.integration.sync.test_nats_topologies import ELECTED, Asking, full, server_of

LDNS_COUNT = 600
RATE = 100.0  # new LDNS a second
STREAM = "KV_gslb_paths"


async def lead_elsewhere(url: str, names: dict[str, str], avoid: set[str]) -> str:
    """Step the paths stream's leader down until it is a server not in
    `avoid` (host:port); the name of that server."""
    client = await nats.connect(url, connect_timeout=2)
    js = client.jetstream(timeout=5)
    try:
        for _ in range(20):
            leader = None
            for _ in range(100):  # an election after each step down
                info = await js.stream_info(STREAM)
                leader = info.cluster.leader if info.cluster is not None else None
                if leader:
                    break
                await asyncio.sleep(0.1)
            if leader and names[leader] not in avoid:
                return leader
            reply = await client.request(f"$JS.API.STREAM.LEADER.STEPDOWN.{STREAM}", b"", 5)
            assert json.loads(reply.data).get("success"), reply.data
            await asyncio.sleep(0.5)
    finally:
        await client.close()
    raise AssertionError(f"the paths stream still led from {avoid} after 20 step downs")


def with_cnc_path(node) -> set[str]:
    entries = node.ctl("show", "ldns", "--limit", "50000")
    return {e["address"] for e in entries if any(p["datacenter"] == "CNC" for p in e["paths"])}


def test_every_path_published_while_the_streams_leader_crashes_reaches_the_other_node(
    make_node, ldns, tmp_path
):
    needed()
    _, port = ldns
    with running(cluster(tmp_path / "nats", "cnc", 3)) as servers:
        urls = [s.url for s in servers]
        names = {f"cnc-{i}": f"127.0.0.1:{s.port}" for i, s in enumerate(servers, 1)}
        sync = "replicas = 3\nstale_after = 5\n"
        probes = {**STEADY, "timeout": 1, "rate": 1000, "max_entries": 10_000}
        cnc = make_node("cnc-1", ["CNC"], port, urls, sync=sync, **probes)
        reader = make_node("reader-1", [], port, urls[::-1], sync=sync, **STEADY)
        until(lambda: full((cnc, reader)), ELECTED, "both nodes connected through the cluster")
        used = {server_of(cnc), server_of(reader)}
        leader = asyncio.run(lead_elsewhere(urls[0], names, used))
        [crashed] = [s for s in servers if names[leader] == f"127.0.0.1:{s.port}"]
        assert {server_of(cnc), server_of(reader)} == used  # still there: only the stream moves

        asking = Asking(cnc.server, source="127.0.0.1")  # topology: CNC, never probed
        asking.start()
        sources = [f"127.1.{i >> 8}.{i & 255}" for i in range(LDNS_COUNT)]
        answers = set()
        started = time.monotonic()
        for i, source in enumerate(sources):
            if i == LDNS_COUNT // 3:
                crashed.kill()
            answers.add(www(cnc.server, source))
            time.sleep(max(0.0, started + (i + 1) / RATE - time.monotonic()))
        assert answers <= {SEED.vs_cnc, SEED.vs_tel}

        # Every LDNS probed from CNC, every path stored, all read by reader-1.
        until(lambda: len(with_cnc_path(cnc)) == LDNS_COUNT, 30, "every new LDNS probed")

        def sent() -> bool:
            return (
                metric(cnc.server, "gslb_sync_waiting", what="paths") == 0
                and metric(cnc.server, "gslb_sync_waiting", what="unacked") == 0
            )

        until(sent, 60, "every bundle acknowledged")
        published = metric(cnc.server, "gslb_sync_events_total", event="paths_published")
        assert published == LDNS_COUNT
        until(lambda: len(with_cnc_path(reader)) == LDNS_COUNT, 30, "all the paths at reader-1")
        assert with_cnc_path(reader) == set(sources)
        assert metric(reader.server, "gslb_sync_events_total", event="paths_merged") == published
        # The crash did hit publishes: some bundles went out again.
        assert metric(cnc.server, "gslb_sync_events_total", event="bundles_retried") >= 1
        asking.stop()
        assert asking.failures == []
        assert set(asking.answers) == {SEED.vs_cnc} and sum(asking.answers.values()) > 100
