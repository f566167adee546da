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

from gslb.model import IPAddress
from gslb.monitors.base import CheckResult, Settings, matches, run_check, up


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


class UdpMonitor:
    name: ClassVar[str] = "udp"
    settings: ClassVar[type[Settings]] = UdpSettings

    async def check(
        self,
        target: IPAddress,
        port: int,
        *,
        source: IPAddress | None,
        timeout: float,
        spec: UdpSettings,
    ) -> CheckResult:
        return await run_check(self._check(target, port, source, spec), timeout)

    @staticmethod
    async def _check(
        target: IPAddress, port: int, source: IPAddress | None, spec: UdpSettings
    ) -> CheckResult:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Exchange(spec.expect),
            remote_addr=(str(target), port),
            local_addr=(str(source), 0) if source is not None else None,
        )
        try:
            transport.sendto(spec.send.encode())
            return await protocol.done
        finally:
            transport.close()
