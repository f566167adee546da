"""A stand-in for a second sync-group node: it publishes paths, nothing else.

    python bench/peerbench/syncpeer.py nats://127.0.0.1:4222 --rate 1000 --seconds 600

`--rate` paths a second into the group's paths bucket, as a node of data
center TEL writes them (a bundle every 0.2 s, `$KV.gslb_paths.TEL._<writer>-<n>`,
the current format; `--single`: one message a path, `$KV.gslb_paths.TEL.<key>`,
as nodes wrote them before bundles): LDNS 10.0.0.0 upwards, cycling over
`--ldns` of them, each round a newer probe round (so every path is merged
by the node under test). Bounded by `--seconds`. What the node under test
pays for it: reading, decoding and merging the paths, publishing new
views, writing checkpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gslb.probes import PROTOCOL_CODES
from gslb.proximity import PATH
from gslb.sync.paths import BUCKET, PER_BUNDLE, bundle, encode, retention

TEL = 1  # the index written into the record; the key names the data center
FIRST = 0x0A000000  # 10.0.0.0: the first LDNS, as an int (`gslb.model.key_of`)
LDNS = 50_000  # --ldns: how many, FIRST upwards


def keys(count: int = LDNS) -> range:
    """The LDNS the peer writes paths for (as ints): what `peers.py --sync`
    pre-fills both servers' tables with, each with its own data center's path."""
    return range(FIRST, FIRST + count)


async def publish(url: str, rate: int, ldns: int, seconds: float, single: bool = False) -> int:
    import nats

    client = await nats.connect(url)
    js = client.jetstream()
    with contextlib.suppress(Exception):  # made already, by the node under test
        await js.create_key_value(bucket=BUCKET, history=1, ttl=retention(2_419_200, 600, 3600))
    started, sent = time.monotonic(), 0
    code = PROTOCOL_CODES["dns_dot"]
    bundles = 0
    while (elapsed := time.monotonic() - started) < seconds:
        now = int(time.time())
        paths = []
        for _ in range(int(elapsed * rate) - sent):
            rtt = 20_000 + sent % 50_000
            value = encode(PATH.pack(TEL, rtt, 10_000, now, now + sent, 0, 0, code, 0), None)
            paths.append((FIRST + sent % ldns, value))
            sent += 1
        if single:
            for key, value in paths:
                await client.publish(f"$KV.{BUCKET}.TEL.{key:x}", value)
        for at in range(0, 0 if single else len(paths), PER_BUNDLE):
            payload = bundle(paths[at : at + PER_BUNDLE])
            await client.publish(f"$KV.{BUCKET}.TEL._5eed0000-{bundles:x}", payload)
            bundles += 1
        await asyncio.sleep(0.05 if single else 0.2)
    await client.close()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--ldns", type=int, default=LDNS)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--single", action="store_true", help="one message a path")
    args = parser.parse_args()
    sent = asyncio.run(publish(args.url, args.rate, args.ldns, args.seconds, args.single))
    print(f"syncpeer: sent={sent}", file=sys.stderr)


if __name__ == "__main__":
    main()
