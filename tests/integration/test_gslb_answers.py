"""Wide IP answers seen from outside: the pool TTL, aliases and the wildcard,
EDNS Client Subnet, and the decision chain rtt -> topology ->
global_availability under configs that change one link of it.

Worked by hand from etc/: rtt has no path data for any LDNS (unsuccessful),
so topology decides. 127.0.0.0/8 scores TEL 100 over CNC 50 -> vs_tel
127.0.20.1; region north (202.106/16, 200.100/16) -> CNC 127.0.10.1; region
south (219.172/16) -> TEL 127.0.20.1; any other address has no record, and
global_availability takes the first member in order, vs_cnc 127.0.10.1.
AAAA has one pool, web6, with one member: ::1.
"""

from __future__ import annotations

from collections.abc import Callable

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from tests.integration.conftest import Gslbd, records

CNC, TEL = "127.0.10.1", "127.0.20.1"
TRANSPORTS = ["udp", "tcp"]


def ask(server: Gslbd, transport: str, query: dns.message.Message) -> dns.message.Message:
    return server.udp(query) if transport == "udp" else server.tcp(query)


def a_answer(server: Gslbd, qname: str = "www.gslb.example.", subnet: str | None = None) -> str:
    """The one address answered for `qname` A (from 127.0.0.1, or for an ECS subnet)."""
    options = [] if subnet is None else [dns.edns.ECSOption.from_text(subnet)]
    query = dns.message.make_query(qname, "A", use_edns=0, options=options)
    reply = server.udp(query)
    assert reply.rcode() == dns.rcode.NOERROR
    assert len(reply.answer) == 1
    assert len(reply.answer[0]) == 1
    return reply.answer[0][0].to_text()


WIDEIP_CASES = [
    ("www.gslb.example.", "A", f"www.gslb.example. 30 IN A {TEL}"),
    ("www.gslb.example.", "AAAA", "www.gslb.example. 30 IN AAAA ::1"),
    ("web.gslb.example.", "A", f"web.gslb.example. 30 IN A {TEL}"),
    ("web.gslb.example.", "AAAA", "web.gslb.example. 30 IN AAAA ::1"),
    ("x.app.gslb.example.", "A", f"x.app.gslb.example. 30 IN A {TEL}"),
    ("x.y.app.gslb.example.", "A", f"x.y.app.gslb.example. 30 IN A {TEL}"),
    ("x.y.app.gslb.example.", "AAAA", "x.y.app.gslb.example. 30 IN AAAA ::1"),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("qname", "qtype", "answer"), WIDEIP_CASES)
def test_wideip_answers(
    shared_gslbd: Gslbd, transport: str, qname: str, qtype: str, answer: str
) -> None:
    reply = ask(shared_gslbd, transport, dns.message.make_query(qname, qtype))
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.flags & dns.flags.AA
    assert records(reply.answer) == [answer]
    assert reply.authority == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wildcard_alias_other_types_are_nodata(shared_gslbd: Gslbd, transport: str) -> None:
    reply = ask(shared_gslbd, transport, dns.message.make_query("x.app.gslb.example.", "TXT"))
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.answer == []
    assert [r.rdtype for r in reply.authority] == [dns.rdatatype.SOA]


# (qname, qtype, ECS subnet, expected answer lines, expected ECS scope)
ECS_CASES = [
    ("www.gslb.example.", "A", "219.172.5.0/24", [f"www.gslb.example. 30 IN A {TEL}"], 24),
    ("www.gslb.example.", "A", "202.106.1.0/24", [f"www.gslb.example. 30 IN A {CNC}"], 24),
    ("www.gslb.example.", "A", "200.100.7.0/24", [f"www.gslb.example. 30 IN A {CNC}"], 24),
    ("www.gslb.example.", "A", "219.172.0.0/16", [f"www.gslb.example. 30 IN A {TEL}"], 16),
    ("www.gslb.example.", "A", "202.106.64.0/18", [f"www.gslb.example. 30 IN A {CNC}"], 18),
    # no topology record: global_availability, first in order
    ("www.gslb.example.", "A", "198.51.100.0/24", [f"www.gslb.example. 30 IN A {CNC}"], 24),
    ("www.gslb.example.", "A", "2001:db8:1::/56", [f"www.gslb.example. 30 IN A {CNC}"], 56),
    # ECS overrides the source address (127.0.0.1 would get TEL)
    ("web.gslb.example.", "A", "202.106.1.0/24", [f"web.gslb.example. 30 IN A {CNC}"], 24),
    ("q.app.gslb.example.", "A", "202.106.1.0/24", [f"q.app.gslb.example. 30 IN A {CNC}"], 24),
    ("www.gslb.example.", "AAAA", "202.106.1.0/24", ["www.gslb.example. 30 IN AAAA ::1"], 24),
    (
        "ftp.gslb.example.",
        "A",
        "202.106.1.0/24",
        ["ftp.gslb.example. 3600 IN CNAME www.gslb.example.", f"www.gslb.example. 30 IN A {CNC}"],
        24,
    ),
    # static names do not depend on the subnet: scope 0
    ("mail.gslb.example.", "A", "202.106.1.0/24", ["mail.gslb.example. 3600 IN A 127.0.0.25"], 0),
    (
        "gslb.example.",
        "MX",
        "219.172.5.0/24",
        ["gslb.example. 3600 IN MX 10 mail.gslb.example."],
        0,
    ),
    ("nope.gslb.example.", "A", "219.172.5.0/24", [], 0),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("qname", "qtype", "subnet", "answer", "scope"), ECS_CASES)
def test_ecs(
    shared_gslbd: Gslbd,
    transport: str,
    qname: str,
    qtype: str,
    subnet: str,
    answer: list[str],
    scope: int,
) -> None:
    sent = dns.edns.ECSOption.from_text(subnet)
    query = dns.message.make_query(qname, qtype, use_edns=0, options=[sent])
    reply = ask(shared_gslbd, transport, query)
    assert records(reply.answer) == sorted(answer)
    assert reply.flags & dns.flags.AA
    [echoed] = reply.options
    assert isinstance(echoed, dns.edns.ECSOption)
    assert (echoed.family, echoed.address, echoed.srclen) == (
        sent.family,
        sent.address,
        sent.srclen,
    )
    assert echoed.scopelen == scope


def test_ecs_and_nsid_together(shared_gslbd: Gslbd) -> None:
    nsid = dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")
    ecs = dns.edns.ECSOption("219.172.5.0", 24)
    reply = shared_gslbd.udp(
        dns.message.make_query("www.gslb.example.", "A", use_edns=0, options=[ecs, nsid])
    )
    assert records(reply.answer) == [f"www.gslb.example. 30 IN A {TEL}"]
    by_type = {int(o.otype): o for o in reply.options}
    assert sorted(by_type) == [3, 8]
    assert by_type[3].to_wire() == b"gslb-default"
    assert by_type[8].scopelen == 24  # type: ignore[attr-defined]


# The decision chain, each config changing one link.

LOOPBACK_TOPOLOGY = "dc:TEL,127.0.0.0/8,100\ndc:CNC,127.0.0.0/8,50\n"
NO_LOOPBACK = "server,ldns,score\ndc:CNC,region:north,100\ndc:TEL,region:south,100\n"
VS_CNC = 'address = "127.0.10.1"\nport = 80\ndatacenter = "CNC"\n'


def test_default_chain_topology_decides(shared_gslbd: Gslbd) -> None:
    assert LOOPBACK_TOPOLOGY in (shared_gslbd.config_dir / "topology.csv").read_text()
    assert a_answer(shared_gslbd) == TEL


def test_no_topology_record_falls_to_global_availability(
    make_gslbd: Callable[..., Gslbd],
) -> None:
    server = make_gslbd(topology=NO_LOOPBACK)
    assert a_answer(server) == CNC  # vs_cnc: first in order
    assert a_answer(server, subnet="219.172.5.0/24") == TEL  # topology still decides here
    assert a_answer(server, subnet="202.106.1.0/24") == CNC


def test_disabled_member_is_skipped(make_gslbd: Callable[..., Gslbd]) -> None:
    server = make_gslbd(
        toml=((VS_CNC, VS_CNC + "enabled = false\n"),), topology="server,ldns,score\n"
    )
    assert a_answer(server) == TEL
    assert a_answer(server, subnet="202.106.1.0/24") == TEL
    assert a_answer(server, subnet="198.51.100.0/24") == TEL


ROUND_ROBIN = (
    'methods = ["rtt", "topology", "global_availability"]',
    'methods = ["round_robin"]',
)
PERSISTENCE = "[wideip.persistence]\nttl = 300\ncidr_v4 = 24\ncidr_v6 = 56\n"


def test_round_robin_alternates_without_persistence(make_gslbd: Callable[..., Gslbd]) -> None:
    """The control for the next test: without persistence, answers rotate."""
    server = make_gslbd(toml=(ROUND_ROBIN, (PERSISTENCE, "")))
    assert [a_answer(server) for _ in range(4)] == [CNC, TEL, CNC, TEL]


def test_persistence_keeps_a_client_on_its_member(make_gslbd: Callable[..., Gslbd]) -> None:
    server = make_gslbd(toml=(ROUND_ROBIN,))
    # the first decision for each client network rotates; repeats stick to it
    assert [a_answer(server) for _ in range(5)] == [CNC] * 5
    assert [a_answer(server, subnet="10.1.1.0/24") for _ in range(4)] == [TEL] * 4
    assert [a_answer(server, subnet="10.1.2.0/24") for _ in range(4)] == [CNC] * 4
    # persistence is per /24 (cidr_v4 = 24): another address of 10.1.1.0/24
    assert a_answer(server, subnet="10.1.1.77/32") == TEL
    assert a_answer(server, subnet="10.1.1.128/25") == TEL
    # and 127.0.0.1 is still where it was
    assert a_answer(server) == CNC
    # an alias is the same wide IP: same persistence record
    assert a_answer(server, qname="web.gslb.example.", subnet="10.1.2.0/24") == CNC
