"""The responder's handling of who asked: mapped IPv4 peers, ECS /0, settings on reload."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address
from pathlib import Path

import dns.edns
import dns.message
import dns.rcode

from gslb.config import load
from gslb.dns.answer import Responder
from gslb.proximity import key_of
from gslb.snapshot import Snapshot, SnapshotHolder

ETC = Path(__file__).resolve().parents[3] / "etc"
VS_CNC, VS_TEL = "127.0.10.1", "127.0.20.1"


def responder() -> tuple[Responder, SnapshotHolder]:
    holder = SnapshotHolder(Snapshot.build(load(ETC)))
    return Responder(holder, clock=lambda: 1_000_000.0), holder


def www(ecs: tuple[str, int] | None = None) -> bytes:
    options = [dns.edns.ECSOption(*ecs)] if ecs else []
    return dns.message.make_query(
        "www.gslb.example.", "A", use_edns=0 if ecs else None, options=options
    ).to_wire()


def answer_of(reply: bytes | None) -> list[str]:
    assert reply is not None
    return [str(rd) for rrset in dns.message.from_wire(reply).answer for rd in rrset]


def test_an_ipv4_peer_on_an_ipv6_socket_is_the_ipv4_ldns():
    r, _ = responder()
    # 219.172.0.0/16 is region south -> TEL; as ::ffff:… no IPv4 record would match.
    assert answer_of(r.answer(www(), "::ffff:219.172.0.20", "udp")) == [VS_TEL]
    assert list(r.seen) == [key_of(ip_address("219.172.0.20"))]


def test_ecs_with_a_zero_prefix_leaves_the_resolver_as_the_ldns():
    r, _ = responder()
    reply = r.answer(www(("0.0.0.0", 0)), "202.106.0.20", "udp")  # region north -> CNC
    assert answer_of(reply) == [VS_CNC]
    msg = dns.message.from_wire(reply or b"")
    (ecs,) = msg.options
    assert (ecs.srclen, ecs.scopelen) == (0, 0)
    assert list(r.seen) == [key_of(ip_address("202.106.0.20"))]


def test_rate_limiting_follows_a_reload():
    r, holder = responder()
    assert r.ratelimit is None
    config = holder.current.config
    limited = replace(config, server=replace(config.server, rrl_responses_per_second=2))
    holder.publish(Snapshot.build(limited, 2))
    mail = dns.message.make_query("mail.gslb.example.", "A").to_wire()
    replies = [r.answer(mail, "198.51.100.7", "udp") for _ in range(6)]
    assert r.ratelimit is not None
    full = [x for x in replies if x is not None and not dns.message.from_wire(x).flags & 0x0200]
    assert len(full) == 2  # the bucket holds two responses a second
    holder.publish(Snapshot.build(config, 3))
    assert r.answer(mail, "198.51.100.7", "udp") is not None
    assert r.ratelimit is None


def test_trailing_bytes_are_a_format_error():
    r, _ = responder()
    reply = r.answer(www() + b"\x00" * 40, "127.0.0.1", "udp")
    assert dns.message.from_wire(reply or b"").rcode() == dns.rcode.FORMERR


def test_each_client_subnet_is_echoed_in_a_reply_assembled_once():
    # Two subnets of region north (CNC): one decision, one assembled reply,
    # each reply with its own subnet (scope /24) after the NSID it asked for.
    r, holder = responder()
    config = holder.current.config
    holder.publish(Snapshot.build(replace(config, server=replace(config.server, nsid=b"n1")), 2))
    replies = []
    for subnet in ("202.106.0.0", "202.106.1.0"):
        query = dns.message.make_query(
            "www.gslb.example.",
            "A",
            use_edns=0,
            options=[dns.edns.GenericOption(dns.edns.NSID, b""), dns.edns.ECSOption(subnet, 24)],
        )
        reply = r.answer(query.to_wire(), "198.51.100.7", "udp")
        assert answer_of(reply) == [VS_CNC]
        replies.append(dns.message.from_wire(reply or b""))
    assert len(r._assembled) == 1
    for msg, subnet in zip(replies, ("202.106.0.0", "202.106.1.0"), strict=True):
        nsid, ecs = msg.options
        assert nsid.otype == dns.edns.NSID and nsid.to_wire() == b"n1"
        assert (ecs.address, ecs.srclen, ecs.scopelen) == (subnet, 24, 24)
