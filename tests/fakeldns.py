"""A small fake LDNS for probe tests: an asyncio UDP DNS responder you subclass.

It answers every datagram that has a DNS header with that header flagged as a
response (QR, no records), after `delay(source)` seconds; `None` means never
answer that source. `FakeLdns.start()` runs it in the test's own loop;
`ldns_thread` runs one (`ldns_threads` many) in a background thread, for
tests that drive a real gslbd process synchronously or hold their own event
loop. `probing()` is the config of data centers that probe them.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from gslb.model import Config, DataCenter, ProbeSettings, ServerSettings


def probing(datacenters: tuple[DataCenter, ...], probes: ProbeSettings) -> Config:
    """A config of these data centers and `[probes]`, nothing else."""
    return Config(
        source="",
        server=ServerSettings(),
        datacenters=datacenters,
        virtual_servers=(),
        pools=(),
        wideips=(),
        regions=(),
        topology=(),
        zones=(),
        probes=probes,
    )


class FakeLdns(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.received: list[tuple[str, bytes]] = []  # (source address, datagram)

    def delay(self, source: str) -> float | None:
        """Seconds to wait before answering `source`; None: stay silent."""
        return 0.0

    def reply(self, query: bytes) -> bytes | None:
        if len(query) < 12:
            return None
        return query[:2] + bytes([query[2] | 0x80, query[3]]) + query[4:]

    async def start(self, host: str = "127.0.0.1", port: int = 0, ttl: int | None = None) -> int:
        """Listen on host:port; `ttl` sets the IP TTL of the replies."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        if ttl is not None:
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        self.transport = transport
        return int(transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.received.append((addr[0], data))
        wait = self.delay(addr[0])
        answer = self.reply(data)
        if wait is None or answer is None:
            return
        loop = asyncio.get_running_loop()
        loop.call_later(wait, self._send, answer, addr)

    def _send(self, answer: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(answer, addr)


class DelayBySource(FakeLdns):
    """Delays set per source address (seconds; None: silent), changeable live;
    `once[source]` lists delays for the next datagrams from it (outliers)."""

    def __init__(self, delays: dict[str, float | None], default: float | None = 0.0) -> None:
        super().__init__()
        self.delays = dict(delays)
        self.default = default
        self.once: dict[str, list[float | None]] = {}

    def delay(self, source: str) -> float | None:
        pending = self.once.get(source)
        if pending:
            return pending.pop(0)
        return self.delays.get(source, self.default)


@contextmanager
def ldns_thread(ldns: FakeLdns, host: str, port: int = 0) -> Iterator[int]:
    """Serve `ldns` on host:port from a thread; yields the bound port."""
    with ldns_threads({host: ldns}, port) as bound:
        yield bound


@contextmanager
def ldns_threads(fakes: Mapping[str, FakeLdns], port: int = 0) -> Iterator[int]:
    """Serve each fake on its address, all on one port (0: the first one's
    port, chosen by the kernel), from one background thread; yields the port."""
    loop = asyncio.new_event_loop()
    started: asyncio.Future[int] = loop.create_future()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(_serve(fakes, port, started))
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    bound = asyncio.run_coroutine_threadsafe(_wait(started), loop).result(timeout=30)
    try:
        yield bound
    finally:
        for fake in fakes.values():
            loop.call_soon_threadsafe(fake.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


async def _serve(fakes: Mapping[str, FakeLdns], port: int, started: asyncio.Future[int]) -> None:
    try:
        for host, fake in fakes.items():
            port = await fake.start(host, port)
    except BaseException as exc:
        started.set_exception(exc)
        raise
    started.set_result(port)


async def _wait(started: asyncio.Future[int]) -> int:
    return await started
