"""DNS over UDP: one datagram in, at most one datagram out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gslb.model import IPAddress

Answer = Callable[[bytes, IPAddress | str, str], bytes | None]


class UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        reply = self._answer(data, addr[0], "udp")
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors for earlier replies (a client that went away): nothing to do.
        pass
