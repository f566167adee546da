"""explain() runs the real pipeline on copies: nothing real clients get moves."""

from dataclasses import replace
from pathlib import Path

import dns.edns
import dns.message
import pytest

from gslb.config import load
from gslb.control.explain import ExplainError, explain
from gslb.control.render import explanation
from gslb.decide.decision import Decision
from gslb.decide.plan import Plan
from gslb.dns.answer import Responder
from gslb.model import A
from gslb.snapshot import Snapshot, SnapshotHolder

ETC = Path(__file__).resolve().parents[3] / "etc"


@pytest.fixture(scope="module")
def responder() -> Responder:
    return Responder(SnapshotHolder(Snapshot.build(load(ETC))), clock=lambda: 1000.0)


def test_explain_writes_no_persistence_and_moves_no_cursor(responder: Responder):
    result = explain(responder.holder.current, responder, "www.gslb.example", "219.172.1.1")
    assert result["decision"]["members"] == [{"name": "vs_tel", "address": "127.0.20.1"}]
    assert [(s["method"], s["outcome"]) for s in result["steps"]] == [
        ("global_availability", "pick"), ("rtt", "unsuccessful"), ("topology", "pick"),
    ]  # fmt: skip
    assert len(responder.persistence) == 0
    assert responder.cursors._positions == {}


def test_ecs_stands_for_the_ldns(responder: Responder):
    result = explain(
        responder.holder.current,
        responder,
        "web.gslb.example.",
        "219.172.1.1",
        ecs="202.106.7.0/24",
    )
    assert (result["decided_for"], result["decision"]["members"][0]["name"]) == (
        "202.106.7.0", "vs_cnc",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "ldns", "kwargs", "message"),
    [
        ("ns1.gslb.example", "1.2.3.4", {}, "ns1.gslb.example is not a wide IP"),
        ("www.gslb.example", "x", {}, "--ldns: not an IP address: 'x'"),
        ("www.gslb.example", "1.2.3.4", {"ecs": "nope"}, "--ecs: not a network: 'nope'"),
        ("www.gslb.example", "1.2.3.4", {"qtype": "MX"}, "qtype must be A or AAAA, not 'MX'"),
    ],
)
def test_errors(responder: Responder, name, ldns, kwargs, message):
    with pytest.raises(ExplainError, match=message):
        explain(responder.holder.current, responder, name, ldns, **kwargs)


def test_explaining_a_rotating_pool_moves_no_real_cursor():
    base = load(ETC)
    pools = (replace(base.pools[0], methods=("round_robin",)), *base.pools[1:])
    config = replace(base, pools=pools, wideips=(replace(base.wideips[0], persistence=None),))
    responder = Responder(SnapshotHolder(Snapshot.build(config)), clock=lambda: 1000.0)
    www = dns.message.make_query("www.gslb.example.", "A").to_wire()

    def served() -> str:
        reply = dns.message.from_wire(responder.answer(www, "198.51.100.1", "tcp") or b"")
        return str(reply.answer[0][0])

    assert served() == "127.0.10.1"
    for _ in range(3):
        explain(responder.holder.current, responder, "www.gslb.example", "198.51.100.1")
    assert served() == "127.0.20.1"  # the rotation real clients see is unchanged
    assert served() == "127.0.10.1"


def test_the_plan_queries_take_is_run_and_agrees(responder: Responder):
    result = explain(responder.holder.current, responder, "www.gslb.example", "219.172.1.1")
    assert (result["hot_path"], result["plan_agrees"]) == ("plan", True)
    assert "plan_decision" not in result
    assert explanation(result).splitlines()[-1] == (
        "  (queries take the compiled plan; it decides the same)"
    )


def test_a_plan_that_disagrees_is_reported():
    snap = Snapshot.build(load(ETC))
    responder = Responder(SnapshotHolder(snap), clock=lambda: 1000.0)
    broken = Plan((), Decision("nodata"))  # decides nothing whatever the LDNS
    responder.memo.follow(snap)
    responder.memo.plans[0, A] = broken
    result = explain(snap, responder, "www.gslb.example", "219.172.1.1")
    assert (result["hot_path"], result["plan_agrees"]) == ("plan", False)
    assert result["plan_decision"]["action"] == "nodata"
    assert result["decision"]["members"] == [{"name": "vs_tel", "address": "127.0.20.1"}]
    assert "it DISAGREES: it answers nodata" in explanation(result)


def test_a_qos_pool_takes_the_general_path():
    base = load(ETC)
    pools = (replace(base.pools[0], methods=("qos", "global_availability")), *base.pools[1:])
    config = replace(base, pools=pools)
    responder = Responder(SnapshotHolder(Snapshot.build(config)), clock=lambda: 1000.0)
    result = explain(responder.holder.current, responder, "www.gslb.example", "198.51.100.1")
    assert (result["hot_path"], result["plan_agrees"]) == ("general", None)
    assert "compiled plan" not in explanation(result)


@pytest.mark.parametrize("method", ["round_robin", "ratio", "random"])
def test_a_rotating_pool_plan_agrees_from_the_same_cursors_and_draws(method):
    base = load(ETC)
    pools = (replace(base.pools[0], methods=(method,)), *base.pools[1:])
    config = replace(base, pools=pools, wideips=(replace(base.wideips[0], persistence=None),))
    responder = Responder(SnapshotHolder(Snapshot.build(config)), clock=lambda: 1000.0)
    www = dns.message.make_query("www.gslb.example.", "A").to_wire()
    for _ in range(3):  # real queries move the real cursors
        responder.answer(www, "198.51.100.1", "tcp")
    moved = dict(responder.cursors._positions)
    for _ in range(5):
        result = explain(responder.holder.current, responder, "www.gslb.example", "198.51.100.1")
        assert (result["hot_path"], result["plan_agrees"]) == ("plan", True), result
    assert responder.cursors._positions == moved  # explaining moved nothing


@pytest.mark.parametrize(
    ("ecs", "decided_for", "member", "address"),
    [
        # a /0 subnet says nothing about the client: the resolver stays the LDNS
        ("0.0.0.0/0", "219.172.0.20", "vs_tel", "127.0.20.1"),
        ("202.106.7.0/24", "202.106.7.0", "vs_cnc", "127.0.10.1"),
    ],
)
def test_explain_and_the_server_agree_on_who_the_ldns_is(ecs, decided_for, member, address):
    responder = Responder(SnapshotHolder(Snapshot.build(load(ETC))), clock=lambda: 1000.0)
    subnet = dns.edns.ECSOption.from_text(ecs)
    query = dns.message.make_query("www.gslb.example.", "A", use_edns=0, options=[subnet])
    wire = responder.answer(query.to_wire(), "219.172.0.20", "udp")
    reply = dns.message.from_wire(wire or b"")
    assert [rr.address for rr in reply.answer[0]] == [address]
    result = explain(
        responder.holder.current, responder, "www.gslb.example", "219.172.0.20", ecs=ecs
    )
    assert (result["decided_for"], result["decision"]["members"][0]["name"]) == (
        decided_for,
        member,
    )
