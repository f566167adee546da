"""A feed whose consumer is gone reads again after the last message it took.

In a NATS cluster a feed's consumer lives on one server; when that server
crashes the node's own connection may stay up. Here the consumer is
deleted on a real nats-server (what the feed sees of it: not found); the
feed makes a new one and the next value still arrives, the first not twice.
"""

from __future__ import annotations

import asyncio

import nats

from gslb.sync import feed as feed_module
from gslb.sync.feed import Feed


async def _eventually(predicate, within: float) -> None:
    for _ in range(int(within / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s")


def test_a_feed_makes_a_new_consumer_when_its_own_is_gone(nats_server, monkeypatch):
    monkeypatch.setattr(feed_module, "CHECK", 0.5)  # look every 0.5 s idle, not 5

    async def body() -> None:
        client = await nats.connect(nats_server.url)
        js = client.jetstream(timeout=5)
        await js.create_key_value(bucket="t", history=1)
        got: list[tuple[str, bytes]] = []
        feed = Feed("t", lambda key, value, deleted: got.append((key, value)))
        try:
            await feed.open(js, client)
            await client.publish("$KV.t.a", b"1")
            await _eventually(lambda: got == [("a", b"1")], 5)
            [consumer] = await js.consumers_info("KV_t")
            await js.delete_consumer("KV_t", consumer.name)
            for _ in range(100):  # a new consumer within 5 s
                names = [c.name for c in await js.consumers_info("KV_t")]
                if names and names != [consumer.name]:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("no new consumer within 5 s")
            await client.publish("$KV.t.b", b"2")
            await _eventually(lambda: got == [("a", b"1"), ("b", b"2")], 5)
        finally:
            await feed.close()
            await client.close()

    asyncio.run(body())
