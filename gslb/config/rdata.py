"""Rdata: zone-file text of one record's data -> uncompressed wire bytes.

dnspython knows the presentation format of every type it names (DNAME,
SVCB, HTTPS, LOC, HINFO, URI, RP, NAPTR, TLSA, SSHFP, CAA, DS, DNSKEY ...),
RFC 3597's `\\# len hex` form included, which it also checks against the
type's own format. A and AAAA, most of a zone, are packed here: twenty times
faster, and as strict. The bytes are written without name compression: they
are later copied into arbitrary messages, where a compression pointer taken
from a standalone rdata would point at garbage.
"""

from __future__ import annotations

import functools
import re
from ipaddress import IPv4Address, IPv6Address

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer
from dns.rdtypes.svcbbase import ParamKey

MAX_RDATA = 65535
A, AAAA = 1, 28
_EXTRA = re.compile(r'expected EOL or EOF, got \d+ "(.*)"')  # dnspython's "a field too many"
_TWICE = re.compile(r'duplicate key "(\d+)"')


class RdataError(ValueError):
    """Rdata text that cannot be turned into wire bytes."""


def type_number(mnemonic: str) -> int | None:
    """The type code of `A`, `MX`, `TYPE65534` ...; None if not a type a zone may hold."""
    try:
        number = dns.rdatatype.from_text(mnemonic)
    except (dns.rdatatype.UnknownRdatatype, ValueError):
        return None
    # Query-only types (ANY, AXFR, OPT, TSIG ...) name what to ask for, never
    # what a zone holds; type 0 is reserved.
    if number == 0 or dns.rdatatype.is_metatype(number):
        return None
    return int(number)


@functools.lru_cache(maxsize=1024)
def type_name(rtype: int) -> str:
    return str(dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rtype)))


def qualify(name: str, origin: str) -> str:
    """`name` made absolute against `origin` (both as written; `@` is the origin)."""
    if name == "@":
        return origin
    if name.endswith(".") and not name.endswith("\\."):
        return name
    return f"{name}{origin}" if origin == "." else f"{name}.{origin}"


def _address(rtype: int, text: str) -> bytes:
    kind = "A" if rtype == A else "AAAA"
    fields = text.split()
    if len(fields) != 1:
        raise RdataError(f"{kind} takes 1 field, got {len(fields)}")
    try:
        if "%" in fields[0]:  # ipaddress takes a scope; a zone's address has none
            raise ValueError
        address = IPv4Address(fields[0]) if rtype == A else IPv6Address(fields[0])
    except ValueError:
        raise RdataError(f"not an {kind} address: {fields[0]!r}") from None
    return address.packed


class _Tokens(dns.tokenizer.Tokenizer):
    """dnspython's tokenizer, noting whether the text ran out: its message
    then ("expecting an integer") would blame a field that is not there."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.ran_out = False

    def get(self, want_leading: bool = False, want_comment: bool = False) -> dns.tokenizer.Token:
        token = super().get(want_leading, want_comment)
        self.ran_out = token.is_eol_or_eof()
        return token


@functools.lru_cache(maxsize=64)
def _name(origin: str) -> dns.name.Name:
    return dns.name.from_text(origin)


def _parse(rtype: int, tokens: str | _Tokens, origin: str) -> bytes:
    rdata = dns.rdata.from_text(
        dns.rdataclass.IN,
        dns.rdatatype.RdataType.make(rtype),
        tokens,
        origin=_name(origin),
        relativize=False,
    )
    data = rdata.to_wire()
    assert data is not None  # to_wire without a file returns the bytes
    return data


def _why(rtype: int, text: str, origin: str) -> str:
    """Why dnspython refuses `text`, said for a zone file's author."""
    tokens = _Tokens(text)  # parsed again, noting where the text ran out
    try:
        _parse(rtype, tokens, origin)
    except (dns.exception.DNSException, ValueError) as exc:
        message = str(exc)
        if text.startswith("\\#") and message in (
            "DNS message is malformed.",
            "Text input is malformed.",
        ):
            return f"the \\# data is not valid {type_name(rtype)} rdata"
        if isinstance(exc, dns.exception.UnexpectedEnd) or (
            tokens.ran_out and message.startswith("expecting")
        ):
            return "too few fields"
        extra = _EXTRA.fullmatch(message)
        if extra is not None:
            return f"too many fields: {extra.group(1)!r} is one too many"
        twice = _TWICE.fullmatch(message)
        if twice is not None:  # SVCB, HTTPS: dnspython names the key by number
            return f"{ParamKey.to_text(int(twice.group(1))).lower()} is given twice"
        return message
    raise AssertionError(f"dnspython took {text!r} the second time")


@functools.lru_cache(maxsize=4096)  # a zone repeats its MX, CNAME and NS targets
def to_wire(rtype: int, text: str, origin: str) -> bytes:
    """Wire rdata of one record: `text` is its presentation form, names
    relative to `origin`, quoted strings quoted, escapes as written."""
    if rtype in (A, AAAA) and not text.startswith("\\#"):
        return _address(rtype, text)
    try:
        data = _parse(rtype, text, origin)
    except (dns.exception.DNSException, ValueError):
        raise RdataError(f"bad {type_name(rtype)} rdata: {_why(rtype, text, origin)}") from None
    if len(data) > MAX_RDATA:
        raise RdataError(f"rdata is {len(data)} bytes, more than {MAX_RDATA}")
    return data
