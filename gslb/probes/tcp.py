"""tcp: a TCP connect to the LDNS; a SYN-ACK or a RST both count.

The connection is closed as soon as it is made (nothing is sent). The RTT
is the kernel's own measure of the handshake (TCP_INFO's tcpi_rtt: SYN to
SYN-ACK, whenever the event loop gets to it); where the kernel has none
(not Linux, a retransmitted SYN) and for a RST it is the time from the
connect call to the loop seeing the outcome. Hops are not known (0): the
SYN-ACK's TTL is not readable from a socket. Config:
`[probes] protocols = [..., "tcp", ...]`, target port `port = 53` (or
`ports = { tcp = 53 }`).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import ClassVar

from gslb.model import IPAddress
from gslb.probes.base import ProbeResult, Stamp, failure, open_socket

TCPI_RTT = 68  # offset of tcpi_rtt (µs, a u32) in Linux's struct tcp_info


def handshake_rtt_us(sock: socket.socket) -> int | None:
    """The kernel's RTT of a connection just made, if it has one."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCPI_RTT + 8)
    except (OSError, AttributeError):  # no TCP_INFO on this system
        return None
    if len(info) < TCPI_RTT + 4:
        return None
    rtt: int = struct.unpack_from("I", info, TCPI_RTT)[0]
    return rtt or None


class Tcp:
    name: ClassVar[str] = "tcp"

    async def probe(
        self, target: IPAddress, *, source: IPAddress | None, port: int, timeout: float
    ) -> ProbeResult:
        try:
            sock = open_socket(target, socket.SOCK_STREAM, source)
        except OSError as exc:
            return failure(self.name, exc)
        with sock:
            # No lingering: the close sends a RST rather than a FIN handshake.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sent = Stamp()
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.get_running_loop().sock_connect(sock, (str(target), port))
            except ConnectionRefusedError:
                return ProbeResult(self.name, sent.rtt_us(None), detail="reset")
            except OSError as exc:
                return failure(self.name, exc)
            return ProbeResult(self.name, handshake_rtt_us(sock) or sent.rtt_us(None))
