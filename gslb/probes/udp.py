"""udp: one datagram to the LDNS; a reply or an ICMP port unreachable counts.

The socket is connected, so the kernel reports the port unreachable as
ConnectionRefusedError: the path answered even though nothing listens. Only
silence is a failure. Config: `[probes] protocols = [..., "udp", ...]`,
target port `port = 53` (or `ports = { udp = 33434 }`: a port nothing listens
on, so the ICMP error is the answer).
"""

from __future__ import annotations

from typing import ClassVar

from gslb.model import IPAddress
from gslb.probes.base import ProbeResult, udp_exchange

# A bare DNS header without a question: a resolver on the port answers it
# (FORMERR) without doing any work, and a closed port answers ICMP unreachable.
PAYLOAD = bytes.fromhex("675300000000000000000000")


class Udp:
    name: ClassVar[str] = "udp"

    async def probe(
        self, target: IPAddress, *, source: IPAddress | None, port: int, timeout: float
    ) -> ProbeResult:
        return await udp_exchange(
            self.name, target, source=source, port=port, timeout=timeout, payload=PAYLOAD
        )
