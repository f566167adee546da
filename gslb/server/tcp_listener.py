"""DNS over TCP (RFC 7766): 2-byte length framing, pipelining, idle timeout.

Queries on one connection are answered as they are complete, however the
stream is split across reads. Past `max_connections` open connections, or
past `max_per_client` open connections from the new one's address (as Knot
and NSD limit per client), a new one is closed at once: one client
re-opening slow connections cannot hold every slot. A zero-length frame
closes the connection.

A connection is closed once `idle_timeout` seconds have passed since it was
opened or its last complete query was answered, whatever arrived meanwhile:
part of a frame does not count, so a client sending one byte at a time cannot
hold a connection slot (slowloris).

Flow control: replies wait in the transport's write buffer while the client
does not read them. Past WRITE_HIGH_WATER bytes there the connection stops
answering and stops reading (`pause_writing`), and starts again once the
buffer has drained (`resume_writing`). So a client that pipelines queries and
never reads costs at most WRITE_HIGH_WATER plus one reply of replies, and one
read plus one incomplete frame of input (the input limit: INPUT_LIMIT); the
kernel's socket buffers, then the client's own sends, hold the rest. The
kernel's send buffer of each connection is capped at SEND_BUFFER (which the
kernel doubles), not left to grow to megabytes by autotuning: DNS replies are
small. Such a client answers nothing, so the idle timeout ends it, discarding
the unsent replies rather than waiting for a reader that never comes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import cast

from gslb.server.udp_listener import Answer

log = logging.getLogger(__name__)

MAX_FRAME = 2 + 65535  # the length prefix and the largest message it can announce
WRITE_HIGH_WATER = 64 * 1024
SEND_BUFFER = 64 * 1024  # SO_SNDBUF of a connection; the kernel doubles it
# One read (asyncio and uvloop read at most 256 KiB) held back while replies
# wait, plus an incomplete frame. Reading is paused then, so more means the
# transport ignored pause_reading(): the connection is aborted.
INPUT_LIMIT = 256 * 1024 + MAX_FRAME
# Queries answered per connection per turn of the event loop, so that one
# connection's read of thousands of pipelined queries does not hold up the rest.
TURN_QUERIES = 64


class TcpLimits:
    """Shared by every connection of one listener."""

    def __init__(
        self, idle_timeout: float, max_connections: int, max_per_client: int | None = None
    ) -> None:
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.max_per_client = max_connections if max_per_client is None else max_per_client
        self.open = 0
        self.by_client: dict[str, int] = {}  # open connections per client address
        self.refused = 0
        self.refused_client = 0  # at max_per_client
        self.timed_out = 0  # closed by the idle timeout
        self.overflowed = 0  # aborted past INPUT_LIMIT


class TcpConnection(asyncio.Protocol):
    def __init__(self, answer: Answer, limits: TcpLimits) -> None:
        self._answer = answer
        self._limits = limits
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._peer = ""
        self._idle: asyncio.TimerHandle | None = None
        self._last_answer = 0.0  # loop time of the last complete query (or the connect)
        self._writing_paused = False
        self._reading_paused = False
        self._next_turn: asyncio.Handle | None = None
        self._eof = False
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass: no isinstance.
        self._transport = transport = cast(asyncio.Transport, transport)
        limits = self._limits
        peer = transport.get_extra_info("peername")
        self._peer = peer[0] if peer else ""
        if limits.open >= limits.max_connections:
            limits.refused += 1
            transport.close()
            return
        held = limits.by_client.get(self._peer, 0)
        if held >= limits.max_per_client:
            limits.refused_client += 1
            transport.close()
            return
        limits.open += 1
        limits.by_client[self._peer] = held + 1
        self._counted = True
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        loop = asyncio.get_running_loop()
        self._last_answer = loop.time()
        self._idle = loop.call_at(self._last_answer + self._limits.idle_timeout, self._check_idle)

    def _check_idle(self) -> None:
        # One timer per connection, moved on lazily: answering a query only
        # stamps the time, which is cheaper than re-arming a timer per query.
        loop = asyncio.get_running_loop()
        deadline = self._last_answer + self._limits.idle_timeout
        if loop.time() < deadline:
            self._idle = loop.call_at(deadline, self._check_idle)
            return
        self._idle = None
        self._limits.timed_out += 1
        transport = self._transport
        if transport is None:
            return
        if transport.get_write_buffer_size():
            transport.abort()  # close() would wait for a client that is not reading
        else:
            transport.close()

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._answer_buffered()
        if len(self._buffer) > INPUT_LIMIT and self._transport is not None:
            self._limits.overflowed += 1
            log.warning("tcp_input_overflow: peer=%s bytes=%d", self._peer, len(self._buffer))
            self._transport.abort()

    def _answer_buffered(self) -> None:
        """Answer up to TURN_QUERIES complete frames, then read on or wait."""
        buf = self._buffer
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        answered = 0
        while answered < TURN_QUERIES and len(buf) >= 2 and not self._writing_paused:
            size = (buf[0] << 8) | buf[1]
            if size == 0:
                self._close()
                return
            if len(buf) < 2 + size:
                break
            message = bytes(buf[2 : 2 + size])
            del buf[: 2 + size]
            reply = self._answer(message, self._peer, "tcp")
            answered += 1
            if reply is not None:
                # May call pause_writing(), which ends this loop.
                transport.write(len(reply).to_bytes(2, "big") + reply)
        if answered:
            self._last_answer = asyncio.get_running_loop().time()
        if self._frame_ready() and not self._writing_paused and self._next_turn is None:
            # A read can hold thousands of queries: answer the rest on a later
            # turn of the loop, after the other connections and UDP.
            self._next_turn = asyncio.get_running_loop().call_soon(self._take_turn)
        self._read_if_room()

    def _take_turn(self) -> None:
        self._next_turn = None
        self._answer_buffered()

    def _frame_ready(self) -> bool:
        buf = self._buffer
        return len(buf) >= 2 and len(buf) >= 2 + ((buf[0] << 8) | buf[1])

    def _read_if_room(self) -> None:
        """Read while replies can be written and no query waits for its turn."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        held = self._writing_paused or self._next_turn is not None
        if not held and self._eof:
            transport.close()  # every query sent before the client's EOF is answered
        elif held != self._reading_paused:
            if held:
                transport.pause_reading()
            else:
                transport.resume_reading()
            self._reading_paused = held

    def pause_writing(self) -> None:
        self._writing_paused = True
        if self._next_turn is not None:
            self._next_turn.cancel()
            self._next_turn = None
        self._read_if_room()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._answer_buffered()

    def eof_received(self) -> bool:
        # Close our side too once the client has finished sending, but only
        # after the queries still held back are answered.
        self._eof = True
        return self._frame_ready()

    def connection_lost(self, exc: Exception | None) -> None:
        for handle in (self._idle, self._next_turn):
            if handle is not None:
                handle.cancel()
        self._idle = self._next_turn = None
        self._buffer.clear()
        if self._counted:
            limits = self._limits
            limits.open -= 1
            held = limits.by_client.pop(self._peer) - 1
            if held:
                limits.by_client[self._peer] = held
            self._counted = False
