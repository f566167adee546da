"""DNS wire format for the query path: read a query, write a response.

Written by hand rather than with dnslib: the common query (one question, an
optional OPT) is read with a few slices and `struct` calls, and responses are
assembled from ready-made RR bytes. Anything the parser does not accept is
FORMERR (when the header could be read) or dropped; it never raises anything
but `FormError` and `Drop`.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from gslb.errors import FormError, GslbError
from gslb.model import V6, IPAddress, IPNetwork, address_of, key_of

OPT = 41
OPT_NSID = 3
OPT_ECS = 8
FLAG_QR = 0x8000
FLAG_AA = 0x0400
FLAG_TC = 0x0200
OPCODE = 0x7800
ECHOED_FLAGS = OPCODE | 0x0100 | 0x0010  # opcode, RD, CD
BADVERS = 16
_HEADER = struct.Struct("!HHHHHH")
_RR_TAIL = struct.Struct("!HHIH")
_QTAIL = struct.Struct("!HH")
_OPTION = struct.Struct("!HH")
_ECS_HEAD = struct.Struct("!HBB")
_SCOPES = tuple(bytes((n,)) for n in range(256))  # an ECS scope prefix length as its byte


class Drop(GslbError):
    """The packet cannot be answered (no readable header, or not a query)."""


class ClientSubnet(NamedTuple):
    """An EDNS Client Subnet option (RFC 7871). A named tuple, as Edns and
    Query are: one is built for every query that carries one. It keeps the
    LDNS table's key of the subnet (`gslb.model.key_of`) and the option's
    bytes as they came, so a query neither builds an address object nor
    re-encodes the option to echo it."""

    family: int  # 1 = IPv4, 2 = IPv6
    source: int  # source prefix length
    key: int  # the network address (host bits zero) as the LDNS table's key
    raw: bytes  # the option as received: code, length, family, source, scope 0, address

    @property
    def address(self) -> IPAddress:
        return address_of(self.key)

    @classmethod
    def of(cls, network: IPNetwork) -> ClientSubnet:
        """The option a client would send for `network` (`gslbctl explain --ecs`)."""
        family = 1 if network.version == 4 else 2
        source = network.prefixlen
        address = network.network_address.packed[: (source + 7) // 8]
        body = _ECS_HEAD.pack(family, source, 0) + address
        raw = _OPTION.pack(OPT_ECS, len(body)) + body
        return cls(family, source, key_of(network.network_address), raw)

    def option(self, scope: int) -> bytes:
        """The option echoed in a reply: the query's, with the scope prefix length."""
        raw = self.raw
        if not scope:  # as received: a query's scope is 0
            return raw
        return b"".join((raw[:7], _SCOPES[scope], raw[8:]))


class Edns(NamedTuple):
    # Named tuples, not frozen dataclasses: one of each is built per query,
    # and a frozen dataclass's __init__ costs several times more.
    udp_size: int
    version: int
    do: bool
    nsid: bool
    ecs: ClientSubnet | None


class Query(NamedTuple):
    id: int
    flags: int
    qname: bytes  # as received, case preserved
    key: bytes  # lower case
    qtype: int
    qclass: int
    question_end: int
    edns: Edns | None
    opcode: int


# How the parser builds its named tuples: a named tuple's own constructor
# is a Python function around this C one, and three are built per query.
_new = tuple.__new__


# A hand-written parser of one query, read top to bottom as the wire format
# lays it out: clearer as one function than split at arbitrary offsets.
def parse(wire: bytes) -> Query:  # noqa: C901
    """Read a query. Raises `Drop` or `FormError` (with `.query_id`, `.flags`)."""
    if len(wire) < 12:
        raise Drop("shorter than a header")
    qid, flags, qd, an, ns, ar = _HEADER.unpack_from(wire)
    if flags & FLAG_QR:
        raise Drop("a response, not a query")
    opcode = (flags >> 11) & 0xF
    if qd != 1:
        raise _formerr(qid, flags, f"qdcount {qd}")
    # The question's name, read here rather than by _skip_name: every query
    # has one, and a call with keywords costs as much as the loop.
    end = 12
    try:
        length = wire[end]
        while length:
            if length > 63:  # also a compression pointer: none in a question
                raise _formerr(qid, flags, "bad label")
            end += length + 1
            length = wire[end]
    except IndexError:
        raise _formerr(qid, flags, "truncated name") from None
    end += 1
    if end - 12 > 255:
        raise _formerr(qid, flags, "name longer than 255 octets")
    qname = wire[12:end]
    if end + 4 > len(wire):
        raise _formerr(qid, flags, "truncated question")
    qtype, qclass = _QTAIL.unpack_from(wire, end)
    question_end = end + 4
    off = question_end
    if an or ns:
        for _ in range(an + ns):
            off = _skip_rr(wire, off, qid, flags)
    edns: Edns | None = None
    for _ in range(ar) if ar else ():
        if off < len(wire) and wire[off] == 0:  # the root name, as an OPT's is
            name_end = off + 1
        else:
            name_end = _skip_name(wire, off, qid, flags)
        if name_end + 10 > len(wire):
            raise _formerr(qid, flags, "truncated additional record")
        rtype, rclass, ttl, rdlen = _RR_TAIL.unpack_from(wire, name_end)
        rdata_at = name_end + 10
        if rdata_at + rdlen > len(wire):
            raise _formerr(qid, flags, "truncated rdata")
        if rtype == OPT:
            if edns is not None or wire[off] != 0:
                raise _formerr(qid, flags, "bad or second OPT")
            edns = _read_opt(wire, rdata_at, rdlen, rclass, ttl, qid, flags)
        off = rdata_at + rdlen
    if off != len(wire):
        # Bytes after the last record: malformed (as BIND says), and a client
        # must not be able to pad a query into a distinct cache key.
        raise _formerr(qid, flags, "trailing bytes after the last record")
    return _new(
        Query, (qid, flags, qname, qname.lower(), qtype, qclass, question_end, edns, opcode)
    )


def _formerr(qid: int, flags: int, why: str) -> FormError:
    return FormError(why, qid, flags)


def _skip_name(wire: bytes, off: int, qid: int, flags: int) -> int:
    """The offset after a record's owner name (a pointer ends it: where it
    points is never read)."""
    start = off
    n = len(wire)
    while True:
        if off >= n:
            raise _formerr(qid, flags, "truncated name")
        length = wire[off]
        if length == 0:
            off += 1
            break
        if length & 0xC0 == 0xC0:
            if off + 2 > n:
                raise _formerr(qid, flags, "truncated pointer")
            return off + 2
        if length > 63:
            raise _formerr(qid, flags, "bad label")
        off += length + 1
    if off - start > 255:
        raise _formerr(qid, flags, "name longer than 255 octets")
    return off


def _skip_rr(wire: bytes, off: int, qid: int, flags: int) -> int:
    off = _skip_name(wire, off, qid, flags)
    if off + 10 > len(wire):
        raise _formerr(qid, flags, "truncated record")
    rdlen = struct.unpack_from("!H", wire, off + 8)[0]
    if off + 10 + rdlen > len(wire):
        raise _formerr(qid, flags, "truncated rdata")
    return off + 10 + rdlen


def _read_opt(
    wire: bytes, at: int, rdlen: int, udp_size: int, ttl: int, qid: int, flags: int
) -> Edns:
    """The OPT record whose data is wire[at : at + rdlen] (inside `wire`, as
    `parse` has checked), read in place: no copy of its data."""
    udp_size = udp_size if udp_size > 512 else 512
    version = (ttl >> 16) & 0xFF
    do = bool(ttl & 0x8000)
    if not rdlen:  # no options, the usual case
        return _new(Edns, (udp_size, version, do, False, None))
    nsid = False
    ecs: ClientSubnet | None = None
    off, end = at, at + rdlen
    while off < end:
        if off + 4 > end:
            raise _formerr(qid, flags, "truncated EDNS option")
        code, length = _OPTION.unpack_from(wire, off)
        after = off + 4 + length
        if after > end:
            raise _formerr(qid, flags, "truncated EDNS option")
        if code == OPT_ECS:
            if ecs is not None:
                raise _formerr(qid, flags, "two client subnet options")
            ecs = _read_ecs(wire, off, after, qid, flags)
        elif code == OPT_NSID:
            nsid = True
        off = after
    return _new(Edns, (udp_size, version, do, nsid, ecs))


def _read_ecs(wire: bytes, at: int, end: int, qid: int, flags: int) -> ClientSubnet:
    """The option wire[at:end] (with its code and length) read; its address
    is given to its prefix's bytes, host bits zero, scope zero in a query."""
    if end - at < 8:
        raise _formerr(qid, flags, "short client subnet option")
    family, source, scope = _ECS_HEAD.unpack_from(wire, at + 4)
    bits = 32 if family == 1 else 128 if family == 2 else 0
    given = end - at - 8  # address bytes
    if not bits or source > bits or scope != 0 or given != (source + 7) >> 3:
        raise _formerr(qid, flags, "bad client subnet option")
    # The address bytes given, then zeros to the family's width.
    packed = int.from_bytes(wire[at + 8 : end], "big") << (bits - (given << 3))
    if packed & ((1 << (bits - source)) - 1):
        raise _formerr(qid, flags, "client subnet has bits beyond its prefix")
    key = packed if family == 1 else packed | V6
    return _new(ClientSubnet, (family, source, key, wire[at:end]))


def opt_record(udp_size: int, ext_rcode: int, do: bool, options: bytes) -> bytes:
    ttl = (ext_rcode << 24) | (0x8000 if do else 0)
    return b"\x00" + _RR_TAIL.pack(OPT, udp_size, ttl, len(options)) + options


def header(qid: int, flags: int, qd: int, an: int, ns: int, ar: int) -> bytes:
    return _HEADER.pack(qid, flags, qd, an, ns, ar)


def response_flags(query_flags: int, rcode: int, aa: bool) -> int:
    return FLAG_QR | (query_flags & ECHOED_FLAGS) | (FLAG_AA if aa else 0) | (rcode & 0xF)


def error_response(err: FormError, rcode: int) -> bytes:
    """A header-only reply (FORMERR, NOTIMP) echoing the query's ID and opcode.

    A reply to an opcode other than QUERY echoes nothing else: RD and CD are
    flags of a QUERY, which the server did not understand this to be (ISC
    genreport's `opcodeflg`)."""
    flags = response_flags(err.flags, rcode, False)
    if flags & OPCODE:
        flags &= ~(ECHOED_FLAGS & ~OPCODE)
    return header(err.query_id, flags, 0, 0, 0, 0)
