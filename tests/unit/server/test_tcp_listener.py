"""TcpConnection against a fake transport: flow control, turns, EOF, limits.

The fake transport buffers every write until the test drains it, and calls
pause_writing()/resume_writing() at its water marks as asyncio's do.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gslb.server.tcp_listener import (
    INPUT_LIMIT,
    TURN_QUERIES,
    WRITE_HIGH_WATER,
    TcpConnection,
    TcpLimits,
)

REPLY = b"r" * 98
FRAMED_REPLY = 2 + len(REPLY)


def frames(count: int, size: int = 30) -> bytes:
    return (size.to_bytes(2, "big") + b"q" * size) * count


class FakeTransport(asyncio.Transport):
    def __init__(self, protocol: TcpConnection) -> None:
        super().__init__()
        self.protocol = protocol
        self.buffered = 0  # bytes written and not yet drained
        self.written = 0
        self.high = 0
        self.reading = True
        self.closed = False
        self.aborted = False
        self.writing_paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("192.0.2.1", 5353) if name == "peername" else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        assert high is not None
        self.high = high

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed
        self.buffered += len(data)
        self.written += len(data)
        if self.buffered > self.high and not self.writing_paused:
            self.writing_paused = True
            self.protocol.pause_writing()

    def drain(self) -> None:
        self.buffered = 0
        if self.writing_paused:
            self.writing_paused = False
            self.protocol.resume_writing()

    def pause_reading(self) -> None:
        assert self.reading
        self.reading = False

    def resume_reading(self) -> None:
        assert not self.reading
        self.reading = True

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = self.aborted = True


class Answerer:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, wire: bytes, peer: Any, transport: str) -> bytes | None:
        assert (peer, transport) == ("192.0.2.1", "tcp")
        self.count += 1
        return REPLY


def connect(idle_timeout: float = 10.0) -> tuple[TcpConnection, FakeTransport, Answerer]:
    answerer = Answerer()
    conn = TcpConnection(answerer, TcpLimits(idle_timeout, 10))
    transport = FakeTransport(conn)
    conn.connection_made(transport)
    return conn, transport, answerer


async def turns(count: int = 1) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_a_big_read_is_answered_a_turn_at_a_time_without_reading_more():
    conn, transport, answerer = connect()
    conn.data_received(frames(3 * TURN_QUERIES + 5))
    assert (answerer.count, transport.reading) == (TURN_QUERIES, False)
    await turns()
    assert (answerer.count, transport.reading) == (2 * TURN_QUERIES, False)
    await turns(3)
    assert (answerer.count, transport.reading) == (3 * TURN_QUERIES + 5, True)
    transport.drain()


async def test_replies_past_the_high_water_mark_stop_answering_and_reading():
    conn, transport, answerer = connect()
    assert transport.high == WRITE_HIGH_WATER
    stop = WRITE_HIGH_WATER // FRAMED_REPLY + 1  # the reply that crosses the mark
    conn.data_received(frames(2000))
    await turns(2000 // TURN_QUERIES + 1)
    assert (answerer.count, transport.reading) == (stop, False)
    assert transport.buffered == stop * FRAMED_REPLY <= WRITE_HIGH_WATER + FRAMED_REPLY
    transport.drain()  # the client reads: the held queries are answered
    assert answerer.count == stop + TURN_QUERIES
    await turns(2000 // TURN_QUERIES + 1)
    assert (answerer.count, transport.reading) == (2 * stop, False)
    while answerer.count < 2000:
        transport.drain()
        await turns(2000 // TURN_QUERIES + 1)
    assert (answerer.count, transport.reading, transport.closed) == (2000, True, False)


async def test_queries_held_back_are_answered_before_eof_closes():
    conn, transport, answerer = connect()
    conn.data_received(frames(1000))
    await turns(20)
    assert not transport.reading
    assert conn.eof_received() is True  # keep the transport open for the replies
    while not transport.closed:
        transport.drain()
        await turns()
    assert answerer.count == 1000


async def test_eof_with_nothing_held_closes_at_once():
    conn, _transport, answerer = connect()
    conn.data_received(frames(2) + b"\x00")  # and one byte of a third
    assert conn.eof_received() is False
    assert answerer.count == 2


async def test_input_past_the_limit_aborts():
    # Reading is paused by then; only a transport that ignores it gets here.
    conn, transport, _answerer = connect()
    conn.data_received(frames(4000))
    transport.writing_paused = True
    conn.pause_writing()
    held = 4000 * 32 - TURN_QUERIES * 32
    conn.data_received(b"\x00" * (INPUT_LIMIT - held))
    assert not transport.aborted
    conn.data_received(b"\x00")
    assert transport.aborted
    conn.connection_lost(None)


async def test_half_a_frame_does_not_keep_the_connection_open():
    conn, transport, answerer = connect(idle_timeout=0.2)
    wire = frames(2)
    conn.data_received(wire[:32])  # answered: the timer restarts from here
    transport.drain()
    for i in range(32, 50):
        await asyncio.sleep(0.03)
        if transport.closed:
            break
        conn.data_received(wire[i : i + 1])
    assert transport.closed and not transport.aborted
    assert answerer.count == 1
    conn.connection_lost(None)
    assert conn._limits.timed_out == 1


async def test_idle_with_unread_replies_aborts():
    conn, transport, _answerer = connect(idle_timeout=0.05)
    conn.data_received(frames(1))
    await asyncio.sleep(0.1)
    assert transport.aborted  # close() would wait for the client to read
    conn.connection_lost(None)
