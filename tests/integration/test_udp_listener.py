"""UdpListener on a real loopback socket: bursts past a wake-up's batch and
the send groups, every reply to its own query, nothing for a dropped one."""

from __future__ import annotations

import asyncio
import socket

from gslb.server.udp_listener import BATCH, SEND_BATCH, SO_RCVBUFFORCE, UdpListener

BURST = 2 * BATCH + SEND_BATCH + 3  # more than one wake-up, a group not full at the end


def answer(data: bytes, peer: object, transport: str) -> bytes | None:
    assert (peer, transport) == ("127.0.0.1", "udp")
    n = int.from_bytes(data, "big")
    return None if n % 10 == 7 else b"reply-" + data  # every tenth query is dropped


async def test_a_burst_is_answered_in_full_and_in_order():
    listener = UdpListener.bind("127.0.0.1", 0, answer)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    client.setblocking(False)
    try:
        for n in range(BURST):  # all queued before the listener reads one
            client.sendto(n.to_bytes(4, "big"), ("127.0.0.1", listener.port))
        expected = [b"reply-" + n.to_bytes(4, "big") for n in range(BURST) if n % 10 != 7]
        got: list[bytes] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while len(got) < len(expected) and loop.time() < deadline:
            try:
                got.append(client.recv(64))
            except BlockingIOError:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # nothing more may come
        try:
            extra = client.recv(64)
        except BlockingIOError:
            extra = None
        assert got == expected
        assert extra is None
        assert listener.send_failures == 0
    finally:
        client.close()
        listener.close()


def rmem_max() -> int:
    with open("/proc/sys/net/core/rmem_max") as f:
        return int(f.read())


def may_force() -> bool:
    """Whether this process may set a receive buffer past rmem_max (CAP_NET_ADMIN)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4096)
        except OSError:
            return False
    return True


def kernel_rcvbuf(sock: socket.socket) -> int:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2


async def test_the_receive_buffer_is_what_was_asked_or_the_cap_is_logged(caplog):
    asked = 1 << 20
    listener = UdpListener.bind("127.0.0.1", 0, answer, receive_buffer=asked)
    try:
        assert kernel_rcvbuf(listener.sock) == asked
        assert "udp_receive_buffer" not in caplog.text
    finally:
        listener.close()
    beyond = rmem_max() * 2
    listener = UdpListener.bind("127.0.0.1", 0, answer, receive_buffer=beyond)
    try:
        if may_force():
            assert kernel_rcvbuf(listener.sock) == beyond
            assert "udp_receive_buffer" not in caplog.text
        else:
            assert kernel_rcvbuf(listener.sock) == rmem_max()
            assert caplog.messages == [
                f"udp_receive_buffer: capped address=127.0.0.1:0 requested={beyond}"
                f" effective={rmem_max()} (raise net.core.rmem_max)"
            ]
    finally:
        listener.close()
    listener = UdpListener.bind("127.0.0.1", 0, answer)  # 0: the kernel's default
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
            assert kernel_rcvbuf(listener.sock) == kernel_rcvbuf(plain)
    finally:
        listener.close()
