"""The DNS listeners: UDP and TCP on every `[server] listen` address.

Every socket sets SO_REUSEPORT, so the worker processes of one gslbd
(gslb/server/supervisor.py) bind the same addresses and the kernel spreads
datagrams and connections over them by a hash of the 4-tuple.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

from gslb.model import ServerSettings
from gslb.server.tcp_listener import TcpConnection, TcpLimits
from gslb.server.udp_listener import Answer, UdpListener

# (transport, event): what the listeners count besides queries, exported as
# gslb_transport_events_total (gslb/control/metrics.py).
Events = dict[tuple[str, str], int]


@dataclass
class Listeners:
    transports: list[UdpListener] = field(default_factory=list)
    servers: list[asyncio.AbstractServer] = field(default_factory=list)
    bound: list[tuple[str, str, int]] = field(default_factory=list)  # (proto, host, port)
    limits: TcpLimits | None = None  # shared by every TCP connection

    def events(self) -> Events:
        """Running totals: UDP replies the kernel did not take, TCP connections
        refused at the limit or the client's limit, closed idle, and aborted for oversized input."""
        limits = self.limits
        return {
            ("udp", "send_failed"): sum(t.send_failures for t in self.transports),
            ("tcp", "refused"): limits.refused if limits else 0,
            ("tcp", "refused_client"): limits.refused_client if limits else 0,
            ("tcp", "idle_timeout"): limits.timed_out if limits else 0,
            ("tcp", "input_overflow"): limits.overflowed if limits else 0,
        }

    def close(self) -> None:
        """Stop receiving; `wait_closed` finishes the TCP side."""
        for t in self.transports:
            t.close()
        for s in self.servers:
            s.close()

    async def wait_closed(self) -> None:
        for s in self.servers:
            await s.wait_closed()


async def bind(settings: ServerSettings, answer: Answer) -> Listeners:
    """Listen on every address of `settings`, UDP then TCP on the same port."""
    loop = asyncio.get_running_loop()
    limits = TcpLimits(
        settings.tcp_idle_timeout,
        settings.tcp_max_connections,
        settings.tcp_max_connections_per_client,
    )
    out = Listeners(limits=limits)
    for host, port in settings.listen:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        udp = UdpListener.bind(host, port, answer, settings.udp_receive_buffer)
        out.transports.append(udp)
        bound_port = udp.port
        server = await loop.create_server(
            lambda: TcpConnection(answer, limits),
            host,
            bound_port,
            family=family,
            reuse_port=True,
        )
        out.servers.append(server)
        out.bound += [("udp", host, bound_port), ("tcp", host, bound_port)]
    return out
