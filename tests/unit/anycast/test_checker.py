"""What counts as gslbd answering: an authoritative NOERROR reply holding the SOA asked."""

from __future__ import annotations

import pytest
from dnslib import QTYPE, RCODE, RR, SOA, DNSRecord

from gslb.anycast.checker import verdict

QUERY = DNSRecord.question("gslb.example.", "SOA")


def reply(*, rcode: int = RCODE.NOERROR, aa: bool = True, soa: str | None = "gslb.example.",
          qid: int | None = None) -> bytes:  # fmt: skip
    r = QUERY.reply()
    r.header.rcode, r.header.aa = rcode, int(aa)
    if qid is not None:
        r.header.id = qid
    if soa is not None:
        r.add_answer(RR(soa, QTYPE.SOA, rdata=SOA("ns1.gslb.example.", "hostmaster.gslb.example.")))
    return r.pack()


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (reply(), "ok"),
        (reply(soa="other.example."), "no SOA"),
        (reply(soa=None), "no SOA"),
        (reply(aa=False), "not authoritative"),
        (reply(rcode=RCODE.SERVFAIL, soa=None), "rcode SERVFAIL"),
        (reply(rcode=RCODE.REFUSED, soa=None), "rcode REFUSED"),
        (reply(qid=(QUERY.header.id + 1) % 65536), "bad reply"),
        (QUERY.pack(), "bad reply"),  # not a response
        (b"\x00\x01", "bad reply"),
    ],
)
def test_verdict(wire: bytes, expected: str):
    assert verdict(QUERY, wire) == expected
