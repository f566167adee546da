from __future__ import annotations

from gslb.probes import REGISTRY
from tests.integration.probes.conftest import FAST, LDNS, SLOW, TEL

PROBER = REGISTRY["dns_rev"]


async def test_asks_for_the_ptr_of_the_ldns_itself(ldns):
    fake, port = ldns
    result = await PROBER.probe(LDNS, source=TEL, port=port, timeout=2.0)
    assert result.ok and result.detail == "reply" and result.hops == 3
    assert FAST * 1e6 <= result.rtt_us < SLOW * 1e6
    ptr = b"\x0253\x010\x010\x03127\x07in-addr\x04arpa\x00\x00\x0c\x00\x01"
    assert [(s, q[12:]) for s, q in fake.received] == [(str(TEL), ptr)]


async def test_a_reply_with_another_id_is_not_the_answer(ldns):
    fake, port = ldns
    fake.reply = lambda query: b"\xff\xff" + bytes([query[2] | 0x80]) + query[3:]
    result = await PROBER.probe(LDNS, source=TEL, port=port, timeout=0.3)
    assert (result.rtt_us, result.detail) == (None, "timeout")
