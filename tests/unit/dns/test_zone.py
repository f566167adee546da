"""Static resolution: wildcards (RFC 4592), DS at a delegation, DNAME
(RFC 6672), return_to_dns.

The zone's rdata is made by dnspython, an independent encoder; answers are
read back with dnspython too.
"""

from __future__ import annotations

import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import pytest

from gslb.dns.wire import header
from gslb.dns.zone import ZoneIndex, to_wire
from gslb.model import Config, Record, ServerSettings, WideIP, Zone

ORIGIN = dns.name.from_text("gslb.example.")
RECORDS = [
    ("@", "SOA", "ns1 hostmaster 1 3600 600 1209600 300"),
    ("@", "NS", "ns1"),
    ("ns1", "A", "127.0.0.1"),
    ("x.y.app", "TXT", '"deep"'),
    ("foo.app", "TXT", '"foo"'),
    ("*.wild", "A", "192.0.2.7"),
    ("*.wild", "TXT", '"wild"'),
    ("host.wild", "TXT", '"host"'),
    ("sub", "NS", "ns.sub"),
    ("sub", "DS", "12345 8 2 " + "ab" * 32),
    ("ns.sub", "A", "127.0.0.53"),
    ("old", "DNAME", "new"),
    ("host.new", "A", "192.0.2.8"),
    ("ext", "DNAME", "example.net."),
    ("alias", "DNAME", "gslb.example."),
    ("long", "DNAME", ".".join(["l" * 60] * 3) + "."),  # 184 octets
    ("loop", "DNAME", "x.loop"),
]


def record(owner: str, rtype: str, text: str) -> Record:
    rd = dns.rdata.from_text("IN", rtype, text, origin=ORIGIN, relativize=False)
    name = dns.name.from_text(owner, ORIGIN) if owner != "@" else ORIGIN
    return Record(name.to_text().lower(), dns.rdatatype.from_text(rtype), 300, rd.to_wire())


# (dnspython reads the DNAME repeated at each step as one RRset.)
LOOP = ["loop.gslb.example. DNAME x.loop.gslb.example."] + [
    f"a.{'x.' * i}loop.gslb.example. CNAME a.{'x.' * (i + 1)}loop.gslb.example." for i in range(8)
]

INDEX = ZoneIndex(
    Config(
        source="test",
        server=ServerSettings(),
        datacenters=(),
        virtual_servers=(),
        pools=(),
        wideips=(WideIP("www.gslb.example.", ("*.app.gslb.example.",)),),
        regions=(),
        topology=(),
        zones=(Zone("gslb.example.", "z", tuple(record(*r) for r in RECORDS)),),
    )
)


def resolve(name: str, rtype: str, *, wideips: bool = True) -> tuple[int, bool, list[str], int]:
    """(rcode, AA, answer RRs as text, wide IP index) read back by dnspython."""
    qtype = dns.rdatatype.from_text(rtype)
    res = INDEX.resolve(to_wire(name), qtype, wideips=wideips)
    question = to_wire(name) + qtype.to_bytes(2, "big") + b"\x00\x01"
    flags = 0x8000 | (0x0400 if res.aa else 0) | res.rcode
    wire = header(1, flags, 1, len(res.answer), len(res.authority), len(res.additional))
    wire += question + b"".join(res.answer + res.authority + res.additional)
    msg = dns.message.from_wire(wire)
    rrs = [
        f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} {rd}"
        for rrset in msg.answer
        for rd in rrset
    ]
    return msg.rcode(), bool(msg.flags & 0x0400), rrs, res.wideip


@pytest.mark.parametrize(
    ("name", "rtype", "expected"),
    [
        # *.app is a wide IP: names below app that do not exist get it ...
        ("a.app.gslb.example.", "A", (dns.rcode.NOERROR, True, [], 0)),
        ("a.b.app.gslb.example.", "A", (dns.rcode.NOERROR, True, [], 0)),
        # ... but not an empty non-terminal (y.app exists: x.y.app is below it) ...
        ("y.app.gslb.example.", "A", (dns.rcode.NOERROR, True, [], -1)),
        # ... nor a name whose closest encloser is not app.
        ("sub.foo.app.gslb.example.", "A", (dns.rcode.NXDOMAIN, True, [], -1)),
        ("foo.app.gslb.example.", "A", (dns.rcode.NOERROR, True, [], -1)),
        # Other types at a wildcard-matched name: NODATA, not NXDOMAIN.
        ("a.app.gslb.example.", "MX", (dns.rcode.NOERROR, True, [], -1)),
        # Static wildcards are synthesised with the query's name as owner.
        (
            "a.wild.gslb.example.",
            "A",
            (dns.rcode.NOERROR, True, ["a.wild.gslb.example. A 192.0.2.7"], -1),
        ),
        (
            "a.b.wild.gslb.example.",
            "TXT",
            (dns.rcode.NOERROR, True, ['a.b.wild.gslb.example. TXT "wild"'], -1),
        ),
        ("a.wild.gslb.example.", "MX", (dns.rcode.NOERROR, True, [], -1)),
        # An existing name is never matched by the wildcard.
        ("host.wild.gslb.example.", "A", (dns.rcode.NOERROR, True, [], -1)),
        ("x.host.wild.gslb.example.", "A", (dns.rcode.NXDOMAIN, True, [], -1)),
        # DS lives on the parent side of a cut: answered, authoritative.
        (
            "sub.gslb.example.",
            "DS",
            (dns.rcode.NOERROR, True, ["sub.gslb.example. DS 12345 8 2 " + "ab" * 32], -1),
        ),
        ("sub.gslb.example.", "A", (dns.rcode.NOERROR, False, [], -1)),  # a referral
        ("a.sub.gslb.example.", "DS", (dns.rcode.NOERROR, False, [], -1)),  # below: referral
        # Below a DNAME: the DNAME, a CNAME to the rewritten name, and on.
        (
            "host.old.gslb.example.",
            "A",
            (
                dns.rcode.NOERROR,
                True,
                [
                    "old.gslb.example. DNAME new.gslb.example.",
                    "host.old.gslb.example. CNAME host.new.gslb.example.",
                    "host.new.gslb.example. A 192.0.2.8",
                ],
                -1,
            ),
        ),
        (
            "a.b.old.gslb.example.",
            "A",
            (
                dns.rcode.NXDOMAIN,
                True,
                [
                    "old.gslb.example. DNAME new.gslb.example.",
                    "a.b.old.gslb.example. CNAME a.b.new.gslb.example.",
                ],
                -1,
            ),
        ),
        (
            "host.old.gslb.example.",
            "CNAME",
            (
                dns.rcode.NOERROR,
                True,
                [
                    "old.gslb.example. DNAME new.gslb.example.",
                    "host.old.gslb.example. CNAME host.new.gslb.example.",
                ],
                -1,
            ),
        ),
        # At its owner, a DNAME is a record like any other.
        (
            "old.gslb.example.",
            "DNAME",
            (dns.rcode.NOERROR, True, ["old.gslb.example. DNAME new.gslb.example."], -1),
        ),
        ("old.gslb.example.", "A", (dns.rcode.NOERROR, True, [], -1)),
        # A target outside our zones ends the answer there.
        (
            "a.b.ext.gslb.example.",
            "A",
            (
                dns.rcode.NOERROR,
                True,
                [
                    "ext.gslb.example. DNAME example.net.",
                    "a.b.ext.gslb.example. CNAME a.b.example.net.",
                ],
                -1,
            ),
        ),
        # A wide IP reached through a DNAME: its RRs take the rewritten name.
        (
            "www.alias.gslb.example.",
            "A",
            (
                dns.rcode.NOERROR,
                True,
                [
                    "alias.gslb.example. DNAME gslb.example.",
                    "www.alias.gslb.example. CNAME www.gslb.example.",
                ],
                0,
            ),
        ),
        # A rewritten name longer than 255 octets: YXDOMAIN, with the DNAME.
        (
            f"{'a' * 63}.{'b' * 10}.long.gslb.example.",
            "A",
            (
                dns.rcode.YXDOMAIN,
                True,
                [f"long.gslb.example. DNAME {'l' * 60}.{'l' * 60}.{'l' * 60}."],
                -1,
            ),
        ),
        # A DNAME below itself: the chain is cut after 8 steps (SERVFAIL).
        ("a.loop.gslb.example.", "A", (dns.rcode.SERVFAIL, True, LOOP, -1)),
    ],
)
def test_resolution(name, rtype, expected):
    assert resolve(name, rtype) == expected


@pytest.mark.parametrize(
    ("name", "expected_rcode"),
    [
        ("www.gslb.example.", dns.rcode.NOERROR),  # a wide IP name exists
        ("a.app.gslb.example.", dns.rcode.NOERROR),  # so does what its wildcard matches
        ("nope.gslb.example.", dns.rcode.NXDOMAIN),
    ],
)
def test_return_to_dns_answers_from_static_records_only(name, expected_rcode):
    assert resolve(name, "A", wideips=False) == (expected_rcode, True, [], -1)
