"""gslb.config.zonefile: master-file syntax ($INCLUDE and $GENERATE too),
rdata wire (checked against dnspython's reading of the same rdata, and
against wire bytes written out by hand for every type) and zone-level checks."""

from __future__ import annotations

from pathlib import Path

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from gslb.config.zonefile import Reader, parse_ttl, parse_zone
from gslb.errors import Problem
from gslb.model import Record

ORIGIN = "example.com."
APEX = "$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 900 1209600 60\n@ NS ns1\n"


def reference(rtype: str, text: str, origin: str = ORIGIN) -> bytes:
    """The rdata wire of `text`, as dnspython writes it."""
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


def reader(files: dict[str, str]) -> Reader:
    """Files by path, as the loader's reader gives them (ValueError if absent)."""

    def read(path: Path) -> str:
        try:
            return files[str(path)]
        except KeyError:
            raise ValueError(f"cannot read {path}: No such file or directory") from None

    return read


NO_FILES = reader({})


def records(text: str, origin: str = ORIGIN, read: Reader = NO_FILES) -> tuple[Record, ...]:
    zone, problems = parse_zone(text, origin, "z.zone", read)
    assert problems == []
    return zone.records


def problems_of(text: str, read: Reader = NO_FILES, file: str = "z.zone") -> list[Problem]:
    return parse_zone(text, ORIGIN, file, read)[1]


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
    ("old DNAME new", "old.example.com.", "DNAME", 300, "new.example.com."),
    ("old DNAME other.net.", "old.example.com.", "DNAME", 300, "other.net."),
    (
        's SVCB 1 svc alpn="h2,h3" port=8443 ( ipv4hint=192.0.2.1 )',
        "s.example.com.",
        "SVCB",
        300,
        '1 svc.example.com. alpn="h2,h3" port="8443" ipv4hint="192.0.2.1"',
    ),
    ("@ HTTPS 0 www", ORIGIN, "HTTPS", 300, "0 www.example.com."),
    (
        "@ HTTPS 1 . mandatory=alpn alpn=h3 no-default-alpn ipv6hint=2001:db8::1",
        ORIGIN,
        "HTTPS",
        300,
        '1 . mandatory="alpn" alpn="h3" no-default-alpn ipv6hint="2001:db8::1"',
    ),
    (
        "@ LOC 52 22 23.000 N 4 53 32.000 E -2m 0m 10000m 10m",
        ORIGIN,
        "LOC",
        300,
        "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m",
    ),
    ("@ LOC 52 N 4 E 10m", ORIGIN, "LOC", 300, "52 0 0.000 N 4 0 0.000 E 10.00m"),
    ('h HINFO "PC" "Linux 6"', "h.example.com.", "HINFO", 300, '"PC" "Linux 6"'),
    (
        '_ftp._tcp URI 10 1 "ftp://ftp.example.com/pub"',
        "_ftp._tcp.example.com.",
        "URI",
        300,
        '10 1 "ftp://ftp.example.com/pub"',
    ),
    ("@ RP admin notes", ORIGIN, "RP", 300, "admin.example.com. notes.example.com."),
    ("@ RP admin.example.net. .", ORIGIN, "RP", 300, "admin.example.net. ."),
    ('t SPF "v=spf1 -all"', "t.example.com.", "SPF", 300, '"v=spf1 -all"'),
    (
        "@ CDS 12345 13 1 ( 0011223344 5566778899 aabbccddeeff00112233 )",
        ORIGIN,
        "CDS",
        300,
        "12345 13 1 00112233445566778899aabbccddeeff00112233",
    ),
    ("@ CDNSKEY 257 3 13 AQID", ORIGIN, "CDNSKEY", 300, "257 3 13 AQID"),
    ("_25._tcp SMIMEA 3 1 0 00FF", "_25._tcp.example.com.", "SMIMEA", 300, "3 1 0 00ff"),
    ("k OPENPGPKEY AQID", "k.example.com.", "OPENPGPKEY", 300, "AQID"),
    ("n NSEC next A MX", "n.example.com.", "NSEC", 300, "next.example.com. A MX"),
    ("x TYPE39 \\# 3 017800", "x.example.com.", "DNAME", 300, "x."),
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


def name(text: str) -> bytes:
    """An absolute name in uncompressed wire form, written out here by hand."""
    labels = [label.encode() for label in text.rstrip(".").split(".") if label]
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\0"


def u16(n: int) -> bytes:
    return n.to_bytes(2, "big")


SHA1 = "00112233445566778899aabbccddeeff00112233"  # a digest's length is checked
# (zone text after APEX, the rdata's wire bytes as RFCs lay them out), for
# every type read natively: a check that does not go through dnspython.
WIRE = [
    ("d DNAME other.net.", name("other.net.")),
    ("d DNAME other", name("other.example.com.")),
    (
        "s SVCB 1 svc.example.net. alpn=h2,h3 port=8443",  # RFC 9460 §2.2, keys 1 and 3
        u16(1)
        + name("svc.example.net.")
        + u16(1)
        + u16(6)
        + b"\x02h2\x02h3"
        + u16(3)
        + u16(2)
        + u16(8443),
    ),
    ("@ HTTPS 0 www.example.net.", u16(0) + name("www.example.net.")),
    (
        "@ HTTPS 1 . ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1",
        u16(1)
        + b"\0"
        + u16(4)
        + u16(8)
        + bytes([192, 0, 2, 1, 192, 0, 2, 2])
        + u16(6)
        + u16(16)
        + bytes.fromhex("20010db8000000000000000000000001"),
    ),
    (
        # RFC 1876: version 0, size 0 (0e0 cm), horiz. precision 1e6 cm, vert.
        # 1e3 cm; latitude and longitude in ms offset by 2^31; altitude in cm
        # above -100000 m.
        "@ LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
        bytes([0, 0x00, 0x16, 0x13])
        + (2**31 + (52 * 3600 + 22 * 60 + 23) * 1000).to_bytes(4, "big")
        + (2**31 + (4 * 3600 + 53 * 60 + 32) * 1000).to_bytes(4, "big")
        + (10_000_000 - 200).to_bytes(4, "big"),
    ),
    (
        "@ LOC 33 S 70 W 0m",  # defaults: size 1 m, precision 10 km and 10 m
        bytes([0, 0x12, 0x16, 0x13])
        + (2**31 - 33 * 3600 * 1000).to_bytes(4, "big")
        + (2**31 - 70 * 3600 * 1000).to_bytes(4, "big")
        + (10_000_000).to_bytes(4, "big"),
    ),
    ('h HINFO "PC" "Linux"', b"\x02PC\x05Linux"),
    ('u URI 10 1 "ftp://a.example/"', u16(10) + u16(1) + b"ftp://a.example/"),
    ("r RP admin.example.net. .", name("admin.example.net.") + b"\0"),
    (
        '@ NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.net.',
        u16(100) + u16(10) + b"\x01S\x07SIP+D2U\x00" + name("_sip._udp.example.net."),
    ),
    ("t TLSA 3 1 0 00FF", bytes([3, 1, 0, 0x00, 0xFF])),
    ("h SSHFP 4 1 " + SHA1, bytes([4, 1]) + bytes.fromhex(SHA1)),
    ('@ CAA 0 issue "ca.example.net"', b"\x00\x05issueca.example.net"),
    ("@ DS 12345 13 1 " + SHA1, u16(12345) + bytes([13, 1]) + bytes.fromhex(SHA1)),
    ("@ DNSKEY 257 3 13 AQID", u16(257) + bytes([3, 13, 1, 2, 3])),
    ('t SPF "v=spf1" "-all"', b"\x06v=spf1\x04-all"),
    ("k OPENPGPKEY AQID", bytes([1, 2, 3])),
    ("m MX 10 mx.example.net.", u16(10) + name("mx.example.net.")),
    ("_s._tcp SRV 1 2 3 t", u16(1) + u16(2) + u16(3) + name("t.example.com.")),
    ('t TXT "a b" "c\\032d\\"e"', b'\x03a b\x05c d"e'),
]


@pytest.mark.parametrize(("line", "wire"), WIRE, ids=[w[0][:40] for w in WIRE])
def test_record_wire_is_exact(line: str, wire: bytes) -> None:
    *_, record = records(APEX + line + "\n")
    assert record.rdata == wire


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
    assert soa == Record(ORIGIN, 6, 3600, expected, line=2, file="z.zone")
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
        [(4, "$INCLUDE", "other.zone", "cannot read other.zone: No such file or directory")],
    ),
    ("$INCLUDE", [(4, "$INCLUDE", None, "$INCLUDE takes a file name and an optional origin")]),
    (
        "$INCLUDE a b c",
        [(4, "$INCLUDE", None, "$INCLUDE takes a file name and an optional origin")],
    ),
    ("$INCLUDE a x..y", [(4, "$INCLUDE", "x..y", "bad origin: empty label")]),
    ("$INCLUDE z.zone", [(4, "$INCLUDE", "z.zone", "include loop: z.zone -> z.zone")]),
    ("$DATE 1", [(4, "$DATE", None, "unknown directive $DATE")]),
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
        [(4, "x.example.com. A", "1.2.3.4 5.6.7.8", "A takes 1 field, got 2")],
    ),
    (
        "x MX ten mail",
        [
            (
                4,
                "x.example.com. MX",
                "ten mail",
                "bad MX rdata: expecting an integer",
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
                "bad LOC rdata: too few fields",
            )
        ],
    ),
    (
        "x TYPE99 \\# 3 0102",
        [
            (
                4,
                "x.example.com. SPF",
                "\\# 3 0102",
                "bad SPF rdata: generic rdata hex data has wrong length",
            )
        ],
    ),
    (
        "x A \\# 4 zz",
        [(4, "x.example.com. A", "\\# 4 zz", "bad A rdata: Non-hexadecimal digit found")],
    ),
    (
        "x A \\# 3 010203",
        [(4, "x.example.com. A", "\\# 3 010203", "bad A rdata: the \\# data is not valid A rdata")],
    ),
    ("x MX 10", [(4, "x.example.com. MX", "10", "bad MX rdata: too few fields")]),
    (
        "x MX 10 a b",
        [(4, "x.example.com. MX", "10 a b", "bad MX rdata: too many fields: 'b' is one too many")],
    ),
    (
        "x CAA 0 issue",
        [(4, "x.example.com. CAA", "0 issue", "bad CAA rdata: too few fields")],
    ),
    (
        "x TLSA 3 1 1 00FF",
        [
            (
                4,
                "x.example.com. TLSA",
                "3 1 1 00FF",
                "bad TLSA rdata: certificate association data length inconsistent"
                " with matching type",
            )
        ],
    ),
    (
        "x HTTPS 1 . alpn=h2 alpn=h3",
        [
            (
                4,
                "x.example.com. HTTPS",
                "1 . alpn=h2 alpn=h3",
                "bad HTTPS rdata: alpn is given twice",
            )
        ],
    ),
    (
        "x AAAA fe80::1%eth0",
        [(4, "x.example.com. AAAA", "fe80::1%eth0", "not an AAAA address: 'fe80::1%eth0'")],
    ),
    ("x TYPE0 \\# 0", [(4, "x.example.com.", "TYPE0", "unknown record type")]),
    ("x AXFR 1", [(4, "x.example.com.", "AXFR", "unknown record type")]),
    (
        "x DNAME a\nx DNAME b",
        [(5, "x.example.com. DNAME", None, "more than one DNAME at this name")],
    ),
    (
        "x NS ns\nx DNAME a",
        [
            (
                5,
                "x.example.com. DNAME",
                None,
                "a DNAME cannot be at a delegation (NS below the apex)",
            )
        ],
    ),
    ("@ DNAME a", []),  # beside the apex's NS: allowed
    (
        "x DNAME a\nx CNAME b",
        [(4, "x.example.com. DNAME", None, "a CNAME cannot coexist with other data")],
    ),
    (
        "x DNAME a\ny.x A 192.0.2.1\nx A 192.0.2.1\nz.y.x TXT t",
        [
            (5, "y.x.example.com. A", None, "below the DNAME at x.example.com.: never answered"),
            (
                7,
                "z.y.x.example.com. TXT",
                None,
                "below the DNAME at x.example.com.: never answered",
            ),
        ],
    ),
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
    _, problems = parse_zone(APEX + line + "\n", ORIGIN, "z.zone", NO_FILES)
    assert problems == [Problem("z.zone", *e) for e in expected]  # type: ignore[arg-type]


def test_zone_level_problems_and_all_errors_at_once() -> None:
    text = "x A 1.2.3.4\n MX 1\nwww CNAME a\nwww TXT hi\n$INCLUDE f\n"
    zone, problems = parse_zone(text, "Example.COM", "z.zone", NO_FILES)
    assert zone.origin == ORIGIN
    assert problems == [
        Problem("z.zone", None, ORIGIN, None, "no SOA record at the apex"),
        Problem("z.zone", None, ORIGIN, None, "no NS record at the apex"),
        Problem("z.zone", 1, "x.example.com. A", None, "no TTL: give one, or $TTL, or an SOA"),
        Problem("z.zone", 2, "x.example.com. MX", "1", "bad MX rdata: too few fields"),
        Problem(
            "z.zone", 3, "www.example.com. CNAME", None, "no TTL: give one, or $TTL, or an SOA"
        ),
        Problem(
            "z.zone", 4, "www.example.com. TXT", None, "a CNAME cannot coexist with other data"
        ),
        Problem("z.zone", 4, "www.example.com. TXT", None, "no TTL: give one, or $TTL, or an SOA"),
        Problem("z.zone", 5, "$INCLUDE", "f", "cannot read f: No such file or directory"),
    ]


def test_blank_owner_without_previous_owner() -> None:
    _, problems = parse_zone("  A 1.2.3.4\n" + APEX, ORIGIN, "z.zone", NO_FILES)
    assert problems == [Problem("z.zone", 1, "", None, "no previous owner name to repeat")]


def test_duplicate_records_are_one() -> None:
    # RFC 2181 §5: an RRset holds no duplicates; the first one written stands.
    text = APEX + "x A 192.0.2.1\nx 60 A 192.0.2.1\nx A 192.0.2.2\n"
    assert [(r.ttl, r.rdata, r.line) for r in records(text)[2:]] == [
        (300, bytes([192, 0, 2, 1]), 4),
        (300, bytes([192, 0, 2, 2]), 6),
    ]


def rrs(zone_records: tuple[Record, ...]) -> list[tuple[str, str, int, str]]:
    """Records after APEX as (owner, type, ttl, rdata in dnspython's text)."""
    out = []
    for r in zone_records[2:]:
        rdata = dns.rdata.from_wire(dns.rdataclass.IN, r.rtype, r.rdata, 0, len(r.rdata))
        out.append((r.name, dns.rdatatype.to_text(r.rtype), r.ttl, rdata.to_text()))
    return out


# ($GENERATE line after APEX, the records it stands for)
GENERATE = [
    (
        "$GENERATE 1-3 host$ A 192.0.2.$",
        [(f"host{i}.example.com.", "A", 300, f"192.0.2.{i}") for i in (1, 2, 3)],
    ),
    (
        "$GENERATE 0-4/2 ${10,3} CNAME x$",
        [(f"0{10 + i}.example.com.", "CNAME", 300, f"x{i}.example.com.") for i in (0, 2, 4)],
    ),
    (
        "$GENERATE 10-11 ${0,2,x}-${0,0,X}-${8,0,o} 60 IN PTR h$.example.net.",
        [
            ("0a-a-22.example.com.", "PTR", 60, "h10.example.net."),
            ("0b-b-23.example.com.", "PTR", 60, "h11.example.net."),
        ],
    ),
    (
        # Nibbles, least significant first; the width counts the dots too.
        "$GENERATE 1024-1025 ${0,7,n}.v6 IN 1h AAAA 2001:db8::${0,4,x}",
        [
            ("0.0.4.0.v6.example.com.", "AAAA", 3600, "2001:db8::400"),
            ("1.0.4.0.v6.example.com.", "AAAA", 3600, "2001:db8::401"),
        ],
    ),
    ("$GENERATE 171-171 ${0,0,N} A 192.0.2.1", [("b.a.example.com.", "A", 300, "192.0.2.1")]),
    (
        # A quoted rhs is rdata text (two strings here); $$ is a "$".
        '$GENERATE 1-2 t TXT "v=$ $$x"',
        [("t.example.com.", "TXT", 300, f'"v={i}" "$x"') for i in (1, 2)],
    ),
    ('$GENERATE 7-7 m$ MX "10 mx$"', [("m7.example.com.", "MX", 300, "10 mx7.example.com.")]),
    ("$GENERATE 5-5 t$ TXT a\\$b${-5}", [("t5.example.com.", "TXT", 300, '"a$b0"')]),
]


@pytest.mark.parametrize(("line", "expected"), GENERATE, ids=[g[0][:40] for g in GENERATE])
def test_generate(line: str, expected: list[tuple[str, str, int, str]]) -> None:
    text = APEX + line + "\n"
    assert rrs(records(text)) == expected
    assert {r.line for r in records(text)[2:]} == {4}


def test_generate_reverse_zone() -> None:
    text = APEX + "$GENERATE 1-2 $ PTR host$.example.com.\n"
    assert rrs(records(text, "2.0.192.in-addr.arpa.")) == [
        (f"{i}.2.0.192.in-addr.arpa.", "PTR", 300, f"host{i}.example.com.") for i in (1, 2)
    ]


USAGE = "$GENERATE takes: range lhs [ttl] [class] type rhs (quote an rhs with spaces)"
MODIFIER = (
    "bad modifier in {!r}: expected ${{offset}}, ${{offset,width}}"
    " or ${{offset,width,base}} with base one of d o x X n N"
)
# ($GENERATE line after APEX, its problems as (path, value, message), all on line 4)
GENERATE_BAD = [
    ("$GENERATE 1-2 x$ A", [("$GENERATE", None, USAGE)]),
    ("$GENERATE 1-3 x$ A 192.0.2.$ x", [("$GENERATE", "A 192.0.2.$ x", USAGE)]),
    (
        "$GENERATE 5-1 x$ A 192.0.2.1",
        [("$GENERATE", "5-1", "the range ends (1) before it starts (5)")],
    ),
    ("$GENERATE 1-5/0 x$ A 192.0.2.1", [("$GENERATE", "1-5/0", "the step must be at least 1")]),
    (
        "$GENERATE 1..5 x$ A 192.0.2.1",
        [("$GENERATE", "1..5", "expected a range start-stop or start-stop/step")],
    ),
    (
        "$GENERATE 0-65536 x$ A 192.0.2.1",
        [("$GENERATE", "0-65536", "65537 records, more than 65536: split the range")],
    ),
    (
        "$GENERATE 1-2 x${1,2,q} A 192.0.2.1",
        [("$GENERATE", "x${1,2,q}", MODIFIER.format("x${1,2,q}"))],
    ),
    ("$GENERATE 1-2 x$ A 1.2.3.${1", [("$GENERATE", "1.2.3.${1", MODIFIER.format("1.2.3.${1"))]),
    ("$GENERATE 1-2 x$ FOO 1", [("$GENERATE", "FOO", "unknown record type")]),
    ("$GENERATE 1-2 x$ 1y A 1.2.3.4", [("$GENERATE", "1y", "not a TTL: '1y'")]),
    (
        "$GENERATE 0-1 ${-1} A 192.0.2.1",
        [("$GENERATE", None, "the counter plus its offset is negative (-1) ($ = 0)")],
    ),
    (
        # One problem for the run, at the first record that has it.
        "$GENERATE 250-260 h$ A 192.0.2.$",
        [("h256.example.com. A", "192.0.2.256", "not an A address: '192.0.2.256' ($ = 256)")],
    ),
    (
        "$GENERATE 1-2 h$.other. A 192.0.2.1",
        [("h1.other. A", None, "name is outside the zone example.com. ($ = 1)")],
    ),
]


@pytest.mark.parametrize(("line", "expected"), GENERATE_BAD, ids=[g[0][:40] for g in GENERATE_BAD])
def test_generate_problem_is_exact(line: str, expected: list[tuple[str, object, str]]) -> None:
    assert problems_of(APEX + line + "\n") == [Problem("z.zone", 4, *e) for e in expected]


def located(zone_records: tuple[Record, ...]) -> list[tuple[str, int, str, int]]:
    return [(r.name, r.rtype, r.file, r.line) for r in zone_records[2:]]


def test_include_reads_relative_to_the_including_file_and_restores_origin_and_owner() -> None:
    read = reader(
        {
            "etc/sub/hosts.zone": "www A 192.0.2.1\n$INCLUDE more/mx.zone\n",
            "etc/sub/more/mx.zone": "@ MX 10 mail\n",
        }
    )
    text = (
        APEX + "$INCLUDE sub/hosts.zone\n  TXT after\n$INCLUDE sub/hosts.zone v2\nx A 192.0.2.9\n"
    )
    zone, problems = parse_zone(text, ORIGIN, "etc/z.zone", read)
    assert problems == []
    assert located(zone.records) == [
        ("www.example.com.", 1, "etc/sub/hosts.zone", 1),
        (ORIGIN, 15, "etc/sub/more/mx.zone", 1),
        # After an $INCLUDE, the includer's owner (the apex, from its NS line)
        # and origin are back.
        (ORIGIN, 16, "etc/z.zone", 5),
        ("www.v2.example.com.", 1, "etc/sub/hosts.zone", 1),
        ("v2.example.com.", 15, "etc/sub/more/mx.zone", 1),
        ("x.example.com.", 1, "etc/z.zone", 7),
    ]
    mx = zone.records[3]
    assert mx.rdata == reference("MX", "10 mail.example.com.")
    assert zone.records[6].rdata == reference("MX", "10 mail.v2.example.com.")


def test_problems_name_the_file_they_are_in_all_at_once() -> None:
    read = reader(
        {
            "etc/a.zone": "www CNAME x\nbad A 1.2.3\n$INCLUDE b.zone\n",
            "etc/b.zone": "www TXT hi\n$INCLUDE a.zone\n$INCLUDE gone.zone\n",
        }
    )
    text = APEX + "$INCLUDE a.zone\nx MX 1\n"
    _, problems = parse_zone(text, ORIGIN, "etc/z.zone", read)
    assert problems == [
        Problem("etc/a.zone", 2, "bad.example.com. A", "1.2.3", "not an A address: '1.2.3'"),
        Problem(
            "etc/b.zone",
            1,
            "www.example.com. TXT",
            None,
            "a CNAME cannot coexist with other data",
        ),
        Problem(
            "etc/b.zone",
            2,
            "$INCLUDE",
            "a.zone",
            "include loop: etc/z.zone -> etc/a.zone -> etc/b.zone -> etc/a.zone",
        ),
        Problem(
            "etc/b.zone",
            3,
            "$INCLUDE",
            "gone.zone",
            "cannot read etc/gone.zone: No such file or directory",
        ),
        Problem("etc/z.zone", 5, "x.example.com. MX", "1", "bad MX rdata: too few fields"),
    ]


def test_include_of_a_zone_into_itself_by_another_path_is_a_loop(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    top = tmp_path / "z.zone"
    read = reader({str(tmp_path / "sub" / ".." / "z.zone"): ""})
    problems = problems_of(APEX + "$INCLUDE sub/../z.zone\n", read, str(top))
    chain = f"{top} -> {tmp_path}/sub/../z.zone"
    assert problems == [Problem(str(top), 4, "$INCLUDE", "sub/../z.zone", f"include loop: {chain}")]


def test_include_of_a_name_no_file_can_have() -> None:
    assert problems_of(APEX + "$INCLUDE a\0b\n") == [
        Problem("z.zone", 4, "$INCLUDE", "a\0b", "cannot read a\0b: embedded null byte")
    ]


def test_include_of_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    top = str(tmp_path / "z.zone")
    [problem] = problems_of(APEX + "$INCLUDE a\n", NO_FILES, top)
    assert (problem.file, problem.line, problem.path, problem.value) == (top, 4, "$INCLUDE", "a")
    # Python 3.11 fails to resolve the path, later ones to read it.
    assert problem.message.startswith(f"cannot read {tmp_path / 'a'}: ")


def test_include_depth_is_bounded() -> None:
    files = {f"{i}.zone": f"$INCLUDE {i + 1}.zone\nh{i} A 192.0.2.1\n" for i in range(1, 40)}
    zone, problems = parse_zone(APEX + "$INCLUDE 1.zone\n", ORIGIN, "z.zone", reader(files))
    message = "$INCLUDEs nested more than 16 deep"
    assert problems == [Problem("16.zone", 1, "$INCLUDE", "17.zone", message)]
    assert [r.name for r in zone.records[2:]] == [f"h{i}.example.com." for i in range(16, 0, -1)]


def test_a_long_value_is_shown_cut() -> None:
    strings = " ".join(['"' + "a" * 200 + '"'] * 400)
    [problem] = problems_of(APEX + f"x TXT {strings}\n")
    value = f"{strings[:80]}... ({len(strings)} characters)"
    assert problem == Problem(
        "z.zone", 4, "x.example.com. TXT", value, "rdata is 80400 bytes, more than 65535"
    )


def test_a_long_owner_is_shown_cut() -> None:
    owner = "a" * 1000
    [problem] = problems_of(APEX + f"{owner} A 192.0.2.1\n")
    assert (problem.path, problem.value, problem.message) == (
        f"{'a' * 80}... (1013 characters)",
        f"{'a' * 80}... (1000 characters)",
        "bad owner name: label longer than 63 octets",
    )
