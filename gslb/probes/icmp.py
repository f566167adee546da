"""icmp: an ICMP echo to the LDNS (aioping's checksum; sent right after the stamp).

Needs a raw socket (root or CAP_NET_RAW). Where raw sockets are not
permitted the prober says so once in the log and disables itself; the
scheduler then goes on with the next protocol. Hops come from the reply's IP
TTL (IPv4 header) or hop limit (IPv6 ancillary data); the RTT runs from
right before the send call to the kernel's arrival time of the reply
(SO_TIMESTAMPNS), the send time the kernel's where it gives one, as for
udp. Config:
`[probes] protocols = [..., "icmp"]` (the port is not used).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
from typing import ClassVar

import aioping

from gslb.model import IPAddress
from gslb.probes.base import (
    ANCILLARY,
    ProbeResult,
    Stamp,
    arrived_ns,
    failure,
    family,
    hops_from_ttl,
    open_socket,
    readable,
    receive_timestamps,
    ttl_hops,
)

log = logging.getLogger(__name__)

ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}
# aioping packs the header in native byte order; the reply echoes it as sent.
_HEADER = struct.Struct("BBHHH")


def echo_request(fam: socket.AddressFamily, ident: int) -> bytes:
    """An echo request as aioping makes it: sequence 1, 192 bytes of payload."""
    payload = b"Q" * 192
    header = _HEADER.pack(ECHO_REQUEST[fam], 0, 0, ident, 1)
    checksum = aioping.checksum(header + payload)
    return _HEADER.pack(ECHO_REQUEST[fam], 0, socket.htons(checksum), ident, 1) + payload


class Icmp:
    name: ClassVar[str] = "icmp"

    def __init__(self) -> None:
        self.disabled = False

    async def probe(
        self, target: IPAddress, *, source: IPAddress | None, port: int, timeout: float
    ) -> ProbeResult:
        if self.disabled:
            return ProbeResult(self.name, None, detail="disabled")
        fam = family(target)
        try:
            sock = open_socket(target, socket.SOCK_RAW, source, PROTO[fam])
        except PermissionError as exc:
            self.disabled = True
            log.warning("probe_disabled: protocol=icmp reason=%r", exc.strerror)
            return ProbeResult(self.name, None, detail="disabled")
        except OSError as exc:
            return failure(self.name, exc)
        with sock:
            if fam == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            receive_timestamps(sock)
            ident = random.getrandbits(16)
            try:
                async with asyncio.timeout(timeout):
                    packet = echo_request(fam, ident)
                    sent = Stamp()
                    try:
                        sock.sendto(packet, (str(target), 0))
                    except BlockingIOError:  # the send buffer is full: wait for room
                        await aioping.send_one_ping(sock, (str(target), 0), ident, timeout, fam)
                    return await self._reply(sock, target, ident, sent)
            except OSError as exc:
                return failure(self.name, exc)

    async def _reply(
        self, sock: socket.socket, target: IPAddress, ident: int, sent: Stamp
    ) -> ProbeResult:
        v4 = sock.family == socket.AF_INET
        while True:
            await readable(sock)
            sent.drain(sock)
            try:
                data, ancillary, _, peer = sock.recvmsg(2048, ANCILLARY)
            except BlockingIOError:  # woken by the send stamp alone
                continue
            # A raw IPv4 socket reads the IP header too; an IPv6 one does not.
            offset = (data[0] & 0x0F) * 4 if v4 else 0
            if peer[0] != str(target) or len(data) < offset + _HEADER.size:
                continue
            kind, _, _, got, _ = _HEADER.unpack_from(data, offset)
            if kind == ECHO_REPLY[sock.family] and got == ident:
                hops = hops_from_ttl(data[8]) if v4 else ttl_hops(ancillary)
                return ProbeResult(self.name, sent.rtt_us(arrived_ns(ancillary)), hops)
