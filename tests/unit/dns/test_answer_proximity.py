"""The responder's two proximity hooks: who queried, and who to probe."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import dns.edns
import dns.message

from gslb.config import load
from gslb.dns.answer import Responder
from gslb.proximity import FrozenView, key_of
from gslb.proximity import Path as ProbePath
from gslb.snapshot import Snapshot, SnapshotHolder

ETC = Path(__file__).resolve().parents[3] / "etc"
NOW = 1_000_000.0
LDNS = ip_address("127.0.0.53")


def responder(proximity: FrozenView | None = None) -> tuple[Responder, list]:
    snap = Snapshot.build(load(ETC))
    if proximity is not None:
        snap = snap.with_proximity(proximity)
    offers: list = []
    r = Responder(SnapshotHolder(snap), clock=lambda: NOW, on_probe=lambda *a: offers.append(a))
    return r, offers


def query(name: str = "www.gslb.example.", ecs: str | None = None) -> bytes:
    options = [dns.edns.ECSOption(ecs, 24)] if ecs else []
    return dns.message.make_query(name, "A", use_edns=0 if ecs else None, options=options).to_wire()


def test_a_wide_ip_query_is_recorded_and_an_unknown_ldns_offered():
    r, offers = responder()
    r.answer(query(), "127.0.0.53", "udp")
    r.answer(query("mail.gslb.example."), "127.0.0.54", "udp")  # static: not recorded
    assert list(r.seen) == [key_of(LDNS)]
    assert offers == [(key_of(LDNS), "127.0.0.53")]


def test_with_ecs_the_subnet_is_the_key_and_the_resolver_the_target():
    r, offers = responder()
    r.answer(query(ecs="198.51.100.77"), "127.0.0.53", "udp")
    subnet = ip_address("198.51.100.0")
    assert (list(r.seen), offers) == ([key_of(subnet)], [(key_of(subnet), "127.0.0.53")])


def test_fresh_paths_decide_without_an_offer():
    paths = {0: ProbePath(150_000, 0, 10_000, NOW), 1: ProbePath(60_000, 0, 10_000, NOW)}
    r, offers = responder(FrozenView.of({LDNS: paths}))
    reply = dns.message.from_wire(r.answer(query(), LDNS, "udp"))
    assert [str(rr) for rr in reply.answer[0]] == ["127.0.20.1"]  # TEL: the lower RTT
    assert (offers, list(r.seen)) == ([], [key_of(LDNS)])
