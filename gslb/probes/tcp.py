"""tcp: a TCP connect to the LDNS; a SYN-ACK or a RST both count.

The connection is closed as soon as it is made (nothing is sent). Hops are
not known (0): the SYN-ACK's TTL is not readable from a socket. Config:
`[probes] protocols = [..., "tcp", ...]`, target port `port = 53` (or
`ports = { tcp = 53 }`).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import ClassVar

from gslb.model import IPAddress
from gslb.probes.base import ProbeResult, elapsed_us, failure, open_socket


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
            started = time.perf_counter_ns()
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.get_running_loop().sock_connect(sock, (str(target), port))
            except ConnectionRefusedError:
                return ProbeResult(self.name, elapsed_us(started), detail="reset")
            except OSError as exc:
                return failure(self.name, exc)
            return ProbeResult(self.name, elapsed_us(started))
