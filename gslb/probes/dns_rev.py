"""dns_rev: ask the LDNS for the PTR record of its own address, over UDP.

For resolvers that answer names in their own reverse zone but not ".". Any
response counts. Config: `[probes] protocols = [..., "dns_rev", ...]`,
target port `port = 53` (or `ports = { dns_rev = 5353 }`).
"""

from __future__ import annotations

from typing import ClassVar

from gslb.model import IPAddress
from gslb.probes.base import ProbeResult, dns_exchange

PTR = 12


class DnsRev:
    name: ClassVar[str] = "dns_rev"

    async def probe(
        self, target: IPAddress, *, source: IPAddress | None, port: int, timeout: float
    ) -> ProbeResult:
        return await dns_exchange(
            self.name,
            target,
            target.reverse_pointer,
            PTR,
            source=source,
            port=port,
            timeout=timeout,
        )
