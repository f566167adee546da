"""Small local servers that monitors are checked against, all on 127.0.0.1 port 0.

Each runs in the test's own event loop and can change its behaviour (or
stop) between checks, so rise and fall are seen against the real thing.
"""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, A, DNSRecord


@dataclass
class TcpServer:
    """Accepts connections; writes `banner` to each; `stop()` closes the port."""

    banner: bytes = b""
    server: asyncio.Server | None = None
    port: int = 0
    received: list[bytes] = field(default_factory=list)

    async def start(self, port: int = 0) -> TcpServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.banner:
                writer.write(self.banner)
                await writer.drain()
            data = await asyncio.wait_for(reader.read(4096), 0.3)
            self.received.append(data)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@dataclass
class HttpServer:
    """Answers every request with `status` and `body`; remembers the requests."""

    status: int = 200
    body: bytes = b"ok\n"
    chunks: tuple[bytes, ...] | None = None  # send the body chunked, in these pieces
    server: asyncio.Server | None = None
    port: int = 0
    requests: list[bytes] = field(default_factory=list)

    async def start(
        self, ssl_context: object | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> HttpServer:
        self.server = await asyncio.start_server(
            self._serve,
            host,
            port,
            ssl=ssl_context,  # type: ignore[arg-type]
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2.0)
            self.requests.append(head)
            if self.chunks is None:
                framing, body = f"Content-Length: {len(self.body)}", self.body
            else:
                framing = "Transfer-Encoding: chunked"
                body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in self.chunks)
                body += b"0\r\nX-Trailer: t\r\n\r\n"
            writer.write(
                f"HTTP/1.1 {self.status} X\r\n{framing}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class UdpEcho(asyncio.DatagramProtocol):
    """Sends every datagram back, prefixed with `prefix`; silent when `mute`."""

    def __init__(self, prefix: bytes = b"") -> None:
        self.prefix = prefix
        self.mute = False
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0

    async def start(self) -> UdpEcho:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
        assert self.transport is not None
        self.port = self.transport.get_extra_info("sockname")[1]
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        if not self.mute and self.transport is not None:
            self.transport.sendto(self.prefix + data, addr)

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()


class DnsResponder(UdpEcho):
    """Authoritative for `records` (name -> IPv4); NXDOMAIN for anything else."""

    def __init__(self, records: dict[str, str]) -> None:
        super().__init__()
        self.records = records

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        query = DNSRecord.parse(data)
        reply = query.reply()
        name = str(query.q.qname).lower()
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
        elif query.q.qtype == QTYPE.A:
            reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A(self.records[name]), ttl=60))
        if self.transport is not None and not self.mute:
            self.transport.sendto(reply.pack(), addr)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for 127.0.0.1 (openssl)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
