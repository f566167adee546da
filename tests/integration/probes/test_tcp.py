from __future__ import annotations

import socket
from ipaddress import ip_address

from gslb.probes import REGISTRY
from tests.integration.probes.conftest import CNC, LDNS, closed_port

PROBER = REGISTRY["tcp"]


async def test_syn_ack_counts():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((str(LDNS), 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = await PROBER.probe(LDNS, source=CNC, port=port, timeout=1.0)
        peer, address = listener.accept()  # already reset: nothing lingers
        peer.close()
    assert address[0] == str(CNC)
    assert (result.ok, result.detail, result.hops) == (True, "reply", 0)


async def test_reset_counts():
    result = await PROBER.probe(LDNS, source=CNC, port=closed_port(socket.SOCK_STREAM), timeout=1)
    assert (result.ok, result.detail) == (True, "reset")


async def test_ipv6_loopback():
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as listener:
        listener.bind(("::1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = await PROBER.probe(ip_address("::1"), source=None, port=port, timeout=1.0)
    assert (result.ok, result.detail) == (True, "reply")
