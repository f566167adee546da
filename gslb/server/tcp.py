"""DNS over TCP (RFC 7766): 2-byte length framing, pipelining, idle timeout.

Queries on one connection are answered as they are complete, however the
stream is split across reads. A connection idle for `idle_timeout` seconds
is closed; past `max_connections` open connections a new one is closed at
once. A zero-length frame closes the connection.
"""

from __future__ import annotations

import asyncio
import logging

from gslb.server.udp import Answer

log = logging.getLogger(__name__)


class TcpLimits:
    """Shared by every connection of one listener."""

    def __init__(self, idle_timeout: float, max_connections: int) -> None:
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.open = 0
        self.refused = 0


class TcpConnection(asyncio.Protocol):
    def __init__(self, answer: Answer, limits: TcpLimits) -> None:
        self._answer = answer
        self._limits = limits
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._peer = ""
        self._idle: asyncio.TimerHandle | None = None
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        if self._limits.open >= self._limits.max_connections:
            self._limits.refused += 1
            transport.close()
            return
        self._limits.open += 1
        self._counted = True
        peer = transport.get_extra_info("peername")
        self._peer = peer[0] if peer else ""
        self._arm()

    def _arm(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self._limits.idle_timeout, self._close)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        self._arm()
        while len(buf) >= 2:
            size = (buf[0] << 8) | buf[1]
            if size == 0:
                self._close()
                return
            if len(buf) < 2 + size:
                break
            message = bytes(buf[2 : 2 + size])
            del buf[: 2 + size]
            reply = self._answer(message, self._peer, "tcp")
            if reply is not None and self._transport is not None:
                self._transport.write(len(reply).to_bytes(2, "big") + reply)

    def eof_received(self) -> bool:
        return False  # close our side too once the client has finished sending

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        if self._counted:
            self._limits.open -= 1
            self._counted = False
