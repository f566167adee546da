"""UdpListener on a real loopback socket, through both loops of
gslb.server.batchio (recvmmsg/sendmmsg in C, recvfrom/sendto in Python):
bursts past a wake-up's batch and the send groups, every reply to its own
query, nothing for a dropped one; the peer's address as text, IPv6 too; a
datagram longer than the slot cut; a failing answer(); the receive buffer
asked for."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator

import pytest

from gslb.server import batchio
from gslb.server.batchio import MAX_DATAGRAM
from gslb.server.udp_listener import BATCH, SEND_BATCH, SO_RCVBUFFORCE, UdpListener
from tests.integration.conftest import IO_PATHS

BURST = 2 * BATCH + SEND_BATCH + 3  # more than one wake-up, a group not full at the end

Answer = Callable[[bytes, object, str], bytes | None]


@pytest.fixture(params=IO_PATHS)
def io_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "compiled":
        if not batchio.built():
            pytest.fail("gslb/server/_batchio.c is not built: run pip install -e . (make venv)")
        monkeypatch.delenv("GSLB_PURE", raising=False)
    else:
        monkeypatch.setenv("GSLB_PURE", "1")
    yield request.param


def bind(io_path: str, answer: Answer, host: str = "127.0.0.1") -> UdpListener:
    listener = UdpListener.bind(host, 0, answer)
    assert listener._wakeup.is_compiled == (io_path == "compiled")
    return listener


async def receive(client: socket.socket, count: int, timeout: float = 5.0) -> list[bytes]:
    """Up to `count` datagrams within `timeout`, then whatever else comes in 50 ms."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    got: list[bytes] = []
    while len(got) < count and loop.time() < deadline:
        try:
            got.append(client.recv(65536))
        except BlockingIOError:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    while True:
        try:
            got.append(client.recv(65536))
        except BlockingIOError:
            return got


def client_for(listener: UdpListener, family: int = socket.AF_INET) -> socket.socket:
    client = socket.socket(family, socket.SOCK_DGRAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    client.setblocking(False)
    return client


async def test_a_burst_is_answered_in_full_and_in_order(io_path: str) -> None:
    def answer(data: bytes, peer: object, transport: str) -> bytes | None:
        assert (peer, transport) == ("127.0.0.1", "udp")
        n = int.from_bytes(data, "big")
        return None if n % 10 == 7 else b"reply-" + data  # every tenth query is dropped

    listener = bind(io_path, answer)
    client = client_for(listener)
    try:
        for n in range(BURST):  # all queued before the listener reads one
            client.sendto(n.to_bytes(4, "big"), ("127.0.0.1", listener.port))
        expected = [b"reply-" + n.to_bytes(4, "big") for n in range(BURST) if n % 10 != 7]
        assert await receive(client, len(expected)) == expected
        assert listener.send_failures == 0
    finally:
        client.close()
        listener.close()


async def test_each_datagram_gets_its_own_sender_when_senders_alternate(io_path: str) -> None:
    """Datagrams from two addresses in turn, one after another or twice from
    one: each answer() sees its own sender (the compiled loop reuses the text
    of the sender before only when it is the same address)."""
    seen: list[object] = []

    def answer(data: bytes, peer: object, transport: str) -> bytes | None:
        seen.append(peer)
        return data + b" " + str(peer).encode()

    listener = bind(io_path, answer)
    clients = {host: client_for(listener) for host in ("127.0.0.11", "127.0.0.12")}
    try:
        for host, client in clients.items():
            client.bind((host, 0))
        order = ["127.0.0.11", "127.0.0.12", "127.0.0.12", "127.0.0.11", "127.0.0.12"]
        for n, host in enumerate(order):
            clients[host].sendto(b"%d" % n, ("127.0.0.1", listener.port))
        for host, client in clients.items():
            expected = [b"%d %s" % (n, host.encode()) for n, h in enumerate(order) if h == host]
            assert await receive(client, len(expected)) == expected
        assert seen == order
    finally:
        for client in clients.values():
            client.close()
        listener.close()


async def test_peer_text_and_sizes_over_ipv6(io_path: str) -> None:
    """The peer as socket.recvfrom gives it ("::1"); a datagram longer than
    MAX_DATAGRAM arrives cut at MAX_DATAGRAM; a long reply goes out whole."""
    seen: list[tuple[object, int]] = []

    def answer(data: bytes, peer: object, transport: str) -> bytes | None:
        seen.append((peer, len(data)))
        return data[:1] * 9000

    try:
        listener = bind(io_path, answer, "::1")
    except OSError as err:
        pytest.skip(f"no IPv6 loopback: {err}")
    client = client_for(listener, socket.AF_INET6)
    try:
        client.sendto(b"a" * 12, ("::1", listener.port))
        client.sendto(b"b" * (MAX_DATAGRAM + 500), ("::1", listener.port))
        assert await receive(client, 2) == [b"a" * 9000, b"b" * 9000]
        assert seen == [("::1", 12), ("::1", MAX_DATAGRAM)]
    finally:
        client.close()
        listener.close()


async def test_replies_made_before_a_failing_answer_are_sent(io_path: str) -> None:
    """answer() never raises in gslbd (a bug answers SERVFAIL); if it did, the
    exception reaches the event loop's handler, and the listener goes on."""
    failures: list[BaseException] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: failures.append(context["exception"]))

    def answer(data: bytes, peer: object, transport: str) -> bytes | None:
        if data == b"boom":
            raise RuntimeError("boom")
        return b"ok-" + data

    listener = bind(io_path, answer)
    client = client_for(listener)
    try:
        for payload in (b"1", b"boom", b"2"):
            client.sendto(payload, ("127.0.0.1", listener.port))
        got = await receive(client, 2, timeout=2.0)
        assert got[0] == b"ok-1"
        assert [type(e) for e in failures] == [RuntimeError]
        # Still serving: the query after the failure is answered in this or the next wake-up.
        client.sendto(b"3", ("127.0.0.1", listener.port))
        got += await receive(client, 1)
        assert got[1:] in ([b"ok-2", b"ok-3"], [b"ok-3"])
    finally:
        loop.set_exception_handler(None)
        client.close()
        listener.close()


def silent(data: bytes, peer: object, transport: str) -> bytes | None:
    return None


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
    listener = UdpListener.bind("127.0.0.1", 0, silent, receive_buffer=asked)
    try:
        assert kernel_rcvbuf(listener.sock) == asked
        assert "udp_receive_buffer" not in caplog.text
    finally:
        listener.close()
    beyond = rmem_max() * 2
    listener = UdpListener.bind("127.0.0.1", 0, silent, receive_buffer=beyond)
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
    listener = UdpListener.bind("127.0.0.1", 0, silent)  # 0: the kernel's default
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
            assert kernel_rcvbuf(listener.sock) == kernel_rcvbuf(plain)
    finally:
        listener.close()
