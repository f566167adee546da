"""The default [probes] settings cover many resolvers quickly, and rightly.

RESOLVERS fake LDNS on 127.2.x.y (tests/fakenet.py: a process of their
own, timing replies from the kernel's arrival stamps), three data
centers probing from 127.0.1.1-3. Each resolver is NEAR to one data center
(its number mod 3) and FAR from the others. The scheduler runs with the
defaults but for the protocol (dns_dot), the port and the state file; every
resolver is offered at once, as a burst of first-seen LDNS would be.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from ipaddress import ip_address

import pytest

from gslb.model import DataCenter, ProbeSettings
from gslb.probes.scheduler import Scheduler
from gslb.proximity import LdnsTable, unpack
from tests.fakeldns import probing
from tests.fakenet import FakeNetwork

RESOLVERS = 300
SOURCES = ("127.0.1.1", "127.0.1.2", "127.0.1.3")
NEAR, FAR = 0.01, 0.09


def resolver(i: int) -> str:
    return f"127.2.{i // 250}.{i % 250 + 1}"


@pytest.fixture
def fakes() -> Iterator[int]:
    delays = {
        resolver(i): {s: NEAR if dc == i % 3 else FAR for dc, s in enumerate(SOURCES)}
        for i in range(RESOLVERS)
    }
    with FakeNetwork(delays) as network:
        yield network.port


async def test_the_defaults_measure_every_resolver_from_every_data_center(fakes):
    defaults = ProbeSettings()
    settings = ProbeSettings(protocols=("dns_dot",), port=fakes, state_file="")
    datacenters = tuple(DataCenter(f"DC{d}", ip_address(s)) for d, s in enumerate(SOURCES))
    config = probing(datacenters, settings)
    table = LdnsTable(max_entries=defaults.max_entries, ldns_ttl=defaults.ldns_ttl)
    scheduler = Scheduler(table, config)
    started = time.monotonic()
    for i in range(RESOLVERS):
        scheduler.offer(ip_address(resolver(i)), ip_address(resolver(i)))
    runner = asyncio.create_task(scheduler.run(tick=3600))
    # The rate's share of 1,000 resolvers in 20 s, with room for a busy machine.
    within = 20 * RESOLVERS / 1000 * 2
    try:
        while sum(len(list(unpack(e.paths))) for _, e in table.items()) < 3 * RESOLVERS:
            assert time.monotonic() - started < within, scheduler.counts
            await asyncio.sleep(0.05)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert scheduler.counts["queue_full"] == 0
    steered = 0
    for address, entry in table.items():
        i = [resolver(n) for n in range(RESOLVERS)].index(str(address))
        rtts = {r.datacenter: r.rtt_us for r in unpack(entry.paths)}
        steered += min(rtts, key=lambda dc: rtts[dc]) == i % 3
    assert (len(table), steered) == (RESOLVERS, RESOLVERS)
