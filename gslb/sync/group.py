"""The sync group as gslbd holds it: the bus, and what flows over it.

Every `publish_interval` (0.2 s) one batch: paths merged from the bus are
published to the hot path as a new view (as the scheduler publishes its
own), and health is published again when a peer's view changed; then, when
the bus is up, the waiting probe requests go out, and member changes and
the paths measured here go to the outbox, whose own task sends each until
the bus stored it (gslb/sync/outbox.py). Every `heartbeat` this node's
report (roster, with its view of member health) goes out, a plain publish:
one lost is replaced by the next, and a peer counts as stale only after
`stale_after`. Nothing here is awaited by the query
path, and a node whose bus is down goes on answering and probing from its
own data centers; what it measured meanwhile goes out when the bus comes
back, and the feeds resume where they stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from gslb import __version__
from gslb.health import Health
from gslb.model import Config, SyncSettings
from gslb.monitors.runner import MonitorRunner, UnknownMember
from gslb.probes.scheduler import Scheduler
from gslb.proximity import FrozenView
from gslb.snapshot import SnapshotHolder
from gslb.sync import admin, paths, requests, roster
from gslb.sync.admin import AdminState
from gslb.sync.bus import SLOW, Bus
from gslb.sync.checkpoint import Checkpoints
from gslb.sync.feed import Feed
from gslb.sync.metrics import families
from gslb.sync.outbox import Outbox
from gslb.sync.paths import PathReplica
from gslb.sync.requests import ProbeRequests
from gslb.sync.roster import Roster, config_hash
from gslb.sync.views import View, combine, explain, own_members

if TYPE_CHECKING:
    from nats.js import JetStreamContext
    from prometheus_client.metrics_core import Metric

log = logging.getLogger(__name__)
CHECKPOINT_CHECK = 1.0  # seconds between two looks at whether a checkpoint is due
STOP_WAIT = 2.0  # seconds a stopping node waits for its last paths to be stored


class Node(Protocol):
    """What the group needs of the gslbd it runs in."""

    def current(self) -> tuple[Config, int]:
        """The config being served and its generation."""

    def own_health(self, config: Config) -> Health:
        """This node's monitors' verdict, before the group's views."""

    def republish_health(self) -> None:
        """Publish health again (the group's views changed)."""

    def apply_admin(self, member: str, disabled: bool) -> None:
        """A member disabled or enabled by hand at another node."""


class ServerNode:
    """The `Node` of a gslbd: its snapshot holder, monitors and saved state."""

    def __init__(
        self, holder: SnapshotHolder, monitors: MonitorRunner, save: Callable[[], None]
    ) -> None:
        self.holder, self.monitors, self.save = holder, monitors, save

    def current(self) -> tuple[Config, int]:
        snapshot = self.holder.current
        return snapshot.config, snapshot.generation

    def own_health(self, config: Config) -> Health:
        return self.monitors.own_health(config)

    def republish_health(self) -> None:
        self.monitors.publish()

    def apply_admin(self, member: str, disabled: bool) -> None:
        try:
            self.monitors.set_disabled(member, disabled)
        except UnknownMember:
            log.warning("member: name=%s not in this node's config", member)
            return
        self.save()


class SyncGroup:
    def __init__(
        self,
        settings: SyncSettings,
        scheduler: Scheduler,
        publish: Callable[[FrozenView], None],
        node: Node,
    ) -> None:
        self.settings = settings
        self.scheduler = scheduler
        self.publish = publish
        self.node = node
        self.started = time.time()
        self.bus = Bus(settings)
        self.paths = PathReplica(
            scheduler.table,
            lambda: scheduler.datacenters,
            scheduler.clock,
            own=lambda: {dc for dc, _ in scheduler.vantages},
        )
        self.checkpoints = Checkpoints(
            settings,
            scheduler.table,
            lambda: scheduler.datacenters,
            scheduler.clock,
            counts=self.paths.counts,  # gslb_sync_events{event="paths_checkpoint_*"}
        )
        self.paths.on_withdrawn = self.checkpoints.withdrawn
        self.outbox = Outbox(self.bus.store, lambda: self.bus.connected)
        self.requests = ProbeRequests(scheduler.offer, bound=scheduler.settings.queue_size)
        scheduler.announce = self.requests.announce
        self.roster = Roster(settings.node, settings.stale_after)
        self.admin = AdminState(settings.node, node.apply_admin)
        self.feeds = (  # opened last to first
            Feed(paths.BUCKET, self.paths.take),
            Feed(roster.BUCKET, self.roster.take),
            Feed(admin.BUCKET, self.admin.take),
        )
        self.bus.on_ready.append(self._ready)
        self._subscribed = False
        self._hash: tuple[int, str] = (-1, "")
        self._tasks: list[asyncio.Task[None]] = []

    async def _ready(self, js: JetStreamContext) -> None:
        # The paths feed last: at a bootstrap it floods the connection for a
        # while, and a JetStream request behind that flood would time out and
        # make the whole set-up start over.
        probes = self.scheduler.settings
        keep = paths.retention(probes.ldns_ttl, probes.interval, self.settings.checkpoint_age)
        await self.bus.bucket(js, paths.BUCKET, ttl=keep)
        await self.bus.bucket(js, roster.BUCKET)
        await self.bus.bucket(js, admin.BUCKET)
        if not self._subscribed:  # nats-py renews plain subscriptions itself
            await self.bus.subscribe(requests.SUBJECT, self._request)
            self._subscribed = True
        paths_feed = self.feeds[0]
        if not paths_feed.last and self.checkpoints.loading is None:
            # The first read of the paths since this process started: from
            # the newest checkpoint's revision on, not the bucket's start.
            paths_feed.last = await self.checkpoints.load(js, await self._stream(js))
        for feed in reversed(self.feeds):
            assert self.bus.client is not None
            await feed.open(js, self.bus.client)

    @staticmethod
    async def _stream(js: JetStreamContext) -> str:
        """The paths bucket's stream, by its creation time: a checkpoint's
        revision means nothing in a bucket made anew."""
        info = await js.stream_info(f"KV_{paths.BUCKET}")
        return "" if info.created is None else info.created.isoformat()

    async def _request(self, msg: Any) -> None:
        self.requests.take(msg.data)

    def start(self) -> None:
        log.info("sync: starting node=%s servers=%s", self.settings.node, self.bus.servers)
        self.bus.start()
        self.outbox.start()
        self._tasks = [
            asyncio.create_task(self._every(self.settings.publish_interval, self.flush)),
            asyncio.create_task(self._every(self.settings.heartbeat, self.heartbeat)),
            asyncio.create_task(self._every(CHECKPOINT_CHECK, self.checkpoint)),
        ]

    @staticmethod
    async def _every(seconds: float, work: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except Exception:  # the loop must outlive a bug in one round
                log.exception("sync: round failed")

    # -- health ---------------------------------------------------------------

    def combine_health(self, config: Config, own: Health) -> Health:
        """MonitorRunner.combine: the group's views over this node's own."""
        now = time.time()
        mine = View(self.settings.node, self.vantages(), now, own_members(config, own))
        return combine(config, own, mine, self.roster.views(), now, self.settings.stale_after)

    def member_views(self, config: Config) -> dict[str, dict[str, Any]]:
        """`gslbctl show members`: per member, the group's state and each node's view."""
        now = time.time()
        own = own_members(config, self.node.own_health(config))
        mine = View(self.settings.node, self.vantages(), now, own)
        return explain(config, mine, self.roster.views(), now, self.settings.stale_after)

    def vantages(self) -> tuple[str, ...]:
        names = self.scheduler.datacenters
        return tuple(names[dc] for dc, _ in self.scheduler.vantages if dc < len(names))

    def report(self) -> dict[str, Any]:
        config, generation = self.node.current()
        if self._hash[0] != generation:
            self._hash = (generation, config_hash(config))
        return {
            "node": self.settings.node,
            "datacenters": list(self.vantages()),
            "generation": generation,
            "config_hash": self._hash[1],
            "version": __version__,
            "server": self.bus.server,  # the NATS server it is connected to
            "unacked": self.outbox.waiting,  # paths sent, not yet stored
            "started": self.started,
            "at": time.time(),
            "members": own_members(config, self.node.own_health(config)),
        }

    # -- batches ----------------------------------------------------------------

    async def heartbeat(self) -> None:
        if self.roster.went_stale():
            self.node.republish_health()
        if self.bus.connected:
            await self.bus.publish(self.roster.subject(), json.dumps(self.report()).encode())
            self.roster.counts["sent"] += 1

    async def flush(self) -> None:
        view = self.paths.view()
        if view is not None:
            self.publish(view)
        if self.roster.changed:
            self.roster.changed = False
            self.node.republish_health()
        if not self.bus.connected:
            return
        for payload in self.requests.batch():
            await self.bus.publish(requests.SUBJECT, payload)
        for subject, value in self.admin.outgoing():
            self.outbox.put(subject, value, done=self.admin.sent)
        self.outbox.fill(self.paths)  # sent, and resent until stored, by its own task

    async def checkpoint(self) -> None:
        """This node's checkpoint of the group's paths, when one is due."""
        feed, client = self.feeds[0], self.bus.client
        if not (self.bus.connected and feed.caught_up and client is not None):
            return
        if self.checkpoints.due(feed.last):
            js = client.jetstream(timeout=SLOW)
            await self.checkpoints.write(js, feed.last, await self._stream(js))

    def set_member_disabled(self, member: str, disabled: bool) -> None:
        """`gslbctl member disable|enable` here: for the whole group."""
        self.admin.set(member, disabled)

    # -- the operator's side ------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """`gslbctl show sync`: this node and every peer it has heard of."""
        own = self.report()
        rows = self.roster.rows(own)
        rows[0]["connected"] = self.bus.connected
        rows[0]["lag"] = 0.0
        return rows

    def metrics(self) -> Iterable[Metric]:
        """The `gslb_sync_*` families (gslb/sync/metrics.py), made now."""
        own_hash = self.report()["config_hash"]
        return families(
            self.bus, self.roster, self.paths, self.requests, self.admin, own_hash, self.outbox
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.checkpoints.loading is not None:
            self.checkpoints.loading.cancel()  # a merge still going: the rest is not needed
        try:
            await self.flush()
        except Exception as exc:
            log.warning("sync: last batch not sent error=%r", exc)
        await self.outbox.stop(within=STOP_WAIT)
        for feed in self.feeds:
            await feed.close()
        await self.bus.stop()
