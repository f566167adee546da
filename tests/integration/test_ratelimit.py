"""Response rate limiting (`[server.rrl]`): a burst from one client network
over UDP gets `responses_per_second` answers, then every `slip`-th response
goes out as an empty TC=1 reply and the rest are dropped. TCP is never
limited. The default config has RRL off: the control test.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import dns.flags
import dns.message
import dns.rcode

from tests.integration.conftest import Gslbd, frame, records, recv_frame, tcp_connect

RRL = (("responses_per_second = 0", "responses_per_second = 5"),)
WWW_ANSWER = ["www.gslb.example. 30 IN A 127.0.20.1"]
BURST = 60


def burst(server: Gslbd, qname: str = "www.gslb.example.") -> list[dns.message.Message]:
    """Send BURST queries from one socket as fast as possible; every reply that came."""
    wires = []
    for i in range(BURST):
        query = dns.message.make_query(qname, "A")
        query.id = 5000 + i
        wires.append(query.to_wire())
    replies = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for wire in wires:
            sock.sendto(wire, (server.host, server.port))
        sock.settimeout(0.5)  # the server answers in order: silence means done
        try:
            while True:
                replies.append(dns.message.from_wire(sock.recv(65535)))
        except TimeoutError:
            pass
    ids = [r.id for r in replies]
    assert len(set(ids)) == len(ids)
    assert set(ids) <= {5000 + i for i in range(BURST)}
    return replies


def split(replies: list[dns.message.Message]) -> tuple[int, int]:
    """(full answers, TC=1 slips); anything else fails."""
    full = slips = 0
    for r in replies:
        assert r.rcode() == dns.rcode.NOERROR
        if r.flags & dns.flags.TC:
            assert r.answer == []
            slips += 1
        else:
            assert records(r.answer) == WWW_ANSWER
            full += 1
    return full, slips


def test_rrl_off_by_default(gslbd: Gslbd) -> None:
    assert split(burst(gslbd)) == (BURST, 0)


def test_udp_burst_is_limited_with_slips(make_gslbd: Callable[..., Gslbd]) -> None:
    server = make_gslbd(toml=RRL)
    full, slips = split(burst(server))
    # 5 tokens to start with (plus what refills during a burst of a few ms)
    assert 5 <= full <= 8
    # of the limited responses, every 2nd (slip = 2) goes out truncated
    assert slips == (BURST - full) // 2
    assert 5 <= full + slips <= 40


def test_tcp_is_never_limited(make_gslbd: Callable[..., Gslbd]) -> None:
    server = make_gslbd(toml=RRL)
    split(burst(server))  # this network's bucket is now empty
    queries = {}
    for i in range(BURST):
        query = dns.message.make_query("www.gslb.example.", "A")
        query.id = 7000 + i
        queries[query.id] = query.to_wire()
    with tcp_connect(server) as sock:
        sock.sendall(b"".join(frame(w) for w in queries.values()))
        for _ in range(BURST):
            wire = recv_frame(sock)
            assert wire is not None
            reply = dns.message.from_wire(wire)
            assert not reply.flags & dns.flags.TC
            assert records(reply.answer) == WWW_ANSWER
            del queries[reply.id]
    assert queries == {}


def test_the_limit_is_a_rate(make_gslbd: Callable[..., Gslbd]) -> None:
    server = make_gslbd(toml=RRL)
    full, _ = split(burst(server))
    assert full <= 8
    time.sleep(1.1)  # 5 tokens back
    for _ in range(5):
        reply = server.udp(dns.message.make_query("www.gslb.example.", "A"))
        assert not reply.flags & dns.flags.TC
        assert records(reply.answer) == WWW_ANSWER


def test_refused_is_limited_too(make_gslbd: Callable[..., Gslbd]) -> None:
    """A reflector needs no answer: out-of-zone REFUSED replies count as well."""
    server = make_gslbd(toml=RRL)
    replies = burst(server, qname="example.com.")
    refused = [r for r in replies if not r.flags & dns.flags.TC]
    assert all(r.rcode() == dns.rcode.REFUSED for r in refused)
    assert 5 <= len(refused) <= 8
    assert len(replies) - len(refused) == (BURST - len(refused)) // 2
