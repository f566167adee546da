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
from gslb.probes.base import Stamp, keep_timestamps_on, receive_timestamps
from tests.fakeldns import DelayBySource, ldns_thread
from tests.integration.probes.conftest import CNC, LDNS, TEL

BUSY = 0.3  # seconds the loop is held
DELAY = 0.04  # the fake LDNS's delay to CNC's probes


@pytest.fixture(autouse=True)
def timestamps_on() -> None:
    keep_timestamps_on()  # as the scheduler does when it starts


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
    # The kernel itself answers the echo, in its softirq work: on a loaded
    # machine that can be deferred past the loop's hold, so one of three
    # tries must read the echo as it arrived (read late, all three would be
    # >= BUSY).
    prober = icmp.Icmp()
    results = []
    for _ in range(3):
        probe = prober.probe(ip_address("127.0.0.1"), source=CNC, port=0, timeout=2.0)
        result = await held(asyncio.ensure_future(probe))
        if result.detail == "disabled":
            pytest.skip("no raw sockets here (root or CAP_NET_RAW needed)")
        assert result.ok and result.detail == "reply"
        results.append(result.rtt_us)
        if result.rtt_us < 50_000:
            break
    assert min(results) < 50_000, results


async def test_the_send_time_is_the_kernels_stamp_of_the_datagram(threaded_ldns):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((str(CNC), 0))
        sock.setblocking(False)
        receive_timestamps(sock)
        sock.connect((str(LDNS), threaded_ldns))
        sent = Stamp()
        sock.send(bytes(12))
        deadline = time.monotonic() + 2
        while sent.kernel_ns is None:
            assert time.monotonic() < deadline, "no send stamp on the error queue"
            await asyncio.sleep(0.001)
            sent.drain(sock)
        assert sent.realtime_ns <= sent.kernel_ns <= time.time_ns()


@pytest.mark.parametrize(
    ("kernel_ms", "arrived_ms", "expected_us"),
    [
        (5, 25, 20_000),  # from the kernel's send stamp
        (None, 25, 25_000),  # none: from the clock read before sending
        (-1, 25, 25_000),  # a stamp before the clock read is not ours
        (30, 25, 25_000),  # nor one after the reply
    ],
)
def test_the_rtt_runs_from_the_kernels_send_stamp_when_it_is_sane(
    kernel_ms, arrived_ms, expected_us
):
    sent = Stamp()
    sent.monotonic_ns -= 1_000_000_000  # a second has passed since
    base = sent.realtime_ns
    sent.kernel_ns = None if kernel_ms is None else base + kernel_ms * 1_000_000
    assert sent.rtt_us(base + arrived_ms * 1_000_000) == expected_us
    assert sent.rtt_us(None) >= 1_000_000  # no arrival stamp: the time until now
