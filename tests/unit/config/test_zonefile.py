"""gslb.config.zonefile: master-file syntax, rdata wire (checked against
dnspython as an independent reference) and zone-level checks."""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from gslb.config.zonefile import parse_ttl, parse_zone
from gslb.errors import Problem
from gslb.model import Record

ORIGIN = "example.com."
APEX = "$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 900 1209600 60\n@ NS ns1\n"


def reference(rtype: str, text: str, origin: str = ORIGIN) -> bytes:
    """The rdata wire of `text`, as dnspython (not dnslib) writes it."""
    rdata = dns.rdata.from_text(
        dns.rdataclass.IN,
        dns.rdatatype.from_text(rtype),
        text,
        origin=dns.name.from_text(origin),
        relativize=False,
    )
    wire = rdata.to_wire()
    assert wire is not None
    return wire


def records(text: str, origin: str = ORIGIN) -> tuple[Record, ...]:
    zone, problems = parse_zone(text, origin, "z.zone")
    assert problems == []
    return zone.records


# (zone text after APEX, owner, type, ttl, dnspython presentation of the rdata)
RDATA = [
    ("www A 192.0.2.1", "www.example.com.", "A", 300, "192.0.2.1"),
    ("www AAAA 2001:db8::1", "www.example.com.", "AAAA", 300, "2001:db8::1"),
    ("@ MX 10 mail", ORIGIN, "MX", 300, "10 mail.example.com."),
    ("@ MX 20 mx.other.net.", ORIGIN, "MX", 300, "20 mx.other.net."),
    ("a CNAME b", "a.example.com.", "CNAME", 300, "b.example.com."),
    ("1.2 PTR host", "1.2.example.com.", "PTR", 300, "host.example.com."),
    ("sub NS ns.sub", "sub.example.com.", "NS", 300, "ns.sub.example.com."),
    ('t TXT "v=spf1 -all"', "t.example.com.", "TXT", 300, '"v=spf1 -all"'),
    ('t TXT "a b" c "d\\"e" "f\\\\g"', "t.example.com.", "TXT", 300, '"a b" "c" "d\\"e" "f\\\\g"'),
    ('t TXT "\\065\\255;x" ( "two" )', "t.example.com.", "TXT", 300, '"A\\255;x" "two"'),
    ('t TXT "caf\u00e9"', "t.example.com.", "TXT", 300, '"caf\\195\\169"'),
    (
        "_sip._udp SRV 10 5 5060 sip",
        "_sip._udp.example.com.",
        "SRV",
        300,
        "10 5 5060 sip.example.com.",
    ),
    ('@ CAA 0 issue "letsencrypt.org"', ORIGIN, "CAA", 300, '0 issue "letsencrypt.org"'),
    ('@ CAA 128 iodef "mailto:a@b.c"', ORIGIN, "CAA", 300, '128 iodef "mailto:a@b.c"'),
    (
        '@ NAPTR 100 10 "S" "SIP+D2U" "!^.*$!sip:x@example.com!" _sip._udp',
        ORIGIN,
        "NAPTR",
        300,
        '100 10 "S" "SIP+D2U" "!^.*$!sip:x@example.com!" _sip._udp.example.com.',
    ),
    (
        "d DS 12345 8 2 2BB183AF5F22588179A5 3B0A98631FAD1A2921180123456789ABCDEF01234567",
        "d.example.com.",
        "DS",
        300,
        "12345 8 2 2BB183AF5F22588179A53B0A98631FAD1A2921180123456789ABCDEF01234567",
    ),
    ("@ DNSKEY 257 3 8 AwEA AaQ=", ORIGIN, "DNSKEY", 300, "257 3 8 AwEAAaQ="),
    ("_443._tcp TLSA 3 1 0 00FF", "_443._tcp.example.com.", "TLSA", 300, "3 1 0 00ff"),
    (
        "h SSHFP 4 1 2BB183AF5F22588179A5 3B0A98631FAD1A292118",
        "h.example.com.",
        "SSHFP",
        300,
        "4 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
    ),
    ("@ HTTPS 1 . alpn=h2", ORIGIN, "HTTPS", 300, "1 . alpn=h2"),
    ("@ HTTPS 1 svc port=8443", ORIGIN, "HTTPS", 300, "1 svc.example.com. port=8443"),
    ("x TYPE65534 \\# 4 0A000001", "x.example.com.", "TYPE65534", 300, "\\# 4 0a000001"),
    ("x A \\# 4 7F000001", "x.example.com.", "A", 300, "127.0.0.1"),
    ("x 60 IN A 192.0.2.2", "x.example.com.", "A", 60, "192.0.2.2"),
    ("x IN 1h A 192.0.2.3", "x.example.com.", "A", 3600, "192.0.2.3"),
    ("x 1d2h in a 192.0.2.4", "x.example.com.", "A", 93600, "192.0.2.4"),
    ("X.Other.Example.COM. 0 A 192.0.2.5", "x.other.example.com.", "A", 0, "192.0.2.5"),
    ("$ORIGIN sub.example.com.\nx A 192.0.2.6", "x.sub.example.com.", "A", 300, "192.0.2.6"),
    ("$ORIGIN sub\n@ MX 1 x", "sub.example.com.", "MX", 300, "1 x.sub.example.com."),
    ("$TTL 1w\nx A 192.0.2.7", "x.example.com.", "A", 604800, "192.0.2.7"),
]


@pytest.mark.parametrize(
    ("line", "owner", "rtype", "ttl", "rdata"), RDATA, ids=[r[0] for r in RDATA]
)
def test_record_wire_matches_dnspython(
    line: str, owner: str, rtype: str, ttl: int, rdata: str
) -> None:
    *_, record = records(APEX + line + "\n")
    assert (record.name, record.rtype, record.ttl) == (owner, dns.rdatatype.from_text(rtype), ttl)
    assert record.rdata == reference(rtype, rdata)


def test_soa_rdata_is_exact_uncompressed_wire() -> None:
    text = """\
$ORIGIN example.com.
@ 3600 IN SOA ns1.example.com. hostmaster (
        2026112101 ; serial
        1h         ; refresh
        600 1209600
        300 )      ; negative TTL
  IN NS ns1
"""
    soa, ns = records(text)
    expected = reference(
        "SOA", "ns1.example.com. hostmaster.example.com. 2026112101 3600 600 1209600 300"
    )
    assert soa == Record(ORIGIN, 6, 3600, expected, line=2)
    # The second name repeats example.com but must not be a compression pointer.
    assert soa.rdata == (
        b"\x03ns1\x07example\x03com\x00\x0ahostmaster\x07example\x03com\x00"
        + (2026112101).to_bytes(4)
        + (3600).to_bytes(4)
        + (600).to_bytes(4)
        + (1209600).to_bytes(4)
        + (300).to_bytes(4)
    )
    # A blank owner repeats the previous one; without $TTL, a record without a
    # TTL takes the SOA minimum (RFC 2308 §4).
    assert (ns.name, ns.rtype, ns.ttl, ns.line) == (ORIGIN, 2, 300, 7)


def test_default_ttl_is_soa_minimum_without_ttl_directive() -> None:
    soa, ns = records("@ 60 SOA ns hm 1 2 3 4 5\n NS ns\n")
    assert (soa.ttl, ns.ttl) == (60, 5)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("3600", 3600), ("1H", 3600), ("1h30m", 5400), ("2w1d", 1296000)],
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


# (zone text, expected problems as (line, path, value, message))
BAD = [
    (
        "$INCLUDE other.zone",
        [(4, "$INCLUDE", None, "$INCLUDE is not supported: keep the zone in one file")],
    ),
    ("$GENERATE 1-2 x A 1.2.3.4", [(4, "$GENERATE", None, "unknown directive $GENERATE")]),
    ("$TTL", [(4, "$TTL", None, "$TTL takes one argument")]),
    ("$TTL forever", [(4, "$TTL", "forever", "not a TTL: 'forever'")]),
    (
        "x 2147483648 A 1.2.3.4",
        [(4, "x.example.com.", "2147483648", "TTL 2147483648 is more than 2147483647")],
    ),
    ("x CH A 1.2.3.4", [(4, "x.example.com.", "CH", "only class IN is supported")]),
    ("x IN", [(4, "x.example.com.", None, "missing record type")]),
    ("x IN FOO 1", [(4, "x.example.com.", "FOO", "unknown record type")]),
    ("x ANY 1", [(4, "x.example.com.", "ANY", "unknown record type")]),
    ("x A 1.2.3", [(4, "x.example.com. A", "1.2.3", "not an A address: '1.2.3'")]),
    (
        "x A 1.2.3.4 5.6.7.8",
        [(4, "x.example.com. A", "1.2.3.4 5.6.7.8", "A takes 1 fields, got 2")],
    ),
    (
        "x MX ten mail",
        [
            (
                4,
                "x.example.com. MX",
                "ten mail",
                "bad MX rdata: invalid literal for int() with base 10: 'ten'",
            )
        ],
    ),
    (
        "x LOC 1 2 3",
        [
            (
                4,
                "x.example.com. LOC",
                "1 2 3",
                "LOC rdata must be written in the RFC 3597 form \\# len hex",
            )
        ],
    ),
    (
        "x TYPE99 \\# 3 0102",
        [(4, "x.example.com. SPF", "\\# 3 0102", "length 3 does not match 2 bytes of data")],
    ),
    ("x A \\# 4 zz", [(4, "x.example.com. A", "\\# 4 zz", "bad hex data")]),
    ("x.other. A 1.2.3.4", [(4, "x.other. A", None, "name is outside the zone example.com.")]),
    ("a..b A 1.2.3.4", [(4, "a..b.example.com.", "a..b", "bad owner name: empty label")]),
    (
        f"{'a' * 64} A 1.2.3.4",
        [(4, f"{'a' * 64}.example.com.", "a" * 64, "bad owner name: label longer than 63 octets")],
    ),
    ('x TXT "open', [(4, "", None, "unterminated quoted string")]),
    ("x A ( 1.2.3.4", [(4, "", None, "unbalanced parentheses: '(' is never closed")]),
    ("x A 1.2.3.4 )", [(4, "", None, "unbalanced parentheses: ')' without '('")]),
    (
        "www CNAME a\nwww A 1.2.3.4",
        [(5, "www.example.com. A", None, "a CNAME cannot coexist with other data")],
    ),
    (
        "www CNAME a\nwww CNAME b",
        [(5, "www.example.com. CNAME", None, "more than one CNAME at this name")],
    ),
    ("@ SOA ns hm 1 2 3 4 5", [(4, "example.com. SOA", None, "more than one SOA at the apex")]),
    (
        "sub SOA ns hm 1 2 3 4 5",
        [(4, "sub.example.com. SOA", None, "SOA outside the apex example.com.")],
    ),
]


@pytest.mark.parametrize(("line", "expected"), BAD, ids=[b[0][:40] for b in BAD])
def test_bad_zone_problem_is_exact(line: str, expected: list[tuple[object, ...]]) -> None:
    _, problems = parse_zone(APEX + line + "\n", ORIGIN, "z.zone")
    assert problems == [Problem("z.zone", *e) for e in expected]  # type: ignore[arg-type]


def test_zone_level_problems_and_all_errors_at_once() -> None:
    text = "x A 1.2.3.4\n MX 1\nwww CNAME a\nwww TXT hi\n$INCLUDE f\n"
    zone, problems = parse_zone(text, "Example.COM", "z.zone")
    assert zone.origin == ORIGIN
    assert problems == [
        Problem("z.zone", None, ORIGIN, None, "no SOA record at the apex"),
        Problem("z.zone", None, ORIGIN, None, "no NS record at the apex"),
        Problem("z.zone", 1, "x.example.com. A", None, "no TTL: give one, or $TTL, or an SOA"),
        Problem("z.zone", 2, "x.example.com. MX", "1", "MX takes 2 fields, got 1"),
        Problem(
            "z.zone", 3, "www.example.com. CNAME", None, "no TTL: give one, or $TTL, or an SOA"
        ),
        Problem(
            "z.zone", 4, "www.example.com. TXT", None, "a CNAME cannot coexist with other data"
        ),
        Problem("z.zone", 4, "www.example.com. TXT", None, "no TTL: give one, or $TTL, or an SOA"),
        Problem(
            "z.zone", 5, "$INCLUDE", None, "$INCLUDE is not supported: keep the zone in one file"
        ),
    ]


def test_blank_owner_without_previous_owner() -> None:
    _, problems = parse_zone("  A 1.2.3.4\n" + APEX, ORIGIN, "z.zone")
    assert problems == [Problem("z.zone", 1, "", None, "no previous owner name to repeat")]
