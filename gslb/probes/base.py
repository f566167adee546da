"""The prober seam, and the socket work the probers share.

A prober measures one path: from a source address (a data center's
`probe_source`) to a target (an LDNS), once. Any reply is an RTT sample; a
network failure is a result (`rtt_us=None`, `detail="timeout"`), never an
exception. Hops come from the reply's IP TTL where the socket can read it
(IP_RECVTTL / IPV6_RECVHOPLIMIT on UDP), else 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar, Protocol

from gslb.model import IPAddress

# Initial TTLs in common use (Linux/BSD 64, Windows 128, network gear 255):
# the hop count is the distance from the nearest one at or above the TTL seen.
_INITIAL_TTLS = (64, 128, 255)
_CMSG_SPACE = socket.CMSG_SPACE(struct.calcsize("i"))
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)  # Linux's value; Python does not export it


@dataclass(frozen=True, slots=True)
class ProbeResult:
    protocol: str
    rtt_us: int | None  # None: no reply at all
    hops: int = 0
    detail: str = "reply"  # reply | refused | reset | timeout | unreachable | disabled | error

    @property
    def ok(self) -> bool:
        return self.rtt_us is not None


class Prober(Protocol):
    name: ClassVar[str]  # dns_dot | dns_rev | udp | tcp | icmp

    async def probe(
        self, target: IPAddress, *, source: IPAddress | None, port: int, timeout: float
    ) -> ProbeResult: ...


def family(address: IPAddress) -> socket.AddressFamily:
    return socket.AF_INET if isinstance(address, IPv4Address) else socket.AF_INET6


def hops_from_ttl(ttl: int | None) -> int:
    if not ttl:
        return 0
    return next((initial - ttl for initial in _INITIAL_TTLS if ttl <= initial), 0)


def elapsed_us(started_ns: int) -> int:
    return max(1, (time.perf_counter_ns() - started_ns) // 1000)


def failure(protocol: str, exc: BaseException | None) -> ProbeResult:
    """A failed probe: the socket error's short name (or timeout) as detail."""
    if exc is None or isinstance(exc, TimeoutError):
        return ProbeResult(protocol, None, detail="timeout")
    code = getattr(exc, "errno", None)
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL):
        return ProbeResult(protocol, None, detail="unreachable")
    return ProbeResult(protocol, None, detail=f"error: {exc}")


def open_socket(
    target: IPAddress, kind: socket.SocketKind, source: IPAddress | None, proto: int = 0
) -> socket.socket:
    """A non-blocking socket of the target's family, bound to `source` if given."""
    sock = socket.socket(family(target), kind, proto)
    try:
        sock.setblocking(False)
        if source is not None:
            sock.bind((str(source), 0))
    except BaseException:
        sock.close()
        raise
    return sock


async def readable(sock: socket.socket) -> None:
    """Wait until `sock` has something to read (data or a queued error)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


async def udp_exchange(
    protocol: str,
    target: IPAddress,
    *,
    source: IPAddress | None,
    port: int,
    timeout: float,
    payload: bytes,
    is_reply: Callable[[bytes], bool] | None = None,
) -> ProbeResult:
    """Send one datagram from a connected socket; a reply or ICMP port
    unreachable (ConnectionRefusedError) is a sample. `is_reply(data)` may
    reject stray datagrams, which are skipped."""
    try:
        sock = open_socket(target, socket.SOCK_DGRAM, source)
    except OSError as exc:
        return failure(protocol, exc)
    with sock:
        v4 = sock.family == socket.AF_INET
        level, option = (
            (socket.IPPROTO_IP, IP_RECVTTL)
            if v4
            else (socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT)
        )
        with contextlib.suppress(OSError):
            sock.setsockopt(level, option, 1)
        try:
            async with asyncio.timeout(timeout):
                sock.connect((str(target), port))
                started = time.perf_counter_ns()
                sock.send(payload)
                while True:
                    await readable(sock)
                    try:
                        data, ancillary, _, _ = sock.recvmsg(4096, _CMSG_SPACE)
                    except ConnectionRefusedError:
                        return ProbeResult(protocol, elapsed_us(started), detail="refused")
                    except BlockingIOError:
                        continue
                    if is_reply is None or is_reply(data):
                        return ProbeResult(protocol, elapsed_us(started), ttl_hops(ancillary))
        except OSError as exc:
            return failure(protocol, exc)


def ancillary_ttl(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The IP_TTL or IPV6_HOPLIMIT a recvmsg() handed over, if any."""
    for _level, _type, data in ancillary:
        if len(data) >= 4:
            return int(struct.unpack("i", data[:4])[0])
        if len(data) == 1:  # some kernels hand IP_TTL as one byte
            return data[0]
    return None


def ttl_hops(ancillary: list[tuple[int, int, bytes]]) -> int:
    return hops_from_ttl(ancillary_ttl(ancillary))


async def dns_exchange(
    protocol: str,
    target: IPAddress,
    qname: str,
    qtype: int,
    *,
    source: IPAddress | None,
    port: int,
    timeout: float,
) -> ProbeResult:
    """One DNS query over UDP (RD clear: the LDNS need not recurse); any
    response with our ID counts, whatever its rcode."""
    qid = random.getrandbits(16)
    labels = b"".join(
        len(part).to_bytes(1, "big") + part.encode("ascii") for part in qname.split(".") if part
    )
    query = (
        struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)
    )

    def is_reply(data: bytes) -> bool:
        return len(data) >= 12 and data[:2] == query[:2] and bool(data[2] & 0x80)

    return await udp_exchange(
        protocol,
        target,
        source=source,
        port=port,
        timeout=timeout,
        payload=query,
        is_reply=is_reply,
    )
