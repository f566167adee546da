"""A feed whose consumer is gone reads again after the last message it took.

Here the consumer is deleted on a real nats-server (what the feed sees of
it: not found); the feed makes a new one and the next value still arrives,
the first not twice. In a NATS cluster of three a feed's consumer has the
bucket's three replicas: when the server leading it crashes (the node's own
connection, to another server, stays up) the same consumer goes on
delivering from another server. A re-open of the feed's own and the
set-up's open at once leave one consumer read, not two.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import nats
from nats.js import JetStreamContext

from gslb.sync import feed as feed_module
from gslb.sync.feed import Feed
from tests.integration.natsserver import cluster, needed, running


async def _eventually(predicate, within: float) -> None:
    for _ in range(int(within / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s")


@contextlib.asynccontextmanager
async def feed_of_a_new_bucket(url: str) -> AsyncIterator[tuple[JetStreamContext, Feed]]:
    """A feed of a new bucket "t", opened, its first value taken; after the
    body, a value written then is taken, once."""
    client = await nats.connect(url)
    js = client.jetstream(timeout=5)
    await js.create_key_value(bucket="t", history=1)
    got: list[tuple[str, bytes]] = []
    feed = Feed("t", lambda key, value, deleted: got.append((key, value)))
    try:
        await feed.open(js, client)
        await client.publish("$KV.t.a", b"1")
        await _eventually(lambda: got == [("a", b"1")], 5)
        yield js, feed
        await client.publish("$KV.t.b", b"2")
        await _eventually(lambda: got == [("a", b"1"), ("b", b"2")], 5)
    finally:
        await feed.close()
        await client.close()


def test_a_feed_makes_a_new_consumer_when_its_own_is_gone(nats_server, monkeypatch):
    monkeypatch.setattr(feed_module, "CHECK", 0.5)  # look every 0.5 s idle, not 5

    async def body() -> None:
        async with feed_of_a_new_bucket(nats_server.url) as (js, _):
            [consumer] = await js.consumers_info("KV_t")
            await js.delete_consumer("KV_t", consumer.name)
            for _ in range(100):  # a new consumer within 5 s
                names = [c.name for c in await js.consumers_info("KV_t")]
                if names and names != [consumer.name]:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("no new consumer within 5 s")

    asyncio.run(body())


def test_the_set_ups_open_during_the_feeds_own_reopen_leaves_one_consumer(nats_server, monkeypatch):
    """The consumer is lost (deleted here), the feed re-opens; while that
    re-open is half-way (making its consumer), the set-up opens the feed too
    (a reconnection). Both at once made two consumers and two pull tasks,
    the one not kept pulling for ever; one at a time, the replaced consumer
    is deleted."""
    monkeypatch.setattr(feed_module, "CHECK", 0.2)

    async def body() -> None:
        async with feed_of_a_new_bucket(nats_server.url) as (js, feed):
            await js.delete_consumer("KV_t", feed.consumer)
            # The re-open is under way once it has closed what it replaces
            # (`_reopening` set by the pull, then cleared by that close).
            seen, deadline = False, asyncio.get_running_loop().time() + 10
            while not (seen and feed._reopening is None):
                seen = seen or feed._reopening is not None
                assert asyncio.get_running_loop().time() < deadline, "no re-open within 10 s"
                await asyncio.sleep(0)
            assert feed._client is not None
            await feed.open(js, feed._client)  # the set-up's, meanwhile
            names: list[str | None] = []

            async def one_left() -> bool:
                names[:] = [c.name for c in await js.consumers_info("KV_t")]
                return names == [feed.consumer]

            for _ in range(50):  # the replaced one deleted in the background
                if await one_left():
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)  # and no second pull making another
            assert await one_left(), (names, feed.consumer)

    asyncio.run(body())


def test_a_feed_of_a_replicated_bucket_outlives_the_server_leading_its_consumer(tmp_path: Path):
    needed()
    servers = cluster(tmp_path / "nats", "t", 3)

    async def body() -> None:
        client = await nats.connect(servers[0].url, connect_timeout=2)
        js = client.jetstream(timeout=5)
        for _ in range(200):  # the cluster elects its metadata leader first
            try:
                await js.create_key_value(bucket="t", history=1, replicas=3)
                break
            except Exception:
                await asyncio.sleep(0.2)
        got: list[tuple[str, bytes]] = []
        feed = Feed("t", lambda key, value, deleted: got.append((key, value)))
        try:
            # A leader other than the server this client is on (so that the
            # client stays connected): make consumers until one is led there.
            for _ in range(20):
                await feed.open(js, client)
                info = await js.consumer_info("KV_t", feed.consumer)
                if info.cluster is not None and info.cluster.leader not in (None, "t-1"):
                    break
            else:
                raise AssertionError("no consumer led by t-2 or t-3 in 20")
            assert info.config.num_replicas == 3
            await client.publish("$KV.t.a", b"1")
            await _eventually(lambda: got == [("a", b"1")], 5)
            [leader] = [s for i, s in enumerate(servers, 1) if info.cluster.leader == f"t-{i}"]
            consumer = feed.consumer
            leader.kill()
            # Stored for sure (acknowledged): a plain publish while the
            # stream elects its own new leader would be lost, not the feed's doing.
            for _ in range(30):
                try:
                    await js.publish("$KV.t.b", b"2", timeout=2)
                    break
                except Exception:
                    await asyncio.sleep(0.5)
            # A new leader is elected in seconds; a consumer of one replica
            # would be gone with its server.
            await _eventually(lambda: ("b", b"2") in got, 30)
            assert set(got) == {("a", b"1"), ("b", b"2")}  # "b" twice if stored twice
            assert feed.consumer == consumer
        finally:
            await feed.close()
            await client.close()

    with running(servers):
        asyncio.run(body())
