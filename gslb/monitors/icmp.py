"""icmp: one echo request; up when the echo reply comes back in time.

    [[monitor]]
    name = "gateway"
    type = "icmp"
    interval = 5
    timeout = 1

The usual link monitor of a data center (`link_monitor`, pinging the ISP
gateway at `link_address`). Needs a raw socket (root, or CAP_NET_RAW); where
that is refused, the kernel's unprivileged ICMP sockets are used if
`net.ipv4.ping_group_range` allows them. Sent from the data center's
`probe_source` when set. The port is ignored.
"""

from __future__ import annotations

import socket
import uuid
from typing import Any, ClassVar

import aioping  # type: ignore[import-untyped]

from gslb.model import IPAddress
from gslb.monitors.base import BaseMonitor, CheckResult, Endpoint, Settings

_PROTOCOL = {4: socket.getprotobyname("icmp"), 6: socket.getprotobyname("ipv6-icmp")}


def icmp_socket(target: IPAddress, source: IPAddress | None) -> socket.socket:
    family = socket.AF_INET if target.version == 4 else socket.AF_INET6
    proto = _PROTOCOL[target.version]
    try:
        sock = socket.socket(family, socket.SOCK_RAW, proto)
    except PermissionError:
        sock = socket.socket(family, socket.SOCK_DGRAM, proto)
    sock.setblocking(False)
    if source is not None:
        sock.bind((str(source), 0))
    return sock


class IcmpMonitor(BaseMonitor[Settings]):
    name: ClassVar[str] = "icmp"
    settings: ClassVar[type[Settings]] = Settings

    async def probe(self, at: Endpoint, spec: Settings, timeout: float) -> CheckResult:
        sock = icmp_socket(at.address, at.source)
        try:
            ident = uuid.uuid4().int & 0xFFFF
            address: tuple[Any, ...] = (str(at.address), 0)
            await aioping.send_one_ping(sock, address, ident, timeout, sock.family)
            delay = await aioping.receive_one_ping(sock, ident, timeout)
        finally:
            sock.close()
        return CheckResult(True, "echo reply", float(delay))
