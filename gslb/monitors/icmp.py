"""icmp: one echo request; up when the echo reply comes back in time.

    [[monitor]]
    name = "gateway"
    type = "icmp"
    interval = 5
    timeout = 1

The usual link monitor of a data center (`link_monitor`, pinging the ISP
gateway at `link_address`). A raw socket (root, or CAP_NET_RAW); where that
is refused, the kernel's unprivileged ICMP socket if `net.ipv4.ping_group_range`
allows it (gslb/probes/ping.py). Sent from the data center's `probe_source`
when set. The port is ignored.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.monitors.base import BaseMonitor, CheckResult, Endpoint, Settings, down
from gslb.probes.ping import PingRefused, open_ping_socket, ping


class IcmpMonitor(BaseMonitor[Settings]):
    name: ClassVar[str] = "icmp"
    settings: ClassVar[type[Settings]] = Settings

    async def probe(self, at: Endpoint, spec: Settings, timeout: float) -> CheckResult:
        try:
            sock = open_ping_socket(at.address, at.source)
        except PingRefused as exc:
            return down(str(exc))
        with sock:
            echo = await ping(sock, at.address, timeout)
        return CheckResult(True, "echo reply", echo.rtt_ns / 1e9)
