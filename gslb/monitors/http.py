"""http and https: one request; up when the status is expected (and the body matches).

    [[monitor]]
    name = "web_health"
    type = "http"               # or "https"
    interval = 5
    timeout = 2
    method = "GET"              # default GET
    path = "/health"            # default /
    host = "www.gslb.example"   # Host header; default the member's address
    status = [200, 204]         # expected status codes; default [200]
    expect = "ok"               # optional: a regular expression the body must match
    verify = false              # https only: check the certificate (default true)

HTTP/1.1 with `Connection: close`; the body is read up to 64 KiB, and a
chunked one (`Transfer-Encoding: chunked`) is decoded before `expect`
matches it. With `verify = true` the certificate must be valid for `host`
(or the address). The TLS context (the system's CA store, about 20 ms of
CPU to load) is made once per process for each `verify`, not per check, and
an https check runs on a thread of its own (`tls_exchange`), not on the
event loop that answers DNS.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from re import Pattern
from typing import Annotated, ClassVar

from pydantic import Field

from gslb.model import IPAddress
from gslb.monitors.base import (
    READ_LIMIT,
    BaseMonitor,
    CheckResult,
    Endpoint,
    Settings,
    close_stream,
    down,
    local_addr,
    matches,
    open_stream,
    read_some,
    up,
)


class HttpSettings(Settings):
    method: str = Field(default="GET", pattern=r"^[A-Z]+$")
    path: str = Field(default="/", pattern=r"^/\S*$")
    host: str | None = Field(default=None, pattern=r"^[^\s/]+$")
    status: list[Annotated[int, Field(ge=100, le=599)]] = Field(default=[200], min_length=1)
    expect: Pattern[str] | None = None


class HttpsSettings(HttpSettings):
    verify: bool = True


def request(spec: HttpSettings, target: IPAddress, port: int) -> bytes:
    default_port = 80 if not isinstance(spec, HttpsSettings) else 443
    host = spec.host
    if host is None:
        host = str(target) if target.version == 4 else f"[{target}]"
        host = host if port == default_port else f"{host}:{port}"
    lines = (
        f"{spec.method} {spec.path} HTTP/1.1",
        f"Host: {host}",
        "User-Agent: gslb-monitor",
        "Accept: */*",
        "Connection: close",
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def dechunk(body: bytes) -> bytes:
    """A chunked body's data (RFC 9112 §7.1), as far as it was read."""
    out = bytearray()
    while True:
        size_line, sep, rest = body.partition(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            return bytes(out)
        if not sep or size == 0:
            return bytes(out)
        out += rest[:size]
        body = rest[size + 2 :]  # the chunk's data, then CRLF


def is_chunked(head: bytes) -> bool:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"transfer-encoding":
            return value.strip().lower().endswith(b"chunked")
    return False


@functools.cache
def client_context(verify: bool) -> ssl.SSLContext:
    """The TLS context of every https check with this `verify`, made on first use."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def parse_status(head: bytes) -> int | None:
    """The status code of `HTTP/1.x NNN reason`, None if it is not one."""
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    return int(parts[1])


class HttpMonitor(BaseMonitor[HttpSettings]):
    name: ClassVar[str] = "http"
    settings: ClassVar[type[Settings]] = HttpSettings

    async def probe(self, at: Endpoint, spec: HttpSettings, timeout: float) -> CheckResult:
        reader, writer = await open_stream(at)
        try:
            writer.write(request(spec, at.address, at.port))
            await writer.drain()
            data = await read_some(reader, None)
        finally:
            await close_stream(writer)
        return verdict(spec, data)


class HttpsMonitor(HttpMonitor):
    name: ClassVar[str] = "https"
    settings: ClassVar[type[Settings]] = HttpsSettings

    def tls(self, spec: HttpSettings) -> ssl.SSLContext:
        return client_context(not isinstance(spec, HttpsSettings) or spec.verify)

    async def probe(self, at: Endpoint, spec: HttpSettings, timeout: float) -> CheckResult:
        loop = asyncio.get_running_loop()
        exchange = functools.partial(tls_exchange, at, spec, timeout, self.tls(spec))
        return verdict(spec, await loop.run_in_executor(_TLS_THREADS, exchange))


def verdict(spec: HttpSettings, data: bytes) -> CheckResult:
    """Up or down, from the whole response as read."""
    head, _, body = data.partition(b"\r\n\r\n")
    status = parse_status(head.split(b"\r\n", 1)[0])
    if is_chunked(head):
        body = dechunk(body)
    if status is None:
        return down("not an HTTP response")
    if status not in spec.status:
        return down(f"status {status}")
    if not matches(spec.expect, body):
        assert spec.expect is not None
        return down(f"status {status}, body did not match {spec.expect.pattern!r}")
    return up(f"status {status}")


# https checks run on threads of their own: OpenSSL lets go of the GIL while
# it computes a handshake, so the event loop goes on answering DNS. On the
# loop, 31 members checked every second took DNS p99 from 3.8 ms (http) to
# 18 ms on a loaded machine (load 7 on 2 cores); on these threads, 4.6 ms.
# As many as checks run at once ([control] monitor_concurrency: the monitor
# runner calls `reserve_threads`), so a check does not spend its timeout
# waiting for a thread; threads are started as needed and mostly wait on the
# network.
_TLS_THREADS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="gslb-https")
_tls_threads = 32


def reserve_threads(count: int) -> None:
    """At least `count` threads for https checks from now on. A larger pool
    replaces the old one, whose running exchanges finish on their threads."""
    global _TLS_THREADS, _tls_threads
    if count > _tls_threads:
        old = _TLS_THREADS
        _TLS_THREADS = ThreadPoolExecutor(max_workers=count, thread_name_prefix="gslb-https")
        _tls_threads = count
        old.shutdown(wait=False)


def tls_exchange(at: Endpoint, spec: HttpSettings, timeout: float, tls: ssl.SSLContext) -> bytes:
    """One request over TLS, blocking (on a _TLS_THREADS thread); the response
    up to READ_LIMIT bytes. The whole exchange ends within `timeout`: a
    backend that trickles its bytes must not hold a thread past its check."""
    hostname = spec.host.rsplit(":", 1)[0] if spec.host else str(at.address)
    address = (str(at.address), at.port)
    deadline = time.monotonic() + timeout

    def left() -> float:  # an expired deadline times the next operation out at once
        return max(0.001, deadline - time.monotonic())

    with socket.create_connection(address, left(), source_address=local_addr(at)) as raw:
        raw.settimeout(left())  # the handshake, in wrap_socket
        with tls.wrap_socket(raw, server_hostname=hostname) as conn:
            conn.settimeout(left())
            conn.sendall(request(spec, at.address, at.port))
            return _read(conn, left)


def _read(conn: ssl.SSLSocket, left: Callable[[], float]) -> bytes:
    data = b""
    while len(data) < READ_LIMIT:
        conn.settimeout(left())
        try:
            chunk = conn.recv(READ_LIMIT - len(data))
        except ssl.SSLEOFError:  # closed without close_notify: the end all the same
            break
        if not chunk:
            break
        data += chunk
    return data
