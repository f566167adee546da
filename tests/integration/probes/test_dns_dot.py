from __future__ import annotations

import pytest

from gslb.probes import REGISTRY
from gslb.probes.base import ProbeResult
from tests.integration.probes.conftest import CNC, FAST, LDNS, SLOW, TEL, closed_port

PROBER = REGISTRY["dns_dot"]


@pytest.mark.parametrize(("source", "low", "high"), [(CNC, SLOW, 1.0), (TEL, FAST, SLOW)])
async def test_rtt_is_the_ldns_delay_seen_from_the_source(ldns, source, low, high):
    fake, port = ldns
    result = await PROBER.probe(LDNS, source=source, port=port, timeout=2.0)
    assert result.ok and result.detail == "reply" and result.hops == 3
    assert low * 1e6 <= result.rtt_us < high * 1e6
    (seen, query), *_ = fake.received
    assert seen == str(source)
    assert query[2:] == bytes.fromhex("0000 0001 0000 0000 0000 00 0002 0001")


async def test_silence_is_a_timeout(ldns):
    fake, port = ldns
    fake.delays[str(CNC)] = None
    result = await PROBER.probe(LDNS, source=CNC, port=port, timeout=0.2)
    assert result == ProbeResult("dns_dot", None, 0, "timeout")


async def test_closed_port_counts_as_a_reply():
    result = await PROBER.probe(LDNS, source=CNC, port=closed_port(2), timeout=1.0)
    assert (result.ok, result.detail) == (True, "refused")
