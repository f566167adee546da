"""DNS wire format for the query path: read a query, write a response.

Written by hand rather than with dnslib: the common query (one question, an
optional OPT) is read with a few slices and `struct` calls, and responses are
assembled from ready-made RR bytes. Anything the parser does not accept is
FORMERR (when the header could be read) or dropped; it never raises anything
but `FormError` and `Drop`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from gslb.errors import FormError, GslbError
from gslb.model import IPAddress

OPT = 41
OPT_NSID = 3
OPT_ECS = 8
FLAG_QR = 0x8000
FLAG_AA = 0x0400
FLAG_TC = 0x0200
ECHOED_FLAGS = 0x7800 | 0x0100 | 0x0010  # opcode, RD, CD
BADVERS = 16
_HEADER = struct.Struct("!HHHHHH")
_RR_TAIL = struct.Struct("!HHIH")
_QTAIL = struct.Struct("!HH")


class Drop(GslbError):
    """The packet cannot be answered (no readable header, or not a query)."""


@dataclass(frozen=True, slots=True)
class ClientSubnet:
    """An EDNS Client Subnet option (RFC 7871)."""

    family: int  # 1 = IPv4, 2 = IPv6
    source: int  # source prefix length
    address: IPAddress  # the network address, host bits zero

    def option(self, scope: int) -> bytes:
        nbytes = (self.source + 7) // 8
        body = struct.pack("!HBB", self.family, self.source, scope) + self.address.packed[:nbytes]
        return struct.pack("!HH", OPT_ECS, len(body)) + body


@dataclass(frozen=True, slots=True)
class Edns:
    udp_size: int
    version: int
    do: bool
    nsid: bool
    ecs: ClientSubnet | None


@dataclass(frozen=True, slots=True)
class Query:
    id: int
    flags: int
    qname: bytes  # as received, case preserved
    key: bytes  # lower case
    qtype: int
    qclass: int
    question_end: int
    edns: Edns | None
    opcode: int


def parse(wire: bytes) -> Query:
    """Read a query. Raises `Drop` or `FormError` (with `.query_id`, `.flags`)."""
    if len(wire) < 12:
        raise Drop("shorter than a header")
    qid, flags, qd, an, ns, ar = _HEADER.unpack_from(wire)
    if flags & FLAG_QR:
        raise Drop("a response, not a query")
    opcode = (flags >> 11) & 0xF
    if qd != 1:
        raise _formerr(qid, flags, f"qdcount {qd}")
    end, qname = _read_name(wire, 12, qid, flags, allow_pointer=False)
    if end + 4 > len(wire):
        raise _formerr(qid, flags, "truncated question")
    qtype, qclass = _QTAIL.unpack_from(wire, end)
    question_end = end + 4
    off = question_end
    for _ in range(an + ns):
        off = _skip_rr(wire, off, qid, flags)
    edns: Edns | None = None
    for _ in range(ar):
        name_end, _name = _read_name(wire, off, qid, flags, allow_pointer=True)
        if name_end + 10 > len(wire):
            raise _formerr(qid, flags, "truncated additional record")
        rtype, rclass, ttl, rdlen = _RR_TAIL.unpack_from(wire, name_end)
        rdata_at = name_end + 10
        if rdata_at + rdlen > len(wire):
            raise _formerr(qid, flags, "truncated rdata")
        if rtype == OPT:
            if edns is not None or wire[off] != 0:
                raise _formerr(qid, flags, "bad or second OPT")
            edns = _read_opt(wire[rdata_at : rdata_at + rdlen], rclass, ttl, qid, flags)
        off = rdata_at + rdlen
    if off != len(wire):
        # Bytes after the last record: malformed (as BIND says), and a client
        # must not be able to pad a query into a distinct cache key.
        raise _formerr(qid, flags, "trailing bytes after the last record")
    return Query(qid, flags, qname, qname.lower(), qtype, qclass, question_end, edns, opcode)


def _formerr(qid: int, flags: int, why: str) -> FormError:
    return FormError(why, qid, flags)


def _read_name(
    wire: bytes, off: int, qid: int, flags: int, *, allow_pointer: bool
) -> tuple[int, bytes]:
    """Offset after the name, and the name's bytes (only meaningful without pointers)."""
    start = off
    n = len(wire)
    while True:
        if off >= n:
            raise _formerr(qid, flags, "truncated name")
        length = wire[off]
        if length == 0:
            off += 1
            break
        if length & 0xC0 == 0xC0 and allow_pointer:
            if off + 2 > n:
                raise _formerr(qid, flags, "truncated pointer")
            return off + 2, b""  # skipping only: where it points is never read
        if length > 63:
            raise _formerr(qid, flags, "bad label")
        off += length + 1
    if off - start > 255:
        raise _formerr(qid, flags, "name longer than 255 octets")
    return off, wire[start:off]


def _skip_rr(wire: bytes, off: int, qid: int, flags: int) -> int:
    off, _ = _read_name(wire, off, qid, flags, allow_pointer=True)
    if off + 10 > len(wire):
        raise _formerr(qid, flags, "truncated record")
    rdlen = struct.unpack_from("!H", wire, off + 8)[0]
    if off + 10 + rdlen > len(wire):
        raise _formerr(qid, flags, "truncated rdata")
    return off + 10 + rdlen


def _read_opt(rdata: bytes, udp_size: int, ttl: int, qid: int, flags: int) -> Edns:
    version = (ttl >> 16) & 0xFF
    do = bool(ttl & 0x8000)
    nsid = False
    ecs: ClientSubnet | None = None
    off = 0
    while off < len(rdata):
        if off + 4 > len(rdata):
            raise _formerr(qid, flags, "truncated EDNS option")
        code, length = struct.unpack_from("!HH", rdata, off)
        body = rdata[off + 4 : off + 4 + length]
        if len(body) != length:
            raise _formerr(qid, flags, "truncated EDNS option")
        if code == OPT_NSID:
            nsid = True
        elif code == OPT_ECS:
            if ecs is not None:
                raise _formerr(qid, flags, "two client subnet options")
            ecs = _read_ecs(body, qid, flags)
        off += 4 + length
    return Edns(max(udp_size, 512), version, do, nsid, ecs)


def _read_ecs(body: bytes, qid: int, flags: int) -> ClientSubnet:
    if len(body) < 4:
        raise _formerr(qid, flags, "short client subnet option")
    family, source, scope = struct.unpack_from("!HBB", body)
    raw = body[4:]
    width = {1: 4, 2: 16}.get(family)
    if width is None or source > width * 8 or scope != 0 or len(raw) != (source + 7) // 8:
        raise _formerr(qid, flags, "bad client subnet option")
    packed = int.from_bytes(raw.ljust(width, b"\0"), "big")
    mask = ((1 << source) - 1) << (width * 8 - source) if source else 0
    if packed & ~mask:
        raise _formerr(qid, flags, "client subnet has bits beyond its prefix")
    address: IPAddress = IPv4Address(packed) if family == 1 else IPv6Address(packed)
    return ClientSubnet(family, source, address)


def opt_record(udp_size: int, ext_rcode: int, do: bool, options: bytes) -> bytes:
    ttl = (ext_rcode << 24) | (0x8000 if do else 0)
    return b"\x00" + _RR_TAIL.pack(OPT, udp_size, ttl, len(options)) + options


def header(qid: int, flags: int, qd: int, an: int, ns: int, ar: int) -> bytes:
    return _HEADER.pack(qid, flags, qd, an, ns, ar)


def response_flags(query_flags: int, rcode: int, aa: bool) -> int:
    return FLAG_QR | (query_flags & ECHOED_FLAGS) | (FLAG_AA if aa else 0) | (rcode & 0xF)


def error_response(err: FormError, rcode: int) -> bytes:
    """A header-only reply (FORMERR, NOTIMP) echoing the query's ID and opcode."""
    return header(err.query_id, response_flags(err.flags, rcode, False), 0, 0, 0, 0)
