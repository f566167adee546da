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

HTTP/1.1 with `Connection: close`; the body is read up to 64 KiB. With
`verify = true` the certificate must be valid for `host` (or the address).
"""

from __future__ import annotations

import ssl
from re import Pattern
from typing import Annotated, ClassVar

from pydantic import Field

from gslb.model import IPAddress
from gslb.monitors.base import (
    BaseMonitor,
    CheckResult,
    Endpoint,
    Settings,
    close_stream,
    down,
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


def parse_status(head: bytes) -> int | None:
    """The status code of `HTTP/1.x NNN reason`, None if it is not one."""
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    return int(parts[1])


class HttpMonitor(BaseMonitor[HttpSettings]):
    name: ClassVar[str] = "http"
    settings: ClassVar[type[Settings]] = HttpSettings

    def tls(self, spec: HttpSettings) -> ssl.SSLContext | None:
        return None

    async def probe(self, at: Endpoint, spec: HttpSettings, timeout: float) -> CheckResult:
        tls = self.tls(spec)
        hostname = spec.host.rsplit(":", 1)[0] if spec.host else str(at.address)
        reader, writer = await open_stream(at, tls, hostname)
        try:
            writer.write(request(spec, at.address, at.port))
            await writer.drain()
            data = await read_some(reader, None)
        finally:
            await close_stream(writer)
        head, _, body = data.partition(b"\r\n\r\n")
        status = parse_status(head.split(b"\r\n", 1)[0])
        if status is None:
            return down("not an HTTP response")
        if status not in spec.status:
            return down(f"status {status}")
        if not matches(spec.expect, body):
            assert spec.expect is not None
            return down(f"status {status}, body did not match {spec.expect.pattern!r}")
        return up(f"status {status}")


class HttpsMonitor(HttpMonitor):
    name: ClassVar[str] = "https"
    settings: ClassVar[type[Settings]] = HttpsSettings

    def tls(self, spec: HttpSettings) -> ssl.SSLContext | None:
        context = ssl.create_default_context()
        if isinstance(spec, HttpsSettings) and not spec.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context
