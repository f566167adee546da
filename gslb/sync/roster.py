"""The peer roster: each node's report, who is in the group and when last heard.

    $KV.gslb_nodes.<node>  ->  JSON report

Every `heartbeat` a node writes its report (single writer: its own key): its
data centers, config generation and hash, start time, the time of the
report, and its view of member health (gslb/sync/views.py). A peer whose
last report is older than `stale_after` is shown as not connected and its
view no longer counts. The config hash covers what must agree across the
group (data centers, servers, pools, wide IPs, regions, topology, zones,
monitors), not a node's own [probes], [sync], [control] or [server]: a
mismatch is shown by `gslbctl show sync` and counted in /metrics.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gslb.model import Config
from gslb.sync.views import View

log = logging.getLogger(__name__)
BUCKET = "gslb_nodes"


def config_hash(config: Config) -> str:
    """12 hex digits over the parts of the config the whole group must share."""
    shared = (
        config.datacenters,
        config.virtual_servers,
        config.pools,
        config.wideips,
        config.regions,
        config.topology,
        # Records by content: where they are written (file, line) may differ.
        tuple(
            (z.origin, [(r.name, r.rtype, r.ttl, r.rdata) for r in z.records]) for z in config.zones
        ),
        config.monitors,
    )
    return hashlib.sha256(repr(shared).encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Peer:
    report: dict[str, Any]
    heard: float  # when this node received it (its clock)

    @property
    def view(self) -> View:
        r = self.report
        return View(r["node"], tuple(r["datacenters"]), float(r["at"]), r.get("members", {}))


class Roster:
    def __init__(self, node: str, stale_after: float, clock: Callable[[], float] = time.time):
        self.node = node
        self.stale_after = stale_after
        self.clock = clock
        self.peers: dict[str, Peer] = {}
        self.counts: Counter[str] = Counter()  # reports sent and received, bad
        self.changed = False  # a peer's view changed since the last look
        self._stale: set[str] = set()

    def subject(self) -> str:
        return f"$KV.{BUCKET}.{self.node}"

    def take(self, key: str, value: bytes, deleted: bool) -> None:
        if key == self.node:
            return
        if deleted:
            self.peers.pop(key, None)
            self.changed = True
            return
        try:
            report = json.loads(value)
            peer = Peer(report, self.clock())
            view = peer.view
        except (ValueError, KeyError, TypeError):
            self.counts["bad"] += 1
            return
        old = self.peers.get(key)
        if old is None:
            log.info("sync: peer node=%s datacenters=%s", key, ",".join(view.datacenters))
        if old is None or old.view.members != view.members or not self.fresh(old):
            self.changed = True
        self.peers[key] = peer
        self.counts["received"] += 1

    def fresh(self, peer: Peer) -> bool:
        return self.clock() - float(peer.report["at"]) <= self.stale_after

    def views(self) -> list[View]:
        return [p.view for p in self.peers.values()]

    def went_stale(self) -> bool:
        """Whether a peer's view stopped counting since the last call (its
        members go back to this node's own view)."""
        stale = {name for name, p in self.peers.items() if not self.fresh(p)}
        gone = stale - self._stale
        self._stale = stale
        return bool(gone)

    def rows(self, own: dict[str, Any]) -> list[dict[str, Any]]:
        """`gslbctl show sync`: one row per node, this one first."""
        now = self.clock()
        rows = [self._row(own, now, now, own["config_hash"])]
        for name in sorted(self.peers):
            peer = self.peers[name]
            rows.append(self._row(peer.report, peer.heard, now, own["config_hash"]))
        return rows

    def _row(self, r: dict[str, Any], heard: float, now: float, mine: str) -> dict[str, Any]:
        at = float(r["at"])
        return {
            "node": r["node"],
            "self": r["node"] == self.node,
            "connected": now - at <= self.stale_after,
            "datacenters": ",".join(r["datacenters"]) or "-",
            "server": r.get("server", "-"),
            "last_heard": round(now - at, 1),
            "lag": round(heard - at, 3),
            "generation": r.get("generation"),
            "config_hash": r.get("config_hash"),
            "config_match": r.get("config_hash") == mine,
            "members_down": sum(1 for s in r.get("members", {}).values() if s == "down"),
            "unacked": r.get("unacked"),  # paths sent by it, not yet stored (None: older node)
        }

    def mismatches(self, mine: str) -> int:
        """Connected peers whose config hash differs from this node's."""
        return sum(
            1 for p in self.peers.values() if self.fresh(p) and p.report.get("config_hash") != mine
        )
