"""The sync group in /metrics (`gslb_sync_*`), built at scrape time.

gslb_sync_connected                      1 when the bus is up
gslb_sync_peers{state}                   peers heard of: connected | stale
gslb_sync_peer_last_heard_seconds{node}  age of each peer's last report
gslb_sync_config_mismatch                connected peers with another config hash
gslb_sync_waiting{what}                  paths | requests waiting for the bus,
                                         unacked: paths sent, not yet stored
gslb_sync_events_total{event}            connects, disconnects, paths published,
                                         merged, older, bundles acked, retried,
                                         duplicates, full, requests sent, received,
                                         dropped, admin applied, reports ...
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from gslb.sync.admin import AdminState
from gslb.sync.bus import Bus
from gslb.sync.outbox import Outbox
from gslb.sync.paths import PathReplica
from gslb.sync.requests import ProbeRequests
from gslb.sync.roster import Roster


def families(
    bus: Bus,
    roster: Roster,
    paths: PathReplica,
    requests: ProbeRequests,
    admin: AdminState,
    own_hash: str,
    outbox: Outbox,
) -> Iterable[Metric]:
    yield GaugeMetricFamily(
        "gslb_sync_connected", "Whether the sync group's bus is up.", int(bus.connected)
    )
    peers = GaugeMetricFamily("gslb_sync_peers", "Peers heard of, by state.", labels=["state"])
    fresh = sum(1 for p in roster.peers.values() if roster.fresh(p))
    peers.add_metric(["connected"], fresh)
    peers.add_metric(["stale"], len(roster.peers) - fresh)
    yield peers
    heard = GaugeMetricFamily(
        "gslb_sync_peer_last_heard_seconds", "Age of each peer's last report.", labels=["node"]
    )
    now = time.time()
    for name, peer in sorted(roster.peers.items()):
        heard.add_metric([name], max(0.0, now - float(peer.report["at"])))
    yield heard
    yield GaugeMetricFamily(
        "gslb_sync_config_mismatch",
        "Connected peers whose configuration differs from this node's.",
        roster.mismatches(own_hash),
    )
    waiting = GaugeMetricFamily(
        "gslb_sync_waiting", "What waits to go out on the bus.", labels=["what"]
    )
    waiting.add_metric(["paths"], paths.waiting)
    waiting.add_metric(["requests"], requests.waiting)
    waiting.add_metric(["unacked"], outbox.waiting)
    yield waiting
    events = CounterMetricFamily(
        "gslb_sync_events", "Sync group events and messages.", labels=["event"]
    )
    for prefix, counts in (
        ("bus", bus.counts),
        ("paths", paths.counts),
        ("bundles", outbox.counts),
        ("requests", requests.counts),
        ("reports", roster.counts),
        ("admin", admin.counts),
    ):
        for name, n in sorted(counts.items()):
            events.add_metric([f"{prefix}_{name}"], n)
    yield events
