"""The sync group as gslbd holds it: the bus, and what flows over it.

Every `publish_interval` (0.2 s) one batch: paths merged from the bus are
published to the hot path as a new view (as the scheduler publishes its
own); then, when the bus is up, the waiting probe requests and the paths
measured here go out. Nothing here is awaited by the query path, and a
node whose bus is down goes on answering and probing from its own data
centers; what it measured meanwhile goes out when the bus comes back, and
the path feed resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gslb.model import SyncSettings
from gslb.probes.scheduler import Scheduler
from gslb.proximity import FrozenView
from gslb.sync import paths, requests
from gslb.sync.bus import Bus
from gslb.sync.feed import Feed
from gslb.sync.paths import PathReplica
from gslb.sync.requests import ProbeRequests

if TYPE_CHECKING:
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)


class SyncGroup:
    def __init__(
        self,
        settings: SyncSettings,
        scheduler: Scheduler,
        publish: Callable[[FrozenView], None],
    ) -> None:
        self.settings = settings
        self.scheduler = scheduler
        self.publish = publish
        self.bus = Bus(settings)
        self.paths = PathReplica(scheduler.table, lambda: scheduler.datacenters, scheduler.clock)
        self.requests = ProbeRequests(scheduler.offer, bound=scheduler.settings.queue_size)
        scheduler.announce = self.requests.announce
        self.path_feed = Feed(paths.BUCKET, self.paths.take)
        self.bus.on_ready.append(self._ready)
        self._subscribed = False
        self._task: asyncio.Task[None] | None = None

    async def _ready(self, js: JetStreamContext) -> None:
        await self.bus.bucket(js, paths.BUCKET, ttl=self.scheduler.settings.ldns_ttl)
        await self.path_feed.open(js)
        if not self._subscribed:  # nats-py renews plain subscriptions itself
            await self.bus.subscribe(requests.SUBJECT, self._request)
            self._subscribed = True

    async def _request(self, msg: Any) -> None:
        self.requests.take(msg.data)

    def start(self) -> None:
        log.info("sync: starting node=%s servers=%s", self.settings.node, self.bus.servers)
        self.bus.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.publish_interval)
            try:
                await self.flush()
            except Exception:  # the loop must outlive a bug in one batch
                log.exception("sync: batch failed")

    async def flush(self) -> None:
        view = self.paths.view()
        if view is not None:
            self.publish(view)
        if not self.bus.connected:
            return
        for payload in self.requests.batch():
            await self.bus.publish(requests.SUBJECT, payload)
        batch = self.paths.batch()
        for done, (subject, value) in enumerate(batch):
            try:
                await self.bus.publish(subject, value)
            except Exception as exc:
                log.warning("sync: publish failed paths=%d error=%r", len(batch) - done, exc)
                self.paths.unsent(batch[done:])
                return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        try:
            await self.flush()
        except Exception as exc:
            log.warning("sync: last batch not sent error=%r", exc)
        await self.bus.stop()
