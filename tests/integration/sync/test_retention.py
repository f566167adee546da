"""How long the paths bucket keeps its bundles, with a real nats-server.

Bundles have keys of their own, so the bucket keeps every one until its
max age: it is made with `paths.retention` (two hours by default, not the
LDNS's 28 days), and a bucket made earlier with a longer one is named in a
warning that says how to change it.
"""

from __future__ import annotations

import asyncio

import nats

from gslb.sync.paths import BUCKET
from tests.integration.sync.conftest import until


async def max_age(url: str) -> float | None:
    client = await nats.connect(url)
    try:
        return (await client.jetstream().stream_info(f"KV_{BUCKET}")).config.max_age
    finally:
        await client.close()


async def make_bucket(url: str, ttl: float | None = None) -> None:
    client = await nats.connect(url)
    try:
        await client.jetstream().create_key_value(bucket=BUCKET, history=1, ttl=ttl)
    finally:
        await client.close()


def connected(node, times: int = 1) -> bool:
    return sum(f"sync: connected node={node.name}" in line for line in node.server.log) >= times


def test_the_paths_bucket_keeps_bundles_two_checkpoint_ages(make_node, nats_server, ldns):
    _, port = ldns
    node = make_node("cnc-1", ["CNC"], port, [nats_server.url], ldns_ttl=86400)
    until(lambda: connected(node), 10, "connected")
    assert asyncio.run(max_age(nats_server.url)) == 7200.0  # 2 x checkpoint_age (3600 s)
    assert not [line for line in node.server.log if "than needed" in line]


def test_a_bucket_kept_for_ever_is_named_in_a_warning_once(make_node, nats_server, ldns):
    _, port = ldns
    asyncio.run(make_bucket(nats_server.url))  # kept for ever
    node = make_node("cnc-1", ["CNC"], port, [nats_server.url])
    until(lambda: connected(node), 10, "connected")
    warned = [line for line in node.server.log if "longer than needed" in line]
    assert len(warned) == 1
    assert "name=gslb_paths max_age=forever wanted=7200" in warned[0]
    assert "nats stream edit KV_gslb_paths --max-age 7200s" in warned[0]
    assert asyncio.run(max_age(nats_server.url)) in (None, 0.0)  # left as the operator made it
    # The bus goes away and comes back (same store): the bucket is looked at
    # again on reconnection, but the same max age is not warned of again.
    nats_server.stop()
    assert node.server.logged("sync: disconnected node=cnc-1", timeout=10)
    nats_server.start()
    until(lambda: connected(node, 2), 15, "reconnected")
    assert len([line for line in node.server.log if "longer than needed" in line]) == 1


def test_a_bucket_kept_too_short_is_named_in_a_warning(make_node, nats_server, ldns):
    # Made by a first node with a short ldns_ttl: a new node could miss what
    # was written since the newest checkpoint.
    _, port = ldns
    asyncio.run(make_bucket(nats_server.url, ttl=60))
    node = make_node("cnc-1", ["CNC"], port, [nats_server.url])
    until(lambda: connected(node), 10, "connected")
    warned = [line for line in node.server.log if "than needed" in line]
    assert len(warned) == 1
    assert "shorter than needed name=gslb_paths max_age=60 wanted=7200" in warned[0]
    assert asyncio.run(max_age(nats_server.url)) == 60.0
