"""A key-value bucket read in order: every key's latest value, then each change.

The first read of a bucket takes all of it: a bucket keeps one message per
key, so that is every key's latest value (the group's state: how a new node
bootstraps). After the bus was lost and
came back it resumes after the last stream sequence taken, so a node catches
up with what changed meanwhile, not with the whole bucket; if the bucket was
made anew (its sequence went back), it starts over. `caught_up` is set once
the messages that were in the bucket when reading (re)started are taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nats.js.api import ConsumerConfig, DeliverPolicy

if TYPE_CHECKING:
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)
DELETED = frozenset({"DEL", "PURGE"})
YIELD_EVERY = 32  # messages taken between two turns of the event loop

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
        self._sub: Any = None  # the push subscription of the ordered consumer

    async def open(self, js: JetStreamContext) -> None:
        """(Re)start reading, after the last message taken when there is one."""
        if self._sub is not None:
            with contextlib.suppress(Exception):  # it may have gone with the old connection
                await self._sub.unsubscribe()
            self._sub = None
        state = (await js.stream_info(f"KV_{self.bucket}")).state
        if self.last and state.last_seq >= self.last:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.last + 1
            )
        else:
            # Every bucket keeps one message per key, so the whole stream is
            # every key's latest value: ALL reads the same as LAST_PER_SUBJECT
            # without the server first listing millions of subjects.
            self.last = 0
            config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        self.target, self.taken, self.started = state.last_seq, 0, time.monotonic()
        self.caught_up = False
        if self.last >= self.target:  # nothing new (or taken by the consumer being replaced)
            self._caught_up()
        self._sub = await js.subscribe(
            f"{self.prefix}>",
            stream=f"KV_{self.bucket}",
            config=config,
            ordered_consumer=True,
            cb=self._message,
        )

    async def _message(self, msg: Msg) -> None:
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
        if self.taken % YIELD_EVERY == 0:
            # nats-py runs the callbacks of queued messages back to back; a
            # bucket read whole would hold the event loop, and the queries
            # behind it, for seconds.
            await asyncio.sleep(0)

    def _caught_up(self) -> None:
        self.caught_up = True
        log.info(
            "sync: caught_up bucket=%s messages=%d seconds=%.3f",
            self.bucket,
            self.taken,
            time.monotonic() - self.started,
        )
