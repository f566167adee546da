"""The DNS side over UDP, seen by dnspython: static records, negative answers,
referrals, REFUSED, NOTIMP, ANY, letter case, EDNS(0) and truncation.

Every expectation is written by hand from etc/ (gslb.example.zone,
wideips.toml, topology.csv); the queries come from 127.0.0.1, so the wide IP
www answers 127.0.20.1 (topology: dc:TEL,127.0.0.0/8,100 beats CNC's 50).
The tables are shared with test_dns_tcp.py, which runs them over TCP.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.update
import pytest

from tests.integration.conftest import Gslbd, records

NOERROR, NXDOMAIN, REFUSED = dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.REFUSED

# Negative answers: the SOA with TTL min(SOA TTL 3600, SOA minimum 300).
SOA_NEG = (
    "gslb.example. 300 IN SOA ns1.gslb.example. hostmaster.gslb.example. "
    "2026112101 3600 600 1209600 300"
)
SOA = SOA_NEG.replace(" 300 IN", " 3600 IN", 1)
NS = ["gslb.example. 3600 IN NS ns1.gslb.example.", "gslb.example. 3600 IN NS ns2.gslb.example."]
GLUE = ["ns1.gslb.example. 3600 IN A 127.0.0.1", "ns2.gslb.example. 3600 IN AAAA ::1"]
REFERRAL_NS = ["sub.gslb.example. 3600 IN NS ns.sub.gslb.example."]
REFERRAL_GLUE = ["ns.sub.gslb.example. 3600 IN A 127.0.0.53"]


@dataclass(frozen=True)
class Case:
    qname: str
    qtype: str
    rcode: int
    aa: bool
    answer: tuple[str, ...] = ()
    authority: tuple[str, ...] = ()
    additional: tuple[str, ...] | None = ()  # None: not checked

    @property
    def id(self) -> str:
        return f"{self.qname}/{self.qtype}"


def ok(qname: str, qtype: str, *answer: str, additional: tuple[str, ...] | None = ()) -> Case:
    return Case(qname, qtype, NOERROR, True, answer, (), additional)


def nodata(qname: str, qtype: str, *answer: str) -> Case:
    return Case(qname, qtype, NOERROR, True, answer, (SOA_NEG,))


def nxdomain(qname: str, qtype: str) -> Case:
    return Case(qname, qtype, NXDOMAIN, True, (), (SOA_NEG,))


def referral(qname: str, qtype: str) -> Case:
    return Case(qname, qtype, NOERROR, False, (), tuple(REFERRAL_NS), tuple(REFERRAL_GLUE))


def refused(qname: str, qtype: str) -> Case:
    return Case(qname, qtype, REFUSED, False)


STATIC_CASES = [
    ok("gslb.example.", "SOA", SOA),
    ok("gslb.example.", "NS", *NS, additional=tuple(GLUE)),
    ok("gslb.example.", "MX", "gslb.example. 3600 IN MX 10 mail.gslb.example.", additional=None),
    ok("gslb.example.", "TXT", 'gslb.example. 3600 IN TXT "v=spf1 -all"'),
    ok("gslb.example.", "CAA", 'gslb.example. 3600 IN CAA 0 issue "letsencrypt.org"'),
    ok("mail.gslb.example.", "A", "mail.gslb.example. 3600 IN A 127.0.0.25"),
    ok("ns1.gslb.example.", "A", "ns1.gslb.example. 3600 IN A 127.0.0.1"),
    ok("ns2.gslb.example.", "AAAA", "ns2.gslb.example. 3600 IN AAAA ::1"),
    ok("ftp.gslb.example.", "CNAME", "ftp.gslb.example. 3600 IN CNAME www.gslb.example."),
    ok(
        "_sip._udp.gslb.example.",
        "SRV",
        "_sip._udp.gslb.example. 3600 IN SRV 10 5 5060 mail.gslb.example.",
        additional=None,
    ),
    # In-zone CNAMEs are followed: to a static name, and into the wide IP.
    ok(
        "docs.gslb.example.",
        "A",
        "docs.gslb.example. 3600 IN CNAME mail.gslb.example.",
        "mail.gslb.example. 3600 IN A 127.0.0.25",
    ),
    ok(
        "ftp.gslb.example.",
        "A",
        "ftp.gslb.example. 3600 IN CNAME www.gslb.example.",
        "www.gslb.example. 30 IN A 127.0.20.1",
    ),
    ok(
        "ftp.gslb.example.",
        "AAAA",
        "ftp.gslb.example. 3600 IN CNAME www.gslb.example.",
        "www.gslb.example. 30 IN AAAA ::1",
    ),
    nodata("docs.gslb.example.", "MX", "docs.gslb.example. 3600 IN CNAME mail.gslb.example."),
    # Wide IP names: pool TTL 30.
    ok("www.gslb.example.", "A", "www.gslb.example. 30 IN A 127.0.20.1"),
    ok("www.gslb.example.", "AAAA", "www.gslb.example. 30 IN AAAA ::1"),
    # NXDOMAIN and NODATA carry the SOA.
    nxdomain("nope.gslb.example.", "A"),
    nxdomain("a.b.nope.gslb.example.", "AAAA"),
    nxdomain("mail2.gslb.example.", "MX"),
    nodata("mail.gslb.example.", "TXT"),
    nodata("mail.gslb.example.", "AAAA"),
    nodata("www.gslb.example.", "TXT"),
    nodata("www.gslb.example.", "MX"),
    nodata("gslb.example.", "A"),
    nodata("_udp.gslb.example.", "SRV"),  # an empty non-terminal exists
    # `app` is an empty non-terminal: the wildcard alias `*.app` lives under
    # it (RFC 4592 §2.2.2). NXDOMAIN here would tell an RFC 8020 resolver that
    # nothing exists below `app`, hiding every name the wildcard answers.
    nodata("app.gslb.example.", "A"),
    # A delegation: referral without AA, NS in authority, glue in additional.
    referral("sub.gslb.example.", "A"),
    referral("sub.gslb.example.", "NS"),
    referral("x.sub.gslb.example.", "AAAA"),
    referral("ns.sub.gslb.example.", "A"),
    # Not ours.
    refused("example.com.", "A"),
    refused("example.", "SOA"),
    refused("gslb.example.com.", "A"),
    refused("xgslb.example.", "A"),
    refused(".", "NS"),
]


HEADER_FLAGS = (
    dns.flags.QR | dns.flags.AA | dns.flags.TC | dns.flags.RD | dns.flags.RA | dns.flags.AD
) | dns.flags.CD


def header_flags(reply: dns.message.Message) -> int:
    """The flag bits of the header (dnspython's `flags` also holds opcode, rcode)."""
    return int(reply.flags & HEADER_FLAGS)


def check(reply: dns.message.Message, case: Case) -> None:
    assert reply.rcode() == case.rcode
    expected_flags = dns.flags.QR | dns.flags.RD | (dns.flags.AA if case.aa else 0)
    assert header_flags(reply) == expected_flags
    assert records(reply.answer) == sorted(case.answer)
    assert records(reply.authority) == sorted(case.authority)
    if case.additional is not None:
        assert records(reply.additional) == sorted(case.additional)


@pytest.mark.parametrize("case", STATIC_CASES, ids=lambda c: c.id)
def test_static_answers(shared_gslbd: Gslbd, case: Case) -> None:
    reply = shared_gslbd.udp(dns.message.make_query(case.qname, case.qtype))
    check(reply, case)


# Every RRset at the apex; ANY (RFC 8482) must answer exactly one of them, whole.
APEX_RRSETS = {
    "SOA": [SOA],
    "NS": NS,
    "MX": ["gslb.example. 3600 IN MX 10 mail.gslb.example."],
    "TXT": ['gslb.example. 3600 IN TXT "v=spf1 -all"'],
    "CAA": ['gslb.example. 3600 IN CAA 0 issue "letsencrypt.org"'],
}


def check_any_apex(reply: dns.message.Message) -> None:
    assert reply.rcode() == NOERROR
    assert reply.flags & dns.flags.AA
    assert len(reply.answer) == 1, "RFC 8482: one RRset"
    rtype = dns.rdatatype.to_text(reply.answer[0].rdtype)
    assert records(reply.answer) == sorted(APEX_RRSETS[rtype])


ANY_CASES = [
    ok("www.gslb.example.", "ANY", "www.gslb.example. 30 IN A 127.0.20.1"),
    ok("mail.gslb.example.", "ANY", "mail.gslb.example. 3600 IN A 127.0.0.25"),
    ok("web.gslb.example.", "ANY", "web.gslb.example. 30 IN A 127.0.20.1"),
    nxdomain("nope.gslb.example.", "ANY"),
    refused("example.com.", "ANY"),
]


def test_any_at_apex_is_one_rrset(shared_gslbd: Gslbd) -> None:
    check_any_apex(shared_gslbd.udp(dns.message.make_query("gslb.example.", "ANY")))


@pytest.mark.parametrize("case", ANY_CASES, ids=lambda c: c.id)
def test_any(shared_gslbd: Gslbd, case: Case) -> None:
    check(shared_gslbd.udp(dns.message.make_query(case.qname, case.qtype)), case)


def question_end(wire: bytes) -> int:
    """Offset after the question of a one-question message without pointers."""
    off = 12
    while wire[off]:
        off += wire[off] + 1
    return off + 1 + 4


MIXED_CASE = [
    ("wWw.GsLb.ExAmPlE.", "A", "wWw.GsLb.ExAmPlE. 30 IN A 127.0.20.1"),
    ("MAIL.GSLB.EXAMPLE.", "A", "MAIL.GSLB.EXAMPLE. 3600 IN A 127.0.0.25"),
    ("X.Y.App.Gslb.Example.", "AAAA", "X.Y.App.Gslb.Example. 30 IN AAAA ::1"),
]


@pytest.mark.parametrize(("qname", "qtype", "answer"), MIXED_CASE)
def test_question_case_preserved(shared_gslbd: Gslbd, qname: str, qtype: str, answer: str) -> None:
    query = dns.message.make_query(qname, qtype)
    reply = shared_gslbd.udp(query)
    wire = query.to_wire()
    end = question_end(wire)
    assert reply.to_wire()[12:end] == wire[12:end]
    assert records(reply.answer) == [answer]


# Opcodes other than QUERY: 1 IQUERY (obsolete), 2 STATUS, 3 unassigned, 6 DSO.
@pytest.mark.parametrize("opcode", [1, 2, 3, 6])
def test_unknown_opcode_is_notimp(shared_gslbd: Gslbd, opcode: int) -> None:
    query = dns.message.make_query("www.gslb.example.", "A")
    query.set_opcode(opcode)
    reply = shared_gslbd.udp(query)
    assert reply.id == query.id
    assert reply.opcode() == opcode
    assert reply.rcode() == dns.rcode.NOTIMP
    assert not reply.flags & dns.flags.AA
    assert reply.answer == []


ALL_FLAGS = HEADER_FLAGS & ~dns.flags.QR | 0x0040  # AA TC RD RA AD CD, and Z


@pytest.mark.parametrize("question", [False, True], ids=["header-only", "with-question"])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_notimp_echoes_no_flag(shared_gslbd: Gslbd, question: bool, transport: str) -> None:
    # ISC genreport's `opcodeflg`: opcode 15 with every flag bit set. The reply
    # is NOTIMP with the opcode and nothing else: not RD, not CD.
    query = dns.message.make_query("www.gslb.example.", "A") if question else dns.message.Message()
    query.flags = ALL_FLAGS
    query.set_opcode(15)
    reply = shared_gslbd.udp(query) if transport == "udp" else shared_gslbd.tcp(query)
    assert (reply.id, reply.opcode(), reply.rcode()) == (query.id, 15, dns.rcode.NOTIMP)
    assert int(reply.flags) & ~0x7800 & ~0xF == dns.flags.QR
    assert (reply.question, reply.answer, reply.authority, reply.additional) == ([], [], [], [])


def test_formerr_still_echoes_rd(shared_gslbd: Gslbd) -> None:
    query = dns.message.Message()  # a QUERY without a question: FORMERR
    query.flags = dns.flags.RD | dns.flags.CD
    reply = shared_gslbd.udp(query)
    assert reply.rcode() == dns.rcode.FORMERR
    assert header_flags(reply) == dns.flags.QR | dns.flags.RD | dns.flags.CD


def test_update_is_notimp(shared_gslbd: Gslbd) -> None:
    update = dns.update.UpdateMessage("gslb.example.")
    update.add("evil", 300, "A", "192.0.2.1")
    reply = shared_gslbd.udp(update)
    assert reply.opcode() == dns.opcode.UPDATE
    assert reply.rcode() == dns.rcode.NOTIMP
    # and nothing changed
    after = shared_gslbd.udp(dns.message.make_query("evil.gslb.example.", "A"))
    assert after.rcode() == NXDOMAIN


# EDNS(0)


def option_map(reply: dns.message.Message) -> dict[int, bytes]:
    return {int(o.otype): o.to_wire() for o in reply.options}


def test_opt_echoed_with_our_buffer_size(shared_gslbd: Gslbd) -> None:
    for client_size in (512, 1232, 4096):
        query = dns.message.make_query("www.gslb.example.", "A", use_edns=0, payload=client_size)
        reply = shared_gslbd.udp(query)
        assert reply.edns == 0
        assert reply.payload == 1232
        assert reply.ednsflags == 0
        assert not reply.options
        assert records(reply.answer) == ["www.gslb.example. 30 IN A 127.0.20.1"]


def test_no_opt_without_edns(shared_gslbd: Gslbd) -> None:
    reply = shared_gslbd.udp(dns.message.make_query("www.gslb.example.", "A"))
    assert reply.edns == -1
    assert reply.additional == []


def test_badvers_for_version_1(shared_gslbd: Gslbd) -> None:
    reply = shared_gslbd.udp(dns.message.make_query("www.gslb.example.", "A", use_edns=1))
    assert reply.rcode() == dns.rcode.BADVERS == 16
    assert reply.edns == 0  # we answer with the version we speak
    assert reply.payload == 1232
    assert reply.answer == []
    assert reply.authority == []


def test_unknown_options_ignored(shared_gslbd: Gslbd) -> None:
    options = [dns.edns.GenericOption(65001, b"xyz"), dns.edns.GenericOption(12, b"\0" * 20)]
    query = dns.message.make_query("mail.gslb.example.", "A", use_edns=0, options=options)
    reply = shared_gslbd.udp(query)
    assert reply.rcode() == NOERROR
    assert records(reply.answer) == ["mail.gslb.example. 3600 IN A 127.0.0.25"]
    assert not reply.options  # not echoed


def test_nsid_when_requested(shared_gslbd: Gslbd) -> None:
    nsid = dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")
    query = dns.message.make_query("www.gslb.example.", "A", use_edns=0, options=[nsid])
    reply = shared_gslbd.udp(query)
    assert option_map(reply) == {3: b"gslb-default"}
    assert records(reply.answer) == ["www.gslb.example. 30 IN A 127.0.20.1"]
    # an NSID request also gets it on a negative answer
    query = dns.message.make_query("nope.gslb.example.", "A", use_edns=0, options=[nsid])
    reply = shared_gslbd.udp(query)
    assert reply.rcode() == NXDOMAIN
    assert option_map(reply) == {3: b"gslb-default"}


def test_do_bit_echoed(shared_gslbd: Gslbd) -> None:
    with_do = dns.message.make_query("gslb.example.", "SOA", want_dnssec=True)
    assert shared_gslbd.udp(with_do).ednsflags & dns.flags.DO
    without = dns.message.make_query("gslb.example.", "SOA", use_edns=0)
    assert not shared_gslbd.udp(without).ednsflags & dns.flags.DO


def test_refused_keeps_opt(shared_gslbd: Gslbd) -> None:
    reply = shared_gslbd.udp(dns.message.make_query("example.com.", "A", use_edns=0))
    assert reply.rcode() == REFUSED
    assert reply.edns == 0
    assert reply.payload == 1232


# Truncation (big_gslbd: `mid` TXT is 8 x 113 octets, `big` TXT 40 x 113).

MID = sorted(f'mid.gslb.example. 3600 IN TXT "{i:03d}{"m" * 97}"' for i in range(8))
BIG = sorted(f'big.gslb.example. 3600 IN TXT "{i:03d}{"b" * 97}"' for i in range(40))


def assert_truncated(reply: dns.message.Message) -> None:
    assert reply.flags & dns.flags.TC
    assert reply.rcode() == NOERROR
    assert reply.answer == []
    assert reply.authority == []


@pytest.mark.parametrize(
    ("qname", "edns", "payload"),
    [
        ("mid.gslb.example.", -1, 0),  # 950 octets > 512
        ("mid.gslb.example.", 0, 512),  # the client's size counts
        ("big.gslb.example.", -1, 0),
        ("big.gslb.example.", 0, 1232),  # 4.5 kB > 1232
        ("big.gslb.example.", 0, 65000),  # our 1232 caps the client's size
    ],
)
def test_tc_when_the_answer_does_not_fit(
    big_gslbd: Gslbd, qname: str, edns: int, payload: int
) -> None:
    query = dns.message.make_query(qname, "TXT", use_edns=edns, payload=payload)
    reply = big_gslbd.udp(query)
    assert_truncated(reply)
    assert reply.edns == edns
    if edns == 0:
        assert reply.payload == 1232


def test_no_tc_when_the_answer_fits(big_gslbd: Gslbd) -> None:
    query = dns.message.make_query("mid.gslb.example.", "TXT", use_edns=0, payload=1232)
    reply = big_gslbd.udp(query)
    assert not reply.flags & dns.flags.TC
    assert records(reply.answer) == MID
    # and a small answer of that server is not truncated without EDNS
    reply = big_gslbd.udp(dns.message.make_query("www.gslb.example.", "A"))
    assert not reply.flags & dns.flags.TC
    assert records(reply.answer) == ["www.gslb.example. 30 IN A 127.0.20.1"]


def test_reply_id_and_question_match(shared_gslbd: Gslbd) -> None:
    query = dns.message.make_query("mail.gslb.example.", "A")
    query.id = 0xBEEF
    reply = shared_gslbd.udp(query)
    assert reply.id == 0xBEEF
    assert reply.question == query.question


@pytest.mark.parametrize(
    ("qname", "qtype", "qclass"),
    [
        ("version.bind.", "TXT", "CH"),  # not a class we serve
        ("gslb.example.", "SOA", "HS"),
        ("gslb.example.", "AXFR", "IN"),  # zone transfers are not served
        ("gslb.example.", "IXFR", "IN"),
    ],
)
def test_refused_classes_and_transfers(
    shared_gslbd: Gslbd, qname: str, qtype: str, qclass: str
) -> None:
    reply = shared_gslbd.udp(dns.message.make_query(qname, qtype, qclass))
    assert reply.rcode() == REFUSED
    assert not reply.flags & dns.flags.AA
    assert reply.answer == []
