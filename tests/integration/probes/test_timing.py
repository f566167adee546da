"""An RTT measures the network, not the event loop.

Each probe is started, then the event loop is held (a blocking sleep of
BUSY) while the reply arrives: the reply waits in the socket. Timed when the
loop reads it, the RTT would be at least BUSY; timed by the kernel's arrival
stamp (udp, dns_*, icmp) or the kernel's handshake RTT (tcp), it is the
path's. The fake LDNS runs in its own thread, so its replies keep their
delays while the test's loop is held.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from ipaddress import ip_address

import pytest

from gslb.probes import REGISTRY, icmp
from tests.fakeldns import DelayBySource, ldns_thread
from tests.integration.probes.conftest import CNC, LDNS, TEL

BUSY = 0.3  # seconds the loop is held
DELAY = 0.04  # the fake LDNS's delay to CNC's probes


@pytest.fixture
def threaded_ldns() -> Iterator[int]:
    fake = DelayBySource({str(CNC): DELAY, str(TEL): 0.0}, default=None)
    with ldns_thread(fake, str(LDNS)) as port:
        yield port


async def held(probe: asyncio.Task) -> object:
    """Let the probe send, hold the loop for BUSY, then let it read."""
    for _ in range(3):  # it sends and waits for its reply in its first step
        await asyncio.sleep(0)
    assert not probe.done()
    time.sleep(BUSY)  # the point: the loop is busy
    return await probe


@pytest.mark.parametrize("protocol", ["udp", "dns_dot", "dns_rev"])
async def test_a_udp_reply_read_late_is_timed_as_it_arrived(threaded_ldns, protocol):
    probe = REGISTRY[protocol].probe(LDNS, source=CNC, port=threaded_ldns, timeout=2.0)
    result = await held(asyncio.ensure_future(probe))
    assert result.ok and result.detail == "reply"
    # The fake's delay, plus its own thread's scheduling: far below BUSY.
    assert DELAY * 1e6 <= result.rtt_us < (DELAY + 0.1) * 1e6, result


async def test_a_tcp_handshake_read_late_is_timed_by_the_kernel():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((str(LDNS), 0))
        listener.listen()
        port = listener.getsockname()[1]
        probe = REGISTRY["tcp"].probe(LDNS, source=CNC, port=port, timeout=2.0)
        result = await held(asyncio.ensure_future(probe))
    assert result.ok and result.detail == "reply"
    assert 0 < result.rtt_us < 50_000, result  # loopback: microseconds, not BUSY


async def test_an_icmp_echo_read_late_is_timed_as_it_arrived():
    prober = icmp.Icmp()
    probe = prober.probe(ip_address("127.0.0.1"), source=CNC, port=0, timeout=2.0)
    result = await held(asyncio.ensure_future(probe))
    if result.detail == "disabled":
        pytest.skip("no raw sockets here (root or CAP_NET_RAW needed)")
    assert result.ok and result.detail == "reply"
    assert 0 < result.rtt_us < 50_000, result
