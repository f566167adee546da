"""What this node writes to the group's buckets, in order, each until the bus acknowledged it.

A plain NATS publish is fire and forget: in a NATS cluster one made while
the paths bucket's stream elects a new leader (the server leading it
crashed) is dropped without a word, and its paths would come back only
with their LDNS's next probe round (hours). So a bundle goes out as a
JetStream publish, which the stream's leader answers once it stored it (on
a majority of its replicas): `Bus.store`. The 0.2 s batch only puts its
bundles here (`put`, never waiting); a task of this outbox sends them, one
at a time and in order, each until acknowledged: after a timeout, no
responders or an error, the same bundle again after a back-off (BACKOFF
seconds doubling up to BACKOFF_MAX), never the next one before it.

In order because a reader replays a writer's bundles in the stream's order:
a path's newer probe round wins whichever comes first, but a withdrawal
has no round, so an older bundle stored after a newer one could withdraw a
path measured since, or bring back one withdrawn since. One at a time costs
a round trip a bundle, one bundle per data center per batch: nothing on a
LAN, 5 a second at 200 ms (2 048 paths each). A bundle stored whose
acknowledgement was lost is sent again, and the stream drops the copy
(`Nats-Msg-Id`: the subject and a hash of the payload, within the stream's
duplicate window of 2 minutes): counted as `duplicates`. Members disabled
or enabled by hand (gslb/sync/admin.py) go the same way, in the same
order: an operator's change is not lost to an election either.

Bounded: while LIMIT bundles wait here the batch takes no more paths from
the table (`fill`), and those stay noted in the table's set of paths to
publish, one a LDNS and data center, to go out with their newest value
when there is room. Nothing is dropped however long the bus is away or
unable to store (a cluster without a majority), and what waits is bounded
by the table itself. What is still lost: the bundles of a node stopped
before they were acknowledged (gslbd's stop waits up to its `within`
seconds for them, a warning gives the paths left), and what a node
measured in the last batch before it crashed; those paths come back with
their LDNS's next probe round.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable

from gslb.sync.paths import PER_BUNDLE, PathReplica

log = logging.getLogger(__name__)
LIMIT = 64  # bundles waiting at most (about 6 MB at PER_BUNDLE paths each)
BACKOFF = 0.25  # seconds before the first resend of a bundle not acknowledged
BACKOFF_MAX = 8.0
IDLE = 0.25  # seconds between two looks at the bus while it is away
Done = Callable[[], None]

# subject, payload, message id -> whether the stream had it already (a
# resend); raises when it is not stored (timeout, no responders, an error).
Store = Callable[[str, bytes, str], Awaitable[bool]]


class Outbox:
    def __init__(self, store: Store, connected: Callable[[], bool], limit: int = LIMIT) -> None:
        self.store = store
        self.connected = connected
        self.limit = limit
        self.counts: Counter[str] = Counter()  # acked, duplicates, retried, full
        # subject, payload, paths in it, what to call once it is stored
        self._queue: deque[tuple[str, bytes, int, Done | None]] = deque()
        self._waiting = 0  # paths in the queue
        self._put = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def fill(self, replica: PathReplica) -> None:
        """The batch (gslb/sync/group.py): the paths measured here since the
        last one, as many as there is room for, as bundles to send."""
        room = self.limit - len(self._queue)
        if room <= 0:
            if replica.waiting:
                self.counts["full"] += 1  # they wait in the table, newest value each
            return
        for subject, bundle, part in replica.bundles(replica.batch(room * PER_BUNDLE)):
            self.put(subject, bundle, len(part))

    @property
    def waiting(self) -> int:
        """Paths put here and not yet acknowledged."""
        return self._waiting

    def put(self, subject: str, payload: bytes, paths: int = 0, done: Done | None = None) -> None:
        """`payload` to send to `subject` after what was put before (`paths`:
        the paths in it; `done`: called once it is stored)."""
        self._queue.append((subject, payload, paths, done))
        self._waiting += paths
        self._put.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._send())

    async def _send(self) -> None:
        backoff, failed = BACKOFF, 0
        while True:
            if not self._queue:
                self._put.clear()
                await self._put.wait()
                continue
            if not self.connected():  # reconnecting: nats-py would only buffer it
                await asyncio.sleep(IDLE)
                continue
            subject, payload, paths, done = self._queue[0]
            try:
                digest = hashlib.blake2b(payload, digest_size=8).hexdigest()
                duplicate = await self.store(subject, payload, f"{subject}/{digest}")
            except Exception as exc:
                failed += 1
                self.counts["retried"] += 1
                if failed == 1:
                    log.warning(
                        "sync: not acknowledged subject=%s waiting=%d error=%r",
                        subject,
                        self._waiting,
                        exc,
                    )
                await asyncio.sleep(backoff)
                backoff = min(BACKOFF_MAX, 2 * backoff)
                continue
            self._queue.popleft()
            self._waiting -= paths
            self.counts["duplicates" if duplicate else "acked"] += 1
            if failed:
                log.info("sync: acknowledged again after retries=%d", failed)
            backoff, failed = BACKOFF, 0
            if done is not None:
                done()

    async def stop(self, within: float) -> None:
        """Wait up to `within` seconds for what waits to be acknowledged, then
        stop sending; what is left is lost (a warning says how many paths)."""
        if self._task is None:
            return
        for _ in range(max(1, int(within / 0.05))):
            if not self._queue:
                break
            await asyncio.sleep(0.05)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        if self._queue:
            log.warning(
                "sync: not acknowledged at stop messages=%d paths=%d",
                len(self._queue),
                self._waiting,
            )
