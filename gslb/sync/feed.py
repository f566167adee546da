"""A key-value bucket read in order: every key's latest value, then each change.

Read with a pull consumer, `BATCH` messages at a time: the node asks for
more when it has taken the last ones, so a bucket of millions of keys never
piles up in the client (a push consumer outran it and dropped messages),
and the event loop gets a turn between batches (the queries go on). The
pull requests are JetStream's own (`CONSUMER.MSG.NEXT`, a batch and an
expiry) answered to an inbox this feed subscribes to, the messages taken in
the subscription's callback: nats-py's `fetch` made a task and a timer per
message, two thirds of what a message cost.
The first read of a bucket takes all of it: a bucket keeps one message per
key, so that is every key's latest value (the group's state: how a new node
bootstraps). After the bus was lost and
came back it resumes after the last stream sequence taken, so a node catches
up with what changed meanwhile, not with the whole bucket; if the bucket was
made anew (its sequence went back), it starts over. `caught_up` is set once
the messages that were in the bucket when reading (re)started are taken.
The consumer has as many replicas as the bucket (`[sync] replicas`): in a
NATS cluster a consumer of one replica lives on one server of the bucket's,
and when that server crashes the consumer goes with it; worse, nats-server
2.9 keeps placing new one-replica consumers on the crashed server while it
is down (one in three of a three-server cluster's, never answered), so a
node could spend minutes making consumers that never deliver. A replicated
consumer elects a new leader among the servers left (seconds) and goes on
delivering; making one waits for that election (up to about 7 s with a
server down on a loaded machine), so it is given ELECTION seconds.
While no message comes, the feed checks every CHECK seconds that its
consumer still answers: when it does not (removed, or unanswered twice in
a row while the node's own connection, to another server, stays up) the
feed reads again after the last message taken, on a new consumer.
One (re)open at a time: the set-up's (on every (re)connection) and the
feed's own re-open (its consumer lost) can come together; without a lock
both made a consumer and a pull task, and the one not kept went on pulling
for ever. Now the later waits for the first, and a re-open that an open
overtook meanwhile is dropped. The consumer a (re)open replaces is deleted
in the background (one left behind by an open cancelled half-way, when
the connection was lost again, goes after `inactive_threshold`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)
DELETED = frozenset({"DEL", "PURGE"})
BATCH = 512  # messages asked for at a time
WAIT = 0.5  # seconds a request waits for new messages (the feed's latency when idle)
RETRY = 1.0  # seconds between requests while the bus is away
CHECK = 5.0  # seconds without a message between two checks that the consumer exists
ELECTION = 15.0  # seconds at least that making a replicated consumer may take
# Bytes of a message after which the event loop gets a turn: nats-py runs
# the callbacks of messages already read one after another, and a bundle of
# 2 048 paths takes about 6 ms to merge (a one-path message 10 µs).
BIG = 4096

# key (after the bucket's prefix), value, deleted?
Take = Callable[[str, bytes, bool], None]


def stream_sequence(reply: str) -> int:
    """The stream sequence in a JetStream delivery's reply subject, without
    nats-py's metadata object (a cost per message when a bucket is read whole):
    $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>,
    or with <domain>.<account hash> after ACK (and a token at the end)."""
    tokens = reply.split(".")
    return int(tokens[5] if len(tokens) == 9 else tokens[7])


class Feed:
    def __init__(self, bucket: str, take: Take) -> None:
        self.bucket = bucket
        self.take = take
        self.prefix = f"$KV.{bucket}."
        self.last = 0  # stream sequence of the last message taken
        self.target = 0  # the bucket's last sequence when reading (re)started
        self.caught_up = False
        self.started = 0.0
        self.taken = 0  # messages since reading (re)started
        self.consumer = ""  # the name of the consumer read
        self._sub: Any = None  # the inbox the consumer delivers to
        self._task: asyncio.Task[None] | None = None
        self._owed = 0  # messages the pending request may still deliver
        self._answered = asyncio.Event()  # the pending request is done with
        self._took = False  # a message taken since the request went out
        self._js: JetStreamContext | None = None
        self._client: Client | None = None
        self._reopening: asyncio.Task[None] | None = None
        self._unanswered = 0  # consumer checks in a row without an answer
        self._opening = asyncio.Lock()  # one (re)open at a time
        self._opened = 0  # (re)opens done: a re-open overtaken by one is dropped
        self._retired: set[asyncio.Task[None]] = set()  # consumers being deleted

    async def open(self, js: JetStreamContext, client: Client) -> None:
        """(Re)start reading, after the last message taken when there is one."""
        async with self._opening:
            await self._open(js, client)

    async def _open(self, js: JetStreamContext, client: Client) -> None:
        await self.close()
        self._opened += 1
        if self.consumer:
            self._retire(js, self.consumer)
            self.consumer = ""
        self._js, self._client, self._unanswered = js, client, 0
        info = await js.stream_info(f"KV_{self.bucket}")
        state, replicas = info.state, info.config.num_replicas or 1
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE, inactive_threshold=30.0, num_replicas=replicas
        )
        if self.last and state.last_seq >= self.last:
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = self.last + 1
        else:
            # Every bucket keeps one message per key, so the whole stream is
            # every key's latest value: ALL reads the same as LAST_PER_SUBJECT
            # without the server first listing millions of subjects.
            self.last = 0
            config.deliver_policy = DeliverPolicy.ALL
        self.target, self.taken, self.started = state.last_seq, 0, time.monotonic()
        self.caught_up = False
        if self.last >= self.target:
            self._caught_up()
        stream = f"KV_{self.bucket}"
        # A replicated consumer answers once its servers elected its leader.
        wait = max(getattr(js, "_timeout", 0.0), ELECTION) if replicas > 1 else None
        consumer = (await js.add_consumer(stream, config, timeout=wait)).name
        assert consumer is not None
        self.consumer = consumer
        inbox = client.new_inbox()
        self._sub = await client.subscribe(inbox, cb=self._delivered)
        self._task = asyncio.create_task(self._pull(js, client, stream, consumer, inbox))

    def _retire(self, js: JetStreamContext, consumer: str) -> None:
        """Delete a consumer no longer read, in the background (its server
        may be the one gone: no set-up waits on it)."""

        async def delete() -> None:
            with contextlib.suppress(Exception):  # gone already, or the bus away
                await js.delete_consumer(f"KV_{self.bucket}", consumer)

        task = asyncio.create_task(delete())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def _pull(
        self, js: JetStreamContext, client: Client, stream: str, consumer: str, inbox: str
    ) -> None:
        prefix = getattr(js, "_prefix", "$JS.API")  # $JS.<domain>.API with a domain
        next_subject = f"{prefix}.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        request = json.dumps({"batch": BATCH, "expires": int(WAIT * 1e9)}).encode()
        heard = time.monotonic()  # the last message taken, or the last check
        while True:
            self._owed, self._took = BATCH, False
            self._answered.clear()
            asked = time.monotonic()
            try:
                await client.publish(next_subject, request, reply=inbox)
                await asyncio.wait_for(self._answered.wait(), WAIT + RETRY)
            except TimeoutError:
                pass  # not even the request's expiry came back: idle, below
            except Exception as exc:  # the bus went away: `open` starts over when it is back
                log.debug("sync: pull failed bucket=%s error=%r", self.bucket, exc)
                await asyncio.sleep(RETRY)
                continue
            now = time.monotonic()
            if self._took:
                heard = now
            else:
                if now - asked < WAIT / 2:  # a status at once (no responders): no busy loop
                    await asyncio.sleep(WAIT / 2)
                if now - heard >= CHECK:
                    heard = now
                    if await self._lost(js, stream, consumer):
                        self._reopening = asyncio.create_task(self._reopen(self._opened))
                        return
            await asyncio.sleep(0)  # the queries' turn between two batches

    async def _delivered(self, msg: Msg) -> None:
        if not msg.reply:  # a status: no messages now (404), request expired (408), ...
            self._answered.set()
            return
        self._took = True
        self._message(msg)
        self._owed -= 1
        if self._owed <= 0:
            self._answered.set()
        if len(msg.data) >= BIG:  # a bundle: milliseconds; the queries' turn after it
            await asyncio.sleep(0)

    async def _lost(self, js: JetStreamContext, stream: str, consumer: str) -> bool:
        """Whether the consumer is gone: removed, or unanswered twice in a row
        (its server crashed; a consumer is kept by one server of a cluster)."""
        try:
            await js.consumer_info(stream, consumer)
        except NotFoundError:
            lost = True
        except (TimeoutError, nats.errors.TimeoutError):
            self._unanswered += 1
            lost = self._unanswered >= 2
        except Exception:  # the bus away: the set-up opens the feed again when it is back
            return False
        else:
            self._unanswered = 0
            return False
        if lost:
            log.warning("sync: consumer_lost bucket=%s after=%d", self.bucket, self.last)
        return lost

    async def _reopen(self, opened: int) -> None:
        """Open again, unless an open (the set-up's) came first since the
        consumer was found lost (`opened`: the opens done then)."""
        while True:
            try:
                async with self._opening:
                    if self._opened != opened:
                        return
                    assert self._js is not None and self._client is not None
                    await self._open(self._js, self._client)
                return
            except Exception as exc:
                opened = self._opened  # this attempt counted: only a later open overtakes
                log.debug("sync: reopen failed bucket=%s error=%r", self.bucket, exc)
                await asyncio.sleep(RETRY)

    def _message(self, msg: Msg) -> None:
        sequence = stream_sequence(msg.reply)
        if sequence <= self.last:
            return
        self.last = sequence
        self.taken += 1
        operation = msg.headers.get("KV-Operation") if msg.headers else None
        try:
            self.take(msg.subject[len(self.prefix) :], msg.data, operation in DELETED)
        except Exception:  # one bad value must not stop the feed
            log.exception("sync: bad message bucket=%s subject=%s", self.bucket, msg.subject)
        if not self.caught_up and sequence >= self.target:
            self._caught_up()

    def _caught_up(self) -> None:
        self.caught_up = True
        log.info(
            "sync: caught_up bucket=%s messages=%d seconds=%.3f",
            self.bucket,
            self.taken,
            time.monotonic() - self.started,
        )

    async def close(self) -> None:
        if self._task is not None:  # first: a pull finding its consumer lost starts a re-open
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        reopening, self._reopening = self._reopening, None
        if reopening is not None and reopening is not asyncio.current_task():
            reopening.cancel()  # waiting for the lock, or sleeping: nothing half made
        if self._sub is not None:
            with contextlib.suppress(Exception):  # it may have gone with the old connection
                await self._sub.unsubscribe()
            self._sub = None
