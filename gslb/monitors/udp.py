"""udp: send a datagram; up when a reply comes (matching `expect`, when set).

    [[monitor]]
    name = "syslog_echo"
    type = "udp"
    interval = 10
    timeout = 2
    send = "ping"       # required: the datagram's payload
    expect = "pong"     # optional: a regular expression the reply must match

An ICMP port-unreachable (the socket reports "connection refused") is down;
so is silence until the timeout. Replies that do not match are skipped, so a
stray datagram does not decide the check.
"""

from __future__ import annotations

import asyncio
from re import Pattern
from typing import ClassVar

from pydantic import Field

from gslb.monitors.base import BaseMonitor, CheckResult, Endpoint, Settings, local_addr, matches, up


class UdpSettings(Settings):
    send: str = Field(min_length=1)
    expect: Pattern[str] | None = None


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self, expect: Pattern[str] | None) -> None:
        self.expect = expect
        self.done: asyncio.Future[CheckResult] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self.done.done() and matches(self.expect, data):
            self.done.set_result(up("reply"))

    def error_received(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


class UdpMonitor(BaseMonitor[UdpSettings]):
    name: ClassVar[str] = "udp"
    settings: ClassVar[type[Settings]] = UdpSettings

    async def probe(self, at: Endpoint, spec: UdpSettings, timeout: float) -> CheckResult:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Exchange(spec.expect),
            remote_addr=(str(at.address), at.port),
            local_addr=local_addr(at),
        )
        try:
            transport.sendto(spec.send.encode())
            return await protocol.done
        finally:
            transport.close()
