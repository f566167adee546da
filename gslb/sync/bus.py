"""The connection to the NATS servers of the sync group.

Made in the background and remade after every loss, never awaited by
anything that serves: `connected` says whether a publish would reach the
bus now. Every (re)connection runs the `on_ready` callbacks (buckets made,
feeds resumed), and the client's own subscriptions (probe requests) are
restored by nats-py. The key-value buckets are JetStream streams with one
message kept per key. Bundles of paths and member changes are stored with
an acknowledgement (`store`, sent by gslb/sync/outbox.py). Heartbeats are
plain publishes (`publish`) to their bucket: one dropped while its stream
elects a leader is replaced by the next. Probe requests are plain NATS
messages, in no stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import nats
from nats.js.errors import NotFoundError

from gslb.model import SyncSettings

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)
RETRY = 1.0  # seconds between attempts while no server answers
# Seconds a JetStream request waits. Just after a server of a cluster
# crashed, a request can go unanswered (the cluster electing new leaders):
# the set-up is tried again soon, waiting 3, 6, 12, 24 s, then 3 s again...,
# so that making a consumer on a bucket of millions of keys (seconds on a
# loaded server) has its time too. Making a replicated consumer waits at
# least feed.ELECTION.
QUICK = 3.0
SLOW = 30.0
ACK_WAIT = 2.0  # seconds a stored publish waits for the stream's acknowledgement

Ready = Callable[["JetStreamContext"], Awaitable[None]]


class Bus:
    def __init__(self, settings: SyncSettings) -> None:
        self.settings = settings
        self.client: Client | None = None
        self.on_ready: list[Ready] = []
        self.counts: Counter[str] = Counter()  # connects, disconnects, errors
        self.up = False
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Task[None] | None = None
        self._warned: set[tuple[str, float]] = set()  # (bucket, max age) warned of

    @property
    def connected(self) -> bool:
        return self.up and self.client is not None and self.client.is_connected

    @property
    def server(self) -> str:
        url = self.client.connected_url if self.client is not None else None
        return "-" if url is None else f"{url.hostname}:{url.port}"

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect())

    async def _connect(self) -> None:
        while True:
            try:
                self.client = await nats.connect(
                    servers=list(self.settings.servers),
                    name=f"gslbd-{self.settings.node}",
                    no_echo=True,  # a node's own probe requests are not for itself
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=RETRY,  # type: ignore[arg-type]
                    connect_timeout=2,
                    # A lost server that closed the connection is seen at
                    # once; a silent one after 3 pings (30 s). Tighter, and a
                    # node reading a big bucket misses its pongs and reconnects.
                    ping_interval=10,
                    max_outstanding_pings=3,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                )
            except Exception as exc:  # no server answered: try again, forever
                self.counts["connect_failed"] += 1
                if self.counts["connect_failed"] == 1:
                    log.warning("sync: not connected servers=%s error=%s", self.servers, exc)
                await asyncio.sleep(RETRY)
                continue
            await self._reconnected()
            return

    @property
    def servers(self) -> str:
        return ",".join(self.settings.servers)

    async def _disconnected(self) -> None:
        if self.up:
            self.up = False
            self.counts["disconnects"] += 1
            log.warning("sync: disconnected node=%s", self.settings.node)

    async def _reconnected(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        self._ready = asyncio.create_task(self._setup())

    async def _setup(self) -> None:
        """Run the ready callbacks, retrying while the bus is there but not ready
        (JetStream still starting, a cluster electing its leader)."""
        attempt = 0
        while self.client is not None and not self.client.is_closed:
            if not self.client.is_connected:
                await asyncio.sleep(RETRY / 4)
                continue
            try:
                await self.client.jetstream(timeout=QUICK).account_info()  # JetStream answers
                js = self.client.jetstream(timeout=min(SLOW, QUICK * 2 ** (attempt % 4)))
                attempt += 1
                for ready in self.on_ready:
                    await ready(js)
            except Exception as exc:
                self.counts["setup_failed"] += 1
                log.warning("sync: not ready server=%s error=%r", self.server, exc)
                await asyncio.sleep(RETRY)
                continue
            self.up = True
            self.counts["connects"] += 1
            log.info("sync: connected node=%s server=%s", self.settings.node, self.server)
            return

    async def _error(self, exc: Exception) -> None:
        self.counts["errors"] += 1
        log.debug("sync: bus error=%r", exc)

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        assert self.client is not None
        await self.client.publish(subject, payload, headers=headers)

    async def store(self, subject: str, payload: bytes, msg_id: str) -> bool:
        """A JetStream publish: returns once the stream stored it (True: it
        had `msg_id` already, a resend of a message whose acknowledgement
        was lost); raises when not stored (no answer within ACK_WAIT, no
        responders, an error from the stream)."""
        if self.client is None:
            raise ConnectionError("no connection to the bus yet")
        js = self.client.jetstream(timeout=ACK_WAIT)
        ack = await js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})
        return bool(ack.duplicate)

    async def subscribe(self, subject: str, cb: Callable[[Any], Awaitable[None]]) -> None:
        assert self.client is not None
        await self.client.subscribe(subject, cb=cb)

    async def bucket(self, js: JetStreamContext, name: str, ttl: float = 0.0) -> None:
        """Make the key-value bucket `name` unless it is there (one value per
        key), its messages kept `ttl` seconds (0: for ever). One that is there
        keeps what it was made with (the first node's settings); if it keeps
        messages for over twice `ttl` (storage for nothing) or for less than
        `ttl` (a new node may miss what was written since the newest
        checkpoint), a warning says how to change it, once per bucket and
        max age (not again on every reconnection)."""
        assert self.client is not None
        try:
            info = await self.client.jetstream(timeout=QUICK).stream_info(f"KV_{name}")
            kept = info.config.max_age or 0.0  # seconds (nats-py converts)
            wrong = bool(ttl) and (not kept or kept > 2 * ttl or kept < ttl)
            if wrong and (name, kept) not in self._warned:
                self._warned.add((name, kept))
                log.warning(
                    "sync: bucket keeps messages %s than needed name=%s max_age=%s "
                    "wanted=%.0f (nats stream edit KV_%s --max-age %.0fs)",
                    "shorter" if kept and kept < ttl else "longer",
                    name,
                    f"{kept:.0f}" if kept else "forever",
                    ttl,
                    name,
                    ttl,
                )
        except NotFoundError:
            await js.create_key_value(
                bucket=name, history=1, ttl=ttl or None, replicas=self.settings.replicas
            )
            log.info("sync: bucket made name=%s replicas=%d", name, self.settings.replicas)

    async def stop(self) -> None:
        for task in (self._task, self._ready):
            if task is not None:
                task.cancel()
        if self.client is not None and not self.client.is_closed:
            with contextlib.suppress(Exception):  # closing anyway
                await asyncio.wait_for(self.client.flush(timeout=1), 2)
            await self.client.close()
