"""tcp: connect; optionally send a string and expect a reply matching a pattern.

    [[monitor]]
    name = "smtp"
    type = "tcp"
    interval = 10
    timeout = 3
    send = "EHLO gslb\\r\\n"    # optional: written once connected
    expect = "^250"             # optional: a regular expression the reply must match

Without `expect` a completed connection is up. With it, the reply is read
until the pattern matches, the peer closes, or 64 KiB have come.
"""

from __future__ import annotations

from re import Pattern
from typing import ClassVar

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


class TcpSettings(Settings):
    send: str = ""
    expect: Pattern[str] | None = None


class TcpMonitor(BaseMonitor[TcpSettings]):
    name: ClassVar[str] = "tcp"
    settings: ClassVar[type[Settings]] = TcpSettings

    async def probe(self, at: Endpoint, spec: TcpSettings, timeout: float) -> CheckResult:
        reader, writer = await open_stream(at)
        try:
            if spec.send:
                writer.write(spec.send.encode())
                await writer.drain()
            if spec.expect is None:
                return up("connected")
            data = await read_some(reader, spec.expect)
        finally:
            await close_stream(writer)
        if matches(spec.expect, data):
            return up("reply matched")
        return down(f"reply did not match {spec.expect.pattern!r}")
