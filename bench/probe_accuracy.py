"""Probing accuracy under load: gslb's scheduler and probers against a simulated internet.

    .venv/bin/python bench/probe_accuracy.py                     # the [probes] defaults
    .venv/bin/python bench/probe_accuracy.py --rate 2000 --concurrency 512
    .venv/bin/python bench/probe_accuracy.py --resolvers 5000 --json out.json

A separate process (tests/fakenet.py) plays `--resolvers` LDNS on loopback
addresses 127.1.0.1, 127.1.0.2, ... (one UDP socket each, all on one port). Each
answers a probe after a delay fixed per (resolver, probe source): three data
centers probe from 127.0.1.1-3; a resolver is 5-20 ms from the data center
of its region (resolver number mod 3) and 60-200 ms from the others, and 5 %
of them are nearer to the next data center instead (seeded, so both
processes know every delay). The fake stamps each query with the kernel's
arrival time and sends the reply when the delay from that time has passed,
so its own event loop adds only its lateness, which it reports.

This process offers every resolver to a real `Scheduler` at once (as a burst
of first-seen LDNS would), with the real `dns_dot` prober, and waits until
every path is measured. It reports how long that took, each sample's error
(measured RTT - the resolver's delay to that source) at p50/p99/max per kind
of path, the worst path, how many resolvers the table would send to a data
center other than their fastest, the offers the queue dropped, and the fake
network's own lateness. Figures in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from ipaddress import IPv4Address, ip_address, ip_network
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gslb.model import DataCenter, ProbeSettings
from gslb.probes import REGISTRY
from gslb.probes.base import ProbeResult
from gslb.probes.scheduler import Scheduler
from gslb.proximity import LdnsTable, unpack
from tests.fakeldns import probing
from tests.fakenet import FakeNetwork

FIRST = int(IPv4Address("127.1.0.1"))
SOURCES = ("127.0.1.1", "127.0.1.2", "127.0.1.3")


def resolver(i: int) -> str:
    return str(IPv4Address(FIRST + i))


def delays(n: int, seed: int) -> list[tuple[float, float, float]]:
    """Seconds from resolver i to each data center's probe source."""
    rng = Random(seed)
    out = []
    for i in range(n):
        near = i % 3 if rng.random() >= 0.05 else (i + 1) % 3
        out.append(
            tuple(
                rng.uniform(0.005, 0.020) if dc == near else rng.uniform(0.060, 0.200)
                for dc in range(3)
            )
        )
    return out  # type: ignore[return-value]


# -- gslb's side ---------------------------------------------------------------------------


class Recording:
    """The real prober, each result kept with its target and source."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inner = REGISTRY[name]
        self.samples: list[tuple[str, str, int | None]] = []

    async def probe(self, target, *, source, port, timeout) -> ProbeResult:  # type: ignore[no-untyped-def]
        result = await self.inner.probe(target, source=source, port=port, timeout=timeout)
        self.samples.append((str(target), str(source), result.rtt_us))
        return result


def summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": at(0.50), "p99": at(0.99), "max": round(ordered[-1], 2), "n": len(ordered)}


async def measure(
    n: int, truth: list[tuple[float, float, float]], settings: ProbeSettings
) -> dict[str, object]:
    datacenters = tuple(DataCenter(f"DC{d}", ip_address(s)) for d, s in enumerate(SOURCES))
    config = probing(datacenters, settings)
    prober = Recording("dns_dot")
    table = LdnsTable(max_entries=max(n, settings.max_entries), ldns_ttl=settings.ldns_ttl)
    scheduler = Scheduler(table, config, probers={"dns_dot": prober})
    started = time.monotonic()
    for i in range(n):
        address = ip_address(resolver(i))
        scheduler.offer(address, address)
    runner = asyncio.create_task(scheduler.run(tick=3600))
    deadline = started + 600
    while len(prober.samples) < 3 * n - 3 * scheduler.counts["queue_full"]:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    covered = time.monotonic() - started
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)

    wrong = 0
    for address, entry in table.items():
        i = int(address) - FIRST  # type: ignore[arg-type]
        measured = {r.datacenter: r.rtt_us for r in unpack(entry.paths) if r.measured_at}
        if len(measured) == 3:
            fastest = min(range(3), key=lambda d: truth[i][d])
            wrong += min(measured, key=lambda d: measured[d]) != fastest
    return {
        "resolvers": n,
        "rate": settings.rate,
        "concurrency": settings.concurrency,
        "queue_size": settings.queue_size,
        "covered_s": round(covered, 2),
        "probes": len(prober.samples),
        "queue_full": scheduler.counts["queue_full"],
        "wrong_dc": wrong,
        "samples": prober.samples,
    }


def errors(
    samples: list[tuple[str, str, int | None]],
    truth: list[tuple[float, float, float]],
    late: dict[tuple[int, int], float],
) -> dict[str, object]:
    """Each sample's error in ms: against the resolver's delay (`total`), and
    against the delay plus the fake network's lateness in sending that reply
    (`gslb`: what gslb's probing adds)."""
    kinds: dict[str, list[float]] = {}
    worst = {"total": 0.0, "gslb": 0.0}
    lost = 0
    for target, source, rtt in samples:
        i = int(IPv4Address(target)) - FIRST
        dc = SOURCES.index(source)
        if rtt is None:
            lost += 1
            continue
        true = truth[i][dc] * 1000
        path = "near" if true < 50 else "far"
        for what, error in (
            ("total", rtt / 1000 - true),
            ("gslb", rtt / 1000 - true - late.get((i, dc), 0.0)),
        ):
            kinds.setdefault(f"{what}_{path}", []).append(error)
            worst[what] = max(worst[what], abs(error))
    fake = sorted(late.values())
    return {
        "lost": lost,
        "error_ms": {kind: summary(values) for kind, values in sorted(kinds.items())},
        "worst_path_ms": {what: round(value, 2) for what, value in worst.items()},
        "fake_late_ms": summary(fake),
    }


def main(argv: list[str] | None = None) -> int:
    defaults = ProbeSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolvers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=defaults.rate)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--queue-size", type=int, default=defaults.queue_size)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    truth = delays(args.resolvers, args.seed)
    network = {
        resolver(i): {source: truth[i][dc] for dc, source in enumerate(SOURCES)}
        for i in range(args.resolvers)
    }
    with FakeNetwork(network) as fake:
        settings = ProbeSettings(
            protocols=("dns_dot",),
            port=fake.port,
            rate=args.rate,
            concurrency=args.concurrency,
            queue_size=args.queue_size,
            allow=(ip_network("127.0.0.0/8"),),
            state_file="",
        )
        result = asyncio.run(measure(args.resolvers, truth, settings))
    late = {
        (int(IPv4Address(r)) - FIRST, SOURCES.index(s)): seconds * 1000
        for (r, s), seconds in fake.late.items()
    }
    samples = result.pop("samples")
    result.update(errors(samples, truth, late))  # type: ignore[arg-type]
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
