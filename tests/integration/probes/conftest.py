"""Targets for the probers, all on loopback: a fake LDNS, closed ports."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from ipaddress import ip_address

import pytest

from tests.fakeldns import DelayBySource

LDNS = ip_address("127.0.0.53")
CNC, TEL = ip_address("127.0.0.2"), ip_address("127.0.0.3")
SLOW, FAST = 0.15, 0.06  # seconds: the LDNS answers CNC slowly, TEL quickly


@pytest.fixture
async def ldns() -> AsyncIterator[tuple[DelayBySource, int]]:
    fake = DelayBySource({str(CNC): SLOW, str(TEL): FAST}, default=0.0)
    port = await fake.start(str(LDNS), ttl=61)  # 3 hops below Linux's 64
    try:
        yield fake, port
    finally:
        fake.close()


def closed_port(kind: socket.SocketKind) -> int:
    """A port of 127.0.0.53 that nothing listens on (just released)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((str(LDNS), 0))
        return int(sock.getsockname()[1])
