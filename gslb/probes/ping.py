"""ICMP echo: one request, its reply, the round trip and the reply's TTL.

Shared by the `icmp` prober (gslb/probes/icmp.py) and the `icmp` health
monitor (gslb/monitors/icmp.py). A raw socket (root, or CAP_NET_RAW) is
tried first; where it is refused, the kernel's unprivileged ICMP datagram
socket (`SOCK_DGRAM`, allowed to the groups in `net.ipv4.ping_group_range`).
With a datagram socket the kernel sets the identifier (the socket's own),
fills in the checksum and hands this socket only the replies to it, without
the IPv4 header; the TTL then comes as ancillary data (IP_RECVTTL), as the
IPv6 hop limit always does (IPV6_RECVHOPLIMIT). `PingRefused` when neither
socket may be opened. The round trip runs from the kernel's stamp of the
request going out to its stamp of the reply coming in (gslb/probes/base.py:
`Stamp`), so a reply read late by a busy event loop is timed as it arrived.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from dataclasses import dataclass

from gslb.errors import GslbError
from gslb.model import IPAddress
from gslb.probes.base import (
    ANCILLARY,
    IP_RECVTTL,
    Stamp,
    ancillary_ttl,
    arrived_ns,
    family,
    open_socket,
    readable,
    receive_timestamps,
)

ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}
_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_PAYLOAD = b"gslb-ping-" + bytes(22)  # 32 bytes, like ping's default of 56 less the time


class PingRefused(GslbError):
    """Neither a raw nor an unprivileged ICMP socket may be opened."""


@dataclass(frozen=True, slots=True)
class Echo:
    rtt_ns: int
    ttl: int | None  # the reply's IPv4 TTL or IPv6 hop limit, if the kernel said


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def request(fam: socket.AddressFamily, ident: int, seq: int) -> bytes:
    """An echo request. ICMPv6's checksum covers a pseudo-header: the kernel
    fills it in (as it does on any datagram socket); ICMPv4's is ours on raw."""
    kind = ECHO_REQUEST[fam]
    header = _HEADER.pack(kind, 0, 0, ident, seq)
    if fam == socket.AF_INET:
        header = _HEADER.pack(kind, 0, checksum(header + _PAYLOAD), ident, seq)
    return header + _PAYLOAD


def open_ping_socket(target: IPAddress, source: IPAddress | None) -> socket.socket:
    """A non-blocking ICMP socket of the target's family: raw, else datagram."""
    fam = family(target)
    for kind in (socket.SOCK_RAW, socket.SOCK_DGRAM):
        try:
            sock = open_socket(target, kind, source, PROTO[fam])
        except PermissionError:
            continue
        try:
            if fam == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            elif kind == socket.SOCK_DGRAM:
                sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
            receive_timestamps(sock)
        except BaseException:
            sock.close()
            raise
        return sock
    raise PingRefused(
        "no raw ICMP socket (needs CAP_NET_RAW) and no unprivileged one (net.ipv4.ping_group_range)"
    )


async def ping(sock: socket.socket, target: IPAddress, timeout: float) -> Echo:
    """Send one echo request on `sock` and wait for its reply; TimeoutError if none."""
    loop = asyncio.get_running_loop()
    raw = sock.type == socket.SOCK_RAW
    ident = os.getpid() & 0xFFFF if raw else 0  # a datagram socket's is the kernel's
    seq = int.from_bytes(os.urandom(2), "big")
    async with asyncio.timeout(timeout):
        packet = request(sock.family, ident, seq)
        sent = Stamp()
        try:
            sock.sendto(packet, (str(target), 0))
        except BlockingIOError:  # the send buffer is full: wait for room
            sent = Stamp()
            await loop.sock_sendto(sock, packet, (str(target), 0))
        while True:
            await readable(sock)
            sent.drain(sock)  # a queued send stamp wakes the reader too
            try:
                data, ancillary, _, peer = sock.recvmsg(2048, ANCILLARY)
            except BlockingIOError:
                continue
            # A raw IPv4 socket reads the IP header too; the others do not.
            offset = (data[0] & 0x0F) * 4 if raw and sock.family == socket.AF_INET else 0
            if peer[0] != str(target) or len(data) < offset + _HEADER.size:
                continue
            kind, _, _, got_ident, got_seq = _HEADER.unpack_from(data, offset)
            if kind != ECHO_REPLY[sock.family] or got_seq != seq or (raw and got_ident != ident):
                continue
            rtt = max(1, sent.rtt_ns(arrived_ns(ancillary)))
            return Echo(rtt, data[8] if offset else ancillary_ttl(ancillary))
