from __future__ import annotations

import socket
from ipaddress import ip_address

from gslb.probes import REGISTRY
from tests.integration.probes.conftest import CNC, LDNS, SLOW, closed_port

PROBER = REGISTRY["udp"]


async def test_a_reply_counts(ldns):
    fake, port = ldns
    result = await PROBER.probe(LDNS, source=CNC, port=port, timeout=2.0)
    assert (result.ok, result.detail, result.hops) == (True, "reply", 3)
    assert result.rtt_us >= SLOW * 1e6
    assert fake.received == [(str(CNC), bytes.fromhex("675300000000000000000000"))]


async def test_port_unreachable_counts():
    result = await PROBER.probe(LDNS, source=CNC, port=closed_port(socket.SOCK_DGRAM), timeout=1)
    assert (result.ok, result.detail, result.hops) == (True, "refused", 0)
    assert result.rtt_us < 1e6


async def test_silence_is_a_timeout(ldns):
    fake, port = ldns
    fake.delays[str(CNC)] = None
    result = await PROBER.probe(LDNS, source=CNC, port=port, timeout=0.2)
    assert (result.rtt_us, result.detail) == (None, "timeout")


async def test_a_source_that_is_not_ours_is_a_failure():
    result = await PROBER.probe(LDNS, source=ip_address("192.0.2.1"), port=53, timeout=0.2)
    assert (result.rtt_us, result.detail) == (None, "unreachable")
