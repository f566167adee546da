"""DNS over UDP: one datagram in, at most one datagram out.

The socket is read by our own loop rather than an asyncio datagram
transport: when it is readable, datagrams are received and answered until it
would block (at most `BATCH` at a time, so TCP and timers get their turn),
and the replies are sent `SEND_BATCH` at a time. That saves the transport's
per-datagram callback machinery, and reads into a small buffer instead of a
large one.

Sending replies together rather than each after its answer saves about 1 us
of kernel time per query under load: a client busy reading a burst of
replies is not woken once per reply (dnsperf on loopback: 7.1 -> 6.3-6.5 us
of server CPU per query, bench/README.md). It delays a reply by at most the
other answers of its group (about 2 us each): 64 at a time took the p99 at
20 000 q/s past 0.3 ms in one run, 8 at a time keeps it near 0.2 ms.

The socket's receive buffer is `[server] udp_receive_buffer` (4 MiB by
default) rather than the kernel's 208 KiB, which holds about 55 ms of 3,000
q/s: queries wait there while the process is busy for a moment. Above
net.core.rmem_max the kernel caps it (unless gslbd may override that,
CAP_NET_ADMIN); the effective size is read back and a cap logged.

The loop of a specific address is gslb.server.batchio: one recvmmsg per
wake-up and one sendmmsg per group when its C part is built (about 2 us of
CPU less per query), recvfrom/sendto otherwise.

A wildcard address (`0.0.0.0`, `::`) takes `WildcardUdpListener`: a reply
must leave from the address its query was sent to, or the client drops it
(a multi-homed host answers on every address). It reads each query's
destination with IP_PKTINFO / IPV6_RECVPKTINFO (recvmsg) and sends the reply
from it (sendmsg with the same ancillary data), one datagram at a time. A
specific address keeps the batched loop, which is cheaper.

SO_REUSEPORT is set only when asked (`reuse_port`): the worker processes of
one gslbd share their addresses that way (gslb/server/supervisor.py); a
single gslbd sets none, so a second server on its addresses fails to bind
instead of taking part of the traffic.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Any

from gslb.server.batchio import MAX_DATAGRAM, Answer, Wakeup, serve_datagrams

log = logging.getLogger(__name__)

BATCH = 64  # datagrams answered per wake-up before yielding to the event loop
SEND_BATCH = 8  # replies held back to be sent together, at most
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux; Python 3.12 names it
WILDCARDS = ("0.0.0.0", "::")
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux; Python has the name from 3.13
_IN_PKTINFO = struct.Struct("@i4s4s")  # ifindex, spec_dst, addr
_ANCILLARY = socket.CMSG_SPACE(20)  # in6_pktinfo, the larger of the two


class UdpListener:
    def __init__(self, sock: socket.socket, answer: Answer) -> None:
        self.sock = sock
        self.send_failures = 0
        self._wakeup = self.wakeup(sock, answer)
        sock.setblocking(False)
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)

    @staticmethod
    def bind(
        host: str, port: int, answer: Answer, *, reuse_port: bool = False, receive_buffer: int = 0
    ) -> UdpListener:
        """Listen on `host`:`port`; a wildcard host gets a WildcardUdpListener."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if receive_buffer:
                set_receive_buffer(sock, receive_buffer, f"{host}:{port}")
            if family == socket.AF_INET6:
                # IPv6 only, as asyncio makes the TCP socket beside it: `[::]:53`
                # and `0.0.0.0:53` can then both be listed.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if host in WILDCARDS:
                level, option = (
                    (socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO)
                    if family == socket.AF_INET6
                    else (socket.IPPROTO_IP, IP_PKTINFO)
                )
                sock.setsockopt(level, option, 1)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        kind = WildcardUdpListener if host in WILDCARDS else UdpListener
        return kind(sock, answer)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @staticmethod
    def wakeup(sock: socket.socket, answer: Answer) -> Wakeup | PktinfoWakeup:
        return Wakeup(sock, answer, BATCH, SEND_BATCH)

    def _readable(self) -> None:
        self.send_failures += self._wakeup.serve()

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()


def set_receive_buffer(sock: socket.socket, size: int, where: str) -> int:
    """Ask for a receive buffer of `size` bytes; the size the kernel gave
    (it reports twice what it holds for data: its own bookkeeping)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)  # past rmem_max
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    effective = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
    if effective < size:
        log.warning(
            "udp_receive_buffer: capped address=%s requested=%d effective=%d"
            " (raise net.core.rmem_max)",
            where,
            size,
            effective,
        )
    return effective


Ancillary = list[tuple[int, int, bytes]]


class WildcardUdpListener(UdpListener):
    """A wildcard address: each reply is sent from its query's destination."""

    @staticmethod
    def wakeup(sock: socket.socket, answer: Answer) -> Wakeup | PktinfoWakeup:
        return PktinfoWakeup(sock, answer)  # batchio's compiled loop carries no ancillary data


class PktinfoWakeup:
    """The pure loop with recvmsg/sendmsg: the query's destination address
    (IP_PKTINFO / IPV6_PKTINFO) becomes its reply's source."""

    __slots__ = ("answer", "sock")

    def __init__(self, sock: socket.socket, answer: Answer) -> None:
        self.sock, self.answer = sock, answer

    def serve(self) -> int:
        return serve_datagrams(self._receive, self._send_from, self.answer, BATCH, SEND_BATCH)

    def _receive(self) -> tuple[bytes, str, tuple[tuple[Any, ...], Ancillary]]:
        data, ancillary, _, addr = self.sock.recvmsg(MAX_DATAGRAM, _ANCILLARY)
        return data, addr[0], (addr, _source(ancillary))

    def _send_from(self, reply: bytes, where: tuple[tuple[Any, ...], Ancillary]) -> None:
        addr, source = where
        self.sock.sendmsg((reply,), source, 0, addr)


def _source(ancillary: Ancillary) -> Ancillary:
    """The ancillary data that sends a reply from the query's destination address."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= _IN_PKTINFO.size:
            # in_pktinfo: send from its `addr` (the header's destination); no
            # interface, so the routing table picks the way back.
            _, _, addr = _IN_PKTINFO.unpack_from(data)
            return [(level, kind, _IN_PKTINFO.pack(0, addr, bytes(4)))]
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
            # in6_pktinfo as received: the address, and the interface a
            # link-local address needs.
            return [(level, kind, data)]
    return []
