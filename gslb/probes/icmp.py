"""icmp: an ICMP echo to the LDNS (gslb/probes/ping.py sends it).

A raw socket where permitted (root or CAP_NET_RAW), else the kernel's
unprivileged ICMP datagram socket (`net.ipv4.ping_group_range`). Where
neither may be opened the prober says so once in the log and disables
itself; the scheduler then goes on with the next protocol. Hops come from
the reply's IP TTL or IPv6 hop limit. Config: `[probes] protocols = [...,
"icmp"]` (the port is not used).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from gslb.model import IPAddress
from gslb.probes.base import ProbeResult, failure, hops_from_ttl
from gslb.probes.ping import PingRefused, open_ping_socket, ping

log = logging.getLogger(__name__)


class Icmp:
    name: ClassVar[str] = "icmp"

    def __init__(self) -> None:
        self.disabled = False

    async def probe(
        self, target: IPAddress, *, source: IPAddress | None, port: int, timeout: float
    ) -> ProbeResult:
        if self.disabled:
            return ProbeResult(self.name, None, detail="disabled")
        try:
            sock = open_ping_socket(target, source)
        except PingRefused as exc:
            self.disabled = True
            log.warning("probe_disabled: protocol=icmp reason=%r", str(exc))
            return ProbeResult(self.name, None, detail="disabled")
        except OSError as exc:
            return failure(self.name, exc)
        with sock:
            try:
                echo = await ping(sock, target, timeout)
            except (OSError, TimeoutError) as exc:
                return failure(self.name, exc)
        return ProbeResult(self.name, max(1, echo.rtt_ns // 1000), hops_from_ttl(echo.ttl))
