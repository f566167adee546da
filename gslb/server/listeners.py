"""The DNS listeners: UDP and TCP on every `[server] listen` address.

The worker processes of one gslbd (gslb/server/supervisor.py) bind the same
addresses with SO_REUSEPORT (`reuse_port`), and the kernel spreads
datagrams and connections over them by a hash of the 4-tuple. A single
gslbd binds without it, and one with workers binds every address alone
first (gslb/server/app.py), so neither shares its addresses with another
server by mistake. A socket that cannot be bound is a ListenError of one
line that says what to do.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from dataclasses import dataclass, field

from gslb.errors import GslbError
from gslb.model import ServerSettings
from gslb.server.tcp_listener import TcpConnection, TcpLimits
from gslb.server.udp_listener import Answer, UdpListener

# (transport, event): what the listeners count besides queries, exported as
# gslb_transport_events_total (gslb/control/metrics.py).
Events = dict[tuple[str, str], int]
PRIVILEGED_PORTS = 1024  # below this, binding takes CAP_NET_BIND_SERVICE (or root)


class ListenError(GslbError):
    """A listen address could not be bound."""


def listen_error(proto: str, host: str, port: int, exc: OSError) -> ListenError:
    """What went wrong binding `host`:`port`, and what to do about it."""
    where = f"cannot listen on {proto} {host if ':' not in host else f'[{host}]'}:{port}"
    if exc.errno == errno.EACCES and port < PRIVILEGED_PORTS:
        return ListenError(
            f"{where}: permission denied; ports below {PRIVILEGED_PORTS} need the "
            "CAP_NET_BIND_SERVICE capability: run gslbd under systemd with "
            "AmbientCapabilities=CAP_NET_BIND_SERVICE (contrib/systemd/gslbd.service), "
            "or `setcap cap_net_bind_service=+ep` on its Python, or as root"
        )
    if exc.errno == errno.EADDRINUSE:
        return ListenError(f"{where}: address already in use (another DNS server?)")
    if exc.errno == errno.EADDRNOTAVAIL:
        return ListenError(f"{where}: no such address on this host")
    return ListenError(f"{where}: {exc.strerror or exc}")


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


async def bind(settings: ServerSettings, answer: Answer, *, reuse_port: bool) -> Listeners:
    """Listen on every address of `settings`, UDP then TCP on the same port;
    on a ListenError nothing stays bound."""
    loop = asyncio.get_running_loop()
    limits = TcpLimits(
        settings.tcp_idle_timeout,
        settings.tcp_max_connections,
        settings.tcp_max_connections_per_client,
    )
    out = Listeners(limits=limits)
    try:
        for host, port in settings.listen:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            try:
                udp = UdpListener.bind(
                    host,
                    port,
                    answer,
                    reuse_port=reuse_port,
                    receive_buffer=settings.udp_receive_buffer,
                )
            except OSError as exc:
                raise listen_error("udp", host, port, exc) from None
            out.transports.append(udp)
            bound_port = udp.port
            try:
                server = await loop.create_server(
                    lambda: TcpConnection(answer, limits),
                    host,
                    bound_port,
                    family=family,
                    reuse_port=reuse_port,
                )
            except OSError as exc:
                raise listen_error("tcp", host, bound_port, exc) from None
            out.servers.append(server)
            out.bound += [("udp", host, bound_port), ("tcp", host, bound_port)]
    except ListenError:
        out.close()
        await out.wait_closed()
        raise
    return out
