import socket
from ipaddress import ip_address

import pytest

from gslb.monitors.base import Settings
from gslb.monitors.icmp import IcmpMonitor


def can_ping() -> bool:
    for kind in (socket.SOCK_RAW, socket.SOCK_DGRAM):
        try:
            socket.socket(socket.AF_INET, kind, socket.getprotobyname("icmp")).close()
            return True
        except OSError:
            continue
    return False


@pytest.mark.skipif(not can_ping(), reason="no ICMP socket (needs root or ping_group_range)")
@pytest.mark.parametrize("source", [None, "127.0.0.2"])
async def test_loopback_answers(source):
    src = ip_address(source) if source else None
    result = await IcmpMonitor().check(
        ip_address("127.0.0.1"), 0, source=src, timeout=1, spec=Settings()
    )
    assert (result.ok, result.detail) == (True, "echo reply")
    assert result.latency is not None and 0 < result.latency < 1
