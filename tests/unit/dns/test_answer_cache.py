"""The responder's reply cache: what it replays, for how long, and what it never caches."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dns.message
import dns.rcode

from gslb.config import load
from gslb.dns.answer import Responder
from gslb.dns.replycache import DYNAMIC_LIFETIME, MAX_QUERY
from gslb.health import Health
from gslb.model import Config
from gslb.snapshot import Snapshot, SnapshotHolder

ETC = Path(__file__).resolve().parents[3] / "etc"
VS_CNC, VS_TEL = "127.0.10.1", "127.0.20.1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def responder(config: Config | None = None) -> tuple[Responder, Clock, SnapshotHolder]:
    clock = Clock()
    holder = SnapshotHolder(Snapshot.build(config or load(ETC)))
    return Responder(holder, clock=clock), clock, holder


def ask(r: Responder, wire: bytes, peer: str = "127.0.0.53", transport: str = "udp") -> list[str]:
    reply = r.answer(wire, peer, transport)
    assert reply is not None
    msg = dns.message.from_wire(reply)
    assert msg.id == int.from_bytes(wire[:2], "big")
    return [str(rd) for rrset in msg.answer for rd in rrset]


def decisions(r: Responder) -> dict[str, int]:
    """Queries per deciding method, from the counters /metrics reads."""
    return {method: n for (_, _, method), n in r.counters.by_decision().items()}


def with_id(wire: bytes, qid: int) -> bytes:
    return qid.to_bytes(2, "big") + wire[2:]


WWW = dns.message.make_query("www.gslb.example.", "A").to_wire()


def test_a_repeated_query_replays_the_decision_with_its_own_id():
    r, _, _ = responder()
    assert ask(r, with_id(WWW, 1)) == [VS_TEL]  # topology: dc:TEL,127.0.0.0/8,100
    assert ask(r, with_id(WWW, 2)) == [VS_TEL]
    # Replayed: counted under the decision it repeats, not decided again (a
    # second decision would have come from persistence).
    assert decisions(r) == {"topology": 2}


def test_a_cached_wide_ip_reply_lives_one_second():
    r, clock, _ = responder()
    ask(r, WWW)
    clock.now += DYNAMIC_LIFETIME - 0.001
    ask(r, WWW)
    clock.now += 0.002
    ask(r, WWW)  # expired: decided again, this time by persistence
    assert decisions(r) == {"topology": 2, "persistence": 1}


def test_a_new_snapshot_empties_the_cache():
    r, _, holder = responder()
    assert ask(r, WWW) == [VS_TEL]
    config = holder.current.config
    down = Health.initial(config)
    down = replace(down, member_up=(True, False, True))  # vs_tel down
    holder.publish(holder.current.with_health(down))
    assert ask(r, WWW) == [VS_CNC]


STATIC = dns.message.make_query("gslb.example.", "SOA").to_wire()
MAIL = dns.message.make_query("mail.gslb.example.", "A").to_wire()


def test_new_paths_keep_static_replies_and_a_new_configuration_forgets_them():
    # What the cache holds is read through `replay`, the look-up answer()
    # makes first (not by replacing the responder's methods: compiled with
    # mypyc, its attributes cannot be patched).
    r, _, holder = responder()
    ask(r, STATIC)
    ask(r, WWW)
    holder.publish(holder.current.with_proximity(holder.current.proximity))
    ask(r, MAIL)  # the responder takes the new snapshot
    assert r.replies.replay(STATIC, "127.0.0.9") is not None  # the static reply outlived the view
    assert len(r.replies) == 2  # it and MAIL's: the wide IP reply did not
    holder.publish(Snapshot.build(load(ETC), generation=2))  # a reload
    ask(r, MAIL)
    assert r.replies.replay(STATIC, "127.0.0.9") is None  # answered afresh next time
    assert len(r.replies) == 1


def test_the_wide_ip_reply_is_per_peer():
    r, _, _ = responder()
    ask(r, WWW, peer="127.0.0.53")
    ask(r, WWW, peer="127.0.0.54")  # not replayed: decided, by the /24's persistence
    assert decisions(r) == {"topology": 1, "persistence": 1}
    assert len(r.seen) == 2


def test_static_replies_are_shared_by_every_peer_and_keep_their_rcode():
    r, _, _ = responder()
    nx = dns.message.make_query("nope.gslb.example.", "A").to_wire()
    for peer in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
        msg = dns.message.from_wire(r.answer(nx, peer, "udp") or b"")
        assert msg.rcode() == dns.rcode.NXDOMAIN
    by_query = r.counters.by_query()
    assert by_query["", 1, 3, "udp"] == 3  # every replay counted


def test_rotating_methods_are_never_cached():
    base = load(ETC)
    pools = (replace(base.pools[0], methods=("round_robin",)), *base.pools[1:])
    wips = (replace(base.wideips[0], persistence=None),)
    r, _, _ = responder(replace(base, pools=pools, wideips=wips))
    answers = [ask(r, WWW)[0] for _ in range(4)]
    assert answers == [VS_CNC, VS_TEL, VS_CNC, VS_TEL]


def test_tcp_replies_are_not_cached():
    r, _, _ = responder()
    tcp_first = ask(r, WWW, transport="tcp")
    assert tcp_first == [VS_TEL]
    ask(r, WWW)  # udp: decided (persistence), not replayed from the TCP reply
    assert decisions(r) == {"topology": 1, "persistence": 1}


def test_a_failure_is_never_replayed():
    # A bug in what the responder calls (here the probe scheduler's offer,
    # failing once) answers SERVFAIL; the same query from the same peer is
    # then answered afresh, not replayed from the cache.
    calls = []

    def on_probe(*args):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("a bug")

    holder = SnapshotHolder(Snapshot.build(load(ETC)))
    r = Responder(holder, clock=Clock(), on_probe=on_probe)
    assert dns.message.from_wire(r.answer(WWW, "127.0.0.1", "udp") or b"").rcode() == 2
    assert len(r.replies) == 0
    assert ask(r, WWW, peer="127.0.0.1") == [VS_TEL]
    assert len(calls) == 2  # decided again (rtt had no path: a probe wanted each time)


def test_only_ordinary_size_queries_are_cached():
    r, _, _ = responder()
    padded = dns.message.make_query("mail.gslb.example.", "A", use_edns=0, pad=600)
    wire = padded.to_wire()
    assert len(wire) > MAX_QUERY
    assert ask(r, wire) == ["127.0.0.25"]
    assert len(r.replies) == 0
    ask(r, dns.message.make_query("mail.gslb.example.", "A").to_wire())
    assert len(r.replies) == 1
