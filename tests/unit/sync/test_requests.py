"""Probe requests without a bus: batches out, offers in, the bound while waiting."""

from __future__ import annotations

from ipaddress import ip_address

from gslb.sync.requests import PER_MESSAGE, ProbeRequests

LDNS = ip_address("127.0.0.53")


def test_requests_go_out_in_batches_and_come_in_as_remote_offers():
    offered: list = []
    out = ProbeRequests(lambda ldns, target, remote: offered.append((ldns, target, remote)), 10_000)
    for i in range(PER_MESSAGE + 2):
        out.announce(ip_address(f"10.0.{i // 256}.{i % 256}"), LDNS)
    out.announce(ip_address("2001:db8::"), ip_address("2001:db8::53"))
    payloads = out.batch()
    assert [len(p.splitlines()) for p in payloads] == [PER_MESSAGE, 3]
    assert payloads[1].splitlines()[-1] == b"2001:db8:: 2001:db8::53"
    assert out.batch() == [] and out.counts["sent"] == PER_MESSAGE + 3

    back = ProbeRequests(lambda ldns, target, remote: offered.append((ldns, target, remote)), 10)
    back.take(payloads[1] + b"\nnot an address\n1.2.3.4\n")
    assert offered == [
        (ip_address("10.0.2.0"), LDNS, True),
        (ip_address("10.0.2.1"), LDNS, True),
        (ip_address("2001:db8::"), ip_address("2001:db8::53"), True),
    ]
    assert dict(back.counts) == {"received": 3, "bad": 2}


def test_while_the_bus_is_down_the_oldest_requests_go_first():
    out = ProbeRequests(lambda *a: None, 3)
    for i in range(5):
        out.announce(ip_address(f"10.0.0.{i}"), LDNS)
    assert out.waiting == 3 and out.counts["dropped"] == 2
    assert out.batch() == [b"10.0.0.2 127.0.0.53\n10.0.0.3 127.0.0.53\n10.0.0.4 127.0.0.53"]
