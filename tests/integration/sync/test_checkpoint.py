"""Checkpoints and withdrawn paths, with real gslbd nodes and a real nats-server.

A node restarted without its state file loads the newest checkpoint of the
group's paths and reads the paths bucket only from the checkpoint's
revision on; an LDNS that expires where it was queried has its path
withdrawn from the group (in its writer's next bundle, dropped by the others).
"""

from __future__ import annotations

import asyncio
import re
import time

import nats

from gslb.model import key_of_text
from gslb.probes import PROTOCOL_CODES
from gslb.proximity import PATH
from gslb.sync.paths import BUCKET, VERSION, bundle, encode, unbundle
from tests.integration.ops.helpers import metric
from tests.integration.sync.conftest import PUBLISHED, SEED, STEADY, until, www

FAST_CHECKPOINTS = "checkpoint_changes = 1\n"  # a checkpoint after every write


def connected(node) -> bool:
    return any(f"sync: connected node={node.name}" in line for line in node.server.log)


def logged(node, pattern: str) -> list[re.Match[str]]:
    return [m for line in node.server.log if (m := re.search(pattern, line))]


def test_a_restarted_node_loads_the_newest_checkpoint(make_node, nats_server, ldns):
    fake, port = ldns
    url = [nats_server.url]
    cnc = make_node("cnc-1", ["CNC"], port, url, sync=FAST_CHECKPOINTS, **STEADY)
    tel = make_node("tel-1", ["TEL"], port, url, state=False, sync=FAST_CHECKPOINTS, **STEADY)
    until(lambda: connected(cnc) and connected(tel), 10, "both connected")
    www(cnc.server)
    until(lambda: www(cnc.server) == SEED.vs_tel, 10, "TEL answer at CNC")
    until(lambda: set(tel.ldns()) == {"CNC", "TEL"}, 5, "both paths at TEL")
    # Both paths read (bucket sequence 2), then TEL's checkpoint of them.
    written = r"sync: checkpoint written ldns=1 bytes=\d+ revision=2 "
    until(lambda: logged(tel, written), 10, "TEL's checkpoint")
    assert tel.server.stop() == 0

    fake.delays.update({SEED.cnc_source: None, SEED.tel_source: None})  # no probe answers now
    again = make_node("tel-1", ["TEL"], port, url, state=False, **STEADY)
    until(lambda: connected(again), 10, "the new TEL connected")
    until(lambda: logged(again, r"sync: checkpoint loaded ldns=1 paths=2 "), 5, "checkpoint")
    assert logged(again, r"sync: checkpoint fetched from=(cnc|tel)-1 revision=2 ")
    # Nothing written since the checkpoint: not one message read from the bucket.
    until(lambda: logged(again, "caught_up bucket=gslb_paths messages=0 "), 5, "caught up")
    assert set(again.ldns()) == {"CNC", "TEL"}
    until(lambda: www(again.server) == SEED.vs_tel, PUBLISHED + 1, "TEL from the checkpoint")
    assert metric(again.server, "gslb_sync_events_total", event="paths_checkpoint_loaded") == 1


async def bucket_paths(url: str) -> dict[str, bytes | None]:
    """What the paths bucket says of each `<DC>.<LDNS key, hex>`: the last
    value in the writers' bundles, replayed in order (None: withdrawn)."""
    client = await nats.connect(url)
    try:
        kv = await client.jetstream().key_value(BUCKET)
        entries = [await kv.get(key) for key in await kv.keys()]
        out: dict[str, bytes | None] = {}
        for entry in sorted(entries, key=lambda e: e.revision or 0):
            dc, _, name = entry.key.partition(".")
            assert name.startswith("_") and entry.value is not None, entry.key
            for key, value in unbundle(entry.value):
                out[f"{dc}.{key:x}"] = value
        return out
    finally:
        await client.close()


def test_an_ldns_expired_where_it_was_queried_is_withdrawn(make_node, nats_server, ldns):
    _, port = ldns
    url = [nats_server.url]
    # TEL first: the bucket keeps what it is made with (2 h), not CNC's 3 s.
    tel = make_node("tel-1", ["TEL"], port, url, **STEADY)
    until(lambda: connected(tel), 10, "TEL connected")
    cnc = make_node("cnc-1", ["CNC"], port, url, ldns_ttl=3, **STEADY)
    until(lambda: connected(cnc), 10, "CNC connected")
    www(cnc.server)  # the one query: CNC probes, asks TEL to
    until(lambda: set(tel.ldns()) == {"CNC", "TEL"}, 10, "both paths at TEL")
    key = f"{key_of_text(SEED.ldns):x}"
    held = asyncio.run(bucket_paths(nats_server.url))
    assert set(held) == {f"CNC.{key}", f"TEL.{key}"}
    assert all(value is not None and value[0] == VERSION for value in held.values())

    # Not queried for 3 s: CNC forgets the LDNS and withdraws its path.
    until(lambda: not cnc.ctl("show", "ldns", SEED.ldns), 10, "the LDNS expired at CNC")
    until(lambda: set(tel.ldns()) == {"TEL"}, 5, "CNC's path withdrawn at TEL")
    after = asyncio.run(bucket_paths(nats_server.url))
    assert after == {f"CNC.{key}": None, f"TEL.{key}": held[f"TEL.{key}"]}
    assert metric(tel.server, "gslb_sync_events_total", event="paths_withdrawn") == 1
    assert metric(cnc.server, "gslb_sync_events_total", event="paths_withdrawn_sent") == 1
    # TEL was never queried by the LDNS: its own path stays, never withdrawn.
    assert metric(tel.server, "gslb_sync_events_total", event="paths_withdrawn_sent") == 0


async def publish_cnc_paths(url: str, keys: range, round_: int, n: int) -> None:
    """One bundle of CNC paths for these LDNS keys, probe round `round_`, as
    a CNC node (writer `c0ffee00`) writes its batch."""
    now = int(time.time())
    code = PROTOCOL_CODES["dns_dot"]
    paths = [
        (k, encode(PATH.pack(0, 150_000, 10_000, now, round_, 0, 0, code, 0), None)) for k in keys
    ]
    client = await nats.connect(url)
    try:
        await client.jetstream().publish(f"$KV.{BUCKET}.CNC._c0ffee00-{n:x}", bundle(paths))
    finally:
        await client.close()


def test_a_checkpoint_waits_for_as_many_paths_as_the_table_holds_ldns(make_node, nats_server, ldns):
    """checkpoint_changes = 1, but the table holds 4 LDNS: a checkpoint after
    4 paths read, not after 3 more; after the 4th."""
    _, port = ldns
    url = [nats_server.url]
    tel = make_node("tel-1", ["TEL"], port, url, state=False, sync=FAST_CHECKPOINTS, **STEADY)
    until(lambda: connected(tel), 10, "TEL connected")
    keys = range(0xC6336400, 0xC6336404)  # 198.51.100.0-3
    asyncio.run(publish_cnc_paths(nats_server.url, keys, 1000, 0))
    first = r"sync: checkpoint written ldns=4 bytes=\d+ revision=(\d+) "
    until(lambda: logged(tel, first), 10, "the first checkpoint")
    revision = int(logged(tel, first)[0].group(1))
    asyncio.run(publish_cnc_paths(nats_server.url, keys[:3], 1001, 1))  # newer rounds: merged
    until(lambda: metric(tel.server, "gslb_sync_events_total", event="paths_read") == 7, 5, "read")
    time.sleep(3)  # three looks at whether one is due (one a second)
    assert len(logged(tel, "sync: checkpoint written")) == 1
    asyncio.run(publish_cnc_paths(nats_server.url, keys[3:], 1001, 2))  # the 4th since
    second = rf"sync: checkpoint written ldns=4 bytes=\d+ revision={revision + 2} "
    until(lambda: logged(tel, second), 10, "the second checkpoint")
