"""dns: query a name over UDP; up when the rcode (and optionally an address) is as expected.

    [[monitor]]
    name = "resolver"
    type = "dns"
    interval = 10
    timeout = 2
    query = "health.example."   # required: the name asked for
    qtype = "A"                 # A (default), AAAA, or any type name dnslib knows
    rcode = "NOERROR"           # the expected response code (default NOERROR)
    address = "192.0.2.1"       # optional: an A/AAAA the answer must contain

Sent to the member's address and port (a DNS virtual server's port is 53).
A reply whose ID or question does not match the query is ignored, like any
stray datagram.
"""

from __future__ import annotations

import asyncio
import random
from ipaddress import ip_address
from typing import ClassVar

from dnslib import QTYPE, RCODE, DNSError, DNSRecord
from pydantic import Field, IPvAnyAddress, field_validator

from gslb.monitors.base import BaseMonitor, CheckResult, Endpoint, Settings, down, local_addr, up


class DnsSettings(Settings):
    query: str = Field(min_length=1)
    qtype: str = "A"
    rcode: str = "NOERROR"
    address: IPvAnyAddress | None = None

    @field_validator("qtype")
    @classmethod
    def _known_qtype(cls, value: str) -> str:
        if value.upper() not in QTYPE.reverse:
            raise ValueError(f"unknown record type {value!r}")
        return value.upper()

    @field_validator("rcode")
    @classmethod
    def _known_rcode(cls, value: str) -> str:
        if value.upper() not in RCODE.reverse:
            raise ValueError(f"unknown rcode {value!r}")
        return value.upper()


class _Reply(asyncio.DatagramProtocol):
    def __init__(self, query: DNSRecord) -> None:
        self.query = query
        self.done: asyncio.Future[DNSRecord] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            reply = DNSRecord.parse(data)
        except DNSError:
            return
        if (
            not self.done.done()
            and reply.header.id == self.query.header.id
            and reply.q == self.query.q
        ):
            self.done.set_result(reply)

    def error_received(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


def verdict(reply: DNSRecord, spec: DnsSettings) -> CheckResult:
    rcode = RCODE.get(reply.header.rcode)
    if rcode != spec.rcode:
        return down(f"rcode {rcode}")
    if spec.address is None:
        return up(f"rcode {rcode}")
    found = set()
    for rr in reply.rr:
        if QTYPE.get(rr.rtype) in ("A", "AAAA"):
            found.add(ip_address(str(rr.rdata)))
    if spec.address in found:
        return up(f"rcode {rcode}, {spec.address} answered")
    return down(f"{spec.address} not in the answer")


class DnsMonitor(BaseMonitor[DnsSettings]):
    name: ClassVar[str] = "dns"
    settings: ClassVar[type[Settings]] = DnsSettings

    async def probe(self, at: Endpoint, spec: DnsSettings, timeout: float) -> CheckResult:
        query = DNSRecord.question(spec.query, spec.qtype)
        query.header.id = random.getrandbits(16)
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Reply(query),
            remote_addr=(str(at.address), at.port),
            local_addr=local_addr(at),
        )
        try:
            transport.sendto(query.pack())
            reply = await protocol.done
        finally:
            transport.close()
        return verdict(reply, spec)
