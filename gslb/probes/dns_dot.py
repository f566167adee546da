"""dns_dot: ask the LDNS for the root's NS records ("." NS) over UDP.

Nearly every resolver answers it from its priming data; any response counts,
REFUSED included. Config: `[probes] protocols = ["dns_dot", ...]`, target
port `port = 53` (or `ports = { dns_dot = 5353 }`).
"""

from __future__ import annotations

from typing import ClassVar

from gslb.model import IPAddress
from gslb.probes.base import ProbeResult, dns_exchange

NS = 2


class DnsDot:
    name: ClassVar[str] = "dns_dot"

    async def probe(
        self, target: IPAddress, *, source: IPAddress | None, port: int, timeout: float
    ) -> ProbeResult:
        return await dns_exchange(
            self.name, target, ".", NS, source=source, port=port, timeout=timeout
        )
