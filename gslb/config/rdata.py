"""Rdata: zone-file text of one record's data -> uncompressed wire bytes.

dnslib knows the presentation format of each type (`RDMAP[TYPE].fromZone`);
this module feeds it tokens, qualifies relative names first (not every
`fromZone` applies the origin, e.g. SRV's target), and packs the result
without name compression: the bytes are later copied into arbitrary
messages, where a compression pointer taken from a standalone rdata would
point at garbage. RFC 3597's `\\# len hex` form is accepted for every type.
"""

from __future__ import annotations

import binascii
import re
import struct
from ipaddress import IPv4Address, IPv6Address

from dnslib import QTYPE, RDMAP, TXT, DNSBuffer, DNSError, DNSLabel
from dnslib.buffer import BufferError as DnslibBufferError
from dnslib.label import DNSLabelError

MAX_RDATA = 65535
_TYPE_NUMBER = re.compile(r"TYPE(\d{1,5})")
# Query-only types: they name what to ask for, never what a zone holds.
_META = frozenset({"OPT", "TKEY", "TSIG", "IXFR", "AXFR", "ANY"})


class RdataError(ValueError):
    """Rdata text that cannot be turned into wire bytes."""


class _Uncompressed(DNSBuffer):  # type: ignore[misc]
    def encode_name(self, name: DNSLabel | str) -> None:
        self.encode_name_nocompress(name)


# Per type: (fewest tokens, most tokens or None, token positions holding names).
_SHAPES: dict[str, tuple[int, int | None, tuple[int, ...]]] = {
    "A": (1, 1, ()),
    "AAAA": (1, 1, ()),
    "NS": (1, 1, (0,)),
    "CNAME": (1, 1, (0,)),
    "PTR": (1, 1, (0,)),
    "MX": (2, 2, (1,)),
    "SOA": (7, 7, (0, 1)),
    "SRV": (4, 4, (3,)),
    "NAPTR": (6, 6, (5,)),
    "CAA": (3, 3, ()),
    "TXT": (1, None, ()),
    "DS": (4, None, ()),
    "DNSKEY": (4, None, ()),
    "TLSA": (4, None, ()),
    "SSHFP": (3, None, ()),
    "HTTPS": (2, None, (1,)),
}
SUPPORTED = frozenset(_SHAPES)


def type_number(mnemonic: str) -> int | None:
    """The type code of `A`, `MX`, `TYPE65534` ...; None if not a type a zone may hold."""
    upper = mnemonic.upper()
    match = _TYPE_NUMBER.fullmatch(upper)
    if match is not None:
        number = int(match.group(1))
        return number if 0 < number <= 65535 else None
    if upper in _META:
        return None
    number = QTYPE.reverse.get(upper)
    return number if isinstance(number, int) else None


def type_name(rtype: int) -> str:
    return str(QTYPE.forward.get(rtype, f"TYPE{rtype}"))


def qualify(name: str, origin: str) -> str:
    """`name` made absolute against `origin` (both as written; `@` is the origin)."""
    if name == "@":
        return origin
    if name.endswith(".") and not name.endswith("\\."):
        return name
    return f"{name}{origin}" if origin == "." else f"{name}.{origin}"


def _generic(fields: list[str]) -> bytes:
    """RFC 3597 §5: `\\# <length> <hex>...`."""
    if len(fields) < 2 or not fields[1].isdigit():
        raise RdataError(r"expected \# <length> <hex data>")
    try:
        data = binascii.unhexlify("".join(fields[2:]))
    except (binascii.Error, ValueError):
        raise RdataError("bad hex data") from None
    if len(data) != int(fields[1]):
        raise RdataError(f"length {fields[1]} does not match {len(data)} bytes of data")
    return data


def _check_shape(kind: str, fields: list[str]) -> None:
    fewest, most, _ = _SHAPES[kind]
    if len(fields) < fewest or (most is not None and len(fields) > most):
        count = f"{fewest}" if fewest == most else f"at least {fewest}"
        raise RdataError(f"{kind} takes {count} fields, got {len(fields)}")
    # dnslib's address parsing is lenient ("1.2.3" packs as three bytes).
    try:
        if kind == "A":
            IPv4Address(fields[0])
        elif kind == "AAAA":
            IPv6Address(fields[0])
    except ValueError:
        raise RdataError(f"not an {kind} address: {fields[0]!r}") from None


def to_wire(rtype: int, fields: list[str], strings: list[bytes], origin: str) -> bytes:
    """Wire rdata of one record.

    `fields` are the tokens as presentation text (quotes removed), `strings`
    the same tokens with escapes decoded to bytes (for character-strings).
    """
    if fields and fields[0] == "\\#":
        data = _generic(fields)
    else:
        kind = type_name(rtype)
        if kind not in SUPPORTED:
            raise RdataError(f"{kind} rdata must be written in the RFC 3597 form \\# len hex")
        _check_shape(kind, fields)
        qualified = list(fields)
        for position in _SHAPES[kind][2]:
            qualified[position] = qualify(fields[position], origin)
        buffer = _Uncompressed()
        try:
            if kind == "TXT":
                rd = TXT(strings)  # TXT.fromZone would re-encode decoded escapes as UTF-8
            else:
                rd = RDMAP[kind].fromZone(qualified, DNSLabel(origin))
            rd.pack(buffer)
        except (
            DNSError,
            DNSLabelError,
            DnslibBufferError,
            ValueError,
            IndexError,
            KeyError,
            struct.error,
            binascii.Error,
            UnicodeError,
        ) as exc:
            raise RdataError(f"bad {kind} rdata: {exc}") from None
        data = bytes(buffer.data)
    if len(data) > MAX_RDATA:
        raise RdataError(f"rdata is {len(data)} bytes, more than {MAX_RDATA}")
    return data
