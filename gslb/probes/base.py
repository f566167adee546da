"""The prober seam, and the socket work the probers share.

A prober measures one path: from a source address (a data center's
`probe_source`) to a target (an LDNS), once. Any reply is an RTT sample; a
network failure is a result (`rtt_us=None`, `detail="timeout"`), never an
exception. Hops come from the reply's IP TTL where the socket can read it
(IP_RECVTTL / IPV6_RECVHOPLIMIT on UDP), else 0.

An RTT measures the network, not the event loop. The send time is the
kernel's stamp of the datagram going out (SO_TIMESTAMPING, software, read
from the socket's error queue), else the time read right before the send
call (`Stamp`); the reply's arrival is the time the kernel took it in
(SO_TIMESTAMPNS, `arrived_ns`). So a reply that waits while the loop sends a
burst or runs other work is timed as it arrived, and a process that loses
the CPU between reading the clock and sending does not count either.
TCP takes the kernel's own RTT of the handshake (TCP_INFO). Only where the
kernel gives no time (an ICMP error to UDP, a RST to TCP) is the RTT read
when the loop sees the answer.
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
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)  # Linux's value; Python does not export it
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value (SCM_TIMESTAMPNS too)
SO_TIMESTAMPING = getattr(socket, "SO_TIMESTAMPING", 37)  # and SCM_TIMESTAMPING
# SOF_TIMESTAMPING_TX_SOFTWARE | SOFTWARE | OPT_TSONLY: the software stamp of
# each datagram sent, on the error queue, without the datagram itself.
TX_STAMPS = (1 << 1) | (1 << 4) | (1 << 11)
_TIMESPEC = struct.Struct("@qq")  # struct timespec: seconds, nanoseconds
# Room for the TTL (an int), the receive time (a timespec) and, with
# TX_STAMPS set, the kernel's SCM_TIMESTAMPING of it too (three timespecs).
ANCILLARY = (
    socket.CMSG_SPACE(struct.calcsize("i"))
    + socket.CMSG_SPACE(_TIMESPEC.size)
    + socket.CMSG_SPACE(3 * _TIMESPEC.size)
)


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


class Stamp:
    """When a probe went out: read right before the send call, on the kernel's
    timestamp clock (CLOCK_REALTIME) and on the monotonic one; then the
    kernel's own send stamp, if `drain` finds it."""

    __slots__ = ("kernel_ns", "monotonic_ns", "realtime_ns")

    def __init__(self) -> None:
        self.realtime_ns = time.time_ns()
        self.monotonic_ns = time.perf_counter_ns()
        self.kernel_ns: int | None = None

    def drain(self, sock: socket.socket) -> None:
        """Read the socket's error queue: the kernel's send stamp (TX_STAMPS).
        A queued stamp wakes the socket's reader too, so call it on each wake."""
        while True:
            try:
                _, ancillary, _, _ = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
            except OSError:  # empty (BlockingIOError), or no error queue here
                return
            for level, kind, data in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPING and len(data) >= 16:
                    seconds, nanoseconds = _TIMESPEC.unpack_from(data)
                    if seconds or nanoseconds:
                        self.kernel_ns = seconds * 1_000_000_000 + nanoseconds

    def rtt_ns(self, arrived: int | None) -> int:
        """The RTT to a reply the kernel took in at `arrived` (realtime ns),
        from the kernel's send stamp or else the clock read before sending;
        without an arrival, or if the wall clock stepped, until now."""
        elapsed = time.perf_counter_ns() - self.monotonic_ns
        if arrived is not None and 0 <= arrived - self.realtime_ns <= elapsed:
            sent = self.kernel_ns
            if sent is None or not self.realtime_ns <= sent <= arrived:
                sent = self.realtime_ns
            return arrived - sent
        return elapsed

    def rtt_us(self, arrived: int | None) -> int:
        return max(1, self.rtt_ns(arrived) // 1000)


_KEEPER: list[socket.socket] = []


def keep_timestamps_on() -> None:
    """Hold one timestamping socket open for good. Linux stamps arriving
    packets only while some socket asks for it, and turns that on a moment
    after the first one does: a probe socket alone would see its reply
    stamped when it is read, after an idle spell."""
    if not _KEEPER:
        keeper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with contextlib.suppress(OSError):
            keeper.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        _KEEPER.append(keeper)


def receive_timestamps(sock: socket.socket) -> None:
    """Have the kernel stamp each datagram with its arrival time, and each one
    sent with its departure (`Stamp.drain`)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, TX_STAMPS)


def arrived_ns(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The kernel's arrival time of a datagram (realtime ns), if it gave one."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return seconds * 1_000_000_000 + nanoseconds
    return None


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
        receive_timestamps(sock)
        try:
            async with asyncio.timeout(timeout):
                sock.connect((str(target), port))
                sent = Stamp()
                sock.send(payload)
                while True:
                    await readable(sock)
                    sent.drain(sock)
                    try:
                        data, ancillary, _, _ = sock.recvmsg(4096, ANCILLARY)
                    except ConnectionRefusedError:
                        return ProbeResult(protocol, sent.rtt_us(None), detail="refused")
                    except BlockingIOError:
                        continue
                    if is_reply is None or is_reply(data):
                        rtt = sent.rtt_us(arrived_ns(ancillary))
                        return ProbeResult(protocol, rtt, ttl_hops(ancillary))
        except OSError as exc:
            return failure(protocol, exc)


def ancillary_ttl(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The IP_TTL or IPV6_HOPLIMIT a recvmsg() handed over, if any."""
    for level, _type, data in ancillary:
        if level == socket.SOL_SOCKET:  # a time stamp
            continue
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
