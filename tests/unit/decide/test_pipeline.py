from collections.abc import Mapping
from ipaddress import ip_address
from random import Random

import pytest

from gslb.decide.persistence import PersistenceTable
from gslb.decide.pipeline import Cursors, Decision, Step, decide
from gslb.health import Health
from gslb.model import AAAA, A, Persistence, key_of
from gslb.proximity import Path
from gslb.snapshot import Snapshot
from tests.unit.factories import NOW, ConfigBuilder, FakeProximity, path

WIP = "www.gslb.example."
TEL_NET = "198.51.100.7"  # in the topology record below
ELSEWHERE = "203.0.113.9"  # matches no record
DEFAULT_CHAIN = ("rtt", "topology", "global_availability")


def base() -> ConfigBuilder:
    return (
        ConfigBuilder()
        .dc("CNC", "TEL")
        .vs("cnc1", "192.0.2.1", "CNC")
        .vs("cnc2", "192.0.2.2", "CNC")
        .vs("tel1", "192.0.2.11", "TEL")
        .vs("tel2", "192.0.2.12", "TEL")
        .vs("cnc6", "2001:db8::1", "CNC")
        .topology("dc:TEL,198.51.100.0/24,100")
    )


def one_pool(*members: str, **pool: object) -> ConfigBuilder:
    return base().pool("web", members, **pool).wideip(WIP, ["web"])


def snapshot(
    builder: ConfigBuilder,
    *,
    down: tuple[str, ...] = (),
    paths: Mapping[str, Mapping[int, Path]] | None = None,
) -> Snapshot:
    cfg = builder.build()
    health = Health(
        tuple(v.name not in down for v in cfg.virtual_servers), (True,) * len(cfg.datacenters)
    )
    proximity = FakeProximity({ip_address(k): dict(v) for k, v in (paths or {}).items()})
    return Snapshot.build(cfg, health=health, proximity=proximity)


def run(
    snap: Snapshot,
    ldns: str = TEL_NET,
    *,
    rtype: int = A,
    now: float = NOW,
    cursors: Cursors | None = None,
    persistence: PersistenceTable | None = None,
    explain: bool = False,
) -> Decision:
    return decide(
        snap,
        0,
        rtype,
        key_of(ip_address(ldns)),
        now=now,
        rng=Random(1),
        cursors=cursors if cursors is not None else Cursors(),
        persistence=persistence,
        explain=explain,
    )


def summary(snap: Snapshot, d: Decision) -> tuple[str, str, str, tuple[str, ...]]:
    """(action, pool name, deciding method, member names)."""
    pool = snap.config.pools[d.pool].name if d.pool >= 0 else ""
    return d.action, pool, d.method, tuple(snap.config.virtual_servers[i].name for i in d.members)


# -- the default chain rtt -> topology -> global_availability ---------------------------


@pytest.mark.parametrize(
    ("ldns", "paths", "method", "member", "probe"),
    [
        (TEL_NET, {}, "topology", "tel1", True),
        (ELSEWHERE, {}, "global_availability", "cnc1", True),
        (TEL_NET, {0: path(10_000), 1: path(30_000)}, "rtt", "cnc1", False),
        (ELSEWHERE, {1: path(30_000)}, "rtt", "tel1", False),
        (TEL_NET, {0: path(10_000, age=2401)}, "topology", "tel1", True),
        (ELSEWHERE, {0: path(10_000, age=2401)}, "global_availability", "cnc1", True),
        (TEL_NET, {0: path(10_000, age=2400)}, "rtt", "cnc1", False),
    ],
)
def test_default_chain_falls_through(ldns, paths, method, member, probe):
    snap = snapshot(one_pool("cnc1", "tel1", methods=DEFAULT_CHAIN), paths={ldns: paths})
    d = run(snap, ldns)
    assert summary(snap, d) == ("answer", "web", method, (member,))
    assert (d.probe, d.ttl, d.fallback, d.trace) == (probe, 30, None, ())


@pytest.mark.parametrize(
    ("first", "probe"),
    [
        ("rtt", True),
        ("hops", True),
        ("completion_rate", True),
        ("qos", True),
        ("topology", False),
        ("round_robin", False),
    ],
)
def test_probe_only_when_a_dynamic_method_lacked_data(first, probe):
    snap = snapshot(one_pool("cnc1", "tel1", methods=(first, "global_availability")))
    assert run(snap, ELSEWHERE).probe is probe


def test_probe_survives_a_failed_pool():
    builder = (
        base()
        .pool("first", ["cnc1"], methods=("rtt", "none"))
        .pool("second", ["tel1"])
        .wideip(WIP, ["first", "second"])
    )
    snap = snapshot(builder)
    d = run(snap)
    assert (summary(snap, d), d.probe) == (
        ("answer", "second", "global_availability", ("tel1",)),
        True,
    )


# -- explain --------------------------------------------------------------------------------


def test_trace_of_a_full_fall_through():
    snap = snapshot(one_pool("cnc1", "tel1", methods=DEFAULT_CHAIN))
    assert run(snap, ELSEWHERE, explain=True).trace == (
        Step(
            "pool",
            WIP,
            "global_availability",
            "pick",
            "first available in configured order",
            ("web",),
        ),
        Step("member", "web", "rtt", "unsuccessful", f"no fresh path data for {ELSEWHERE}"),
        Step(
            "member", "web", "topology", "unsuccessful", f"no topology record matches {ELSEWHERE}"
        ),
        Step(
            "member",
            "web",
            "global_availability",
            "pick",
            "first available in configured order",
            ("cnc1", "tel1"),
        ),
    )


def test_trace_carries_the_metrics_of_the_deciding_method():
    paths = {TEL_NET: {0: path(30_000), 1: path(10_000)}}
    snap = snapshot(one_pool("cnc1", "tel1", methods=DEFAULT_CHAIN), paths=paths)
    assert run(snap, explain=True).trace[1:] == (
        Step(
            "member", "web", "rtt", "pick", "", ("tel1", "cnc1"), {"tel1": 10_000, "cnc1": 30_000}
        ),
    )


def test_topology_trace_lists_scores():
    snap = snapshot(one_pool("cnc1", "tel1", "tel2", methods=("topology",)))
    assert run(snap, explain=True).trace[1:] == (
        Step("member", "web", "topology", "pick", "", ("tel1", "tel2"), {"tel1": 100, "tel2": 100}),
    )


# -- max_answers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_answers", "expected"),
    [
        (1, ("cnc1",)),
        (2, ("cnc1", "tel1")),
        (4, ("cnc1", "tel1", "cnc2", "tel2")),
        (10, ("cnc1", "tel1", "cnc2", "tel2")),
    ],
)
def test_max_answers(max_answers, expected):
    snap = snapshot(one_pool("cnc1", "tel1", "cnc2", "tel2", max_answers=max_answers))
    assert summary(snap, run(snap)) == ("answer", "web", "global_availability", expected)


def test_max_answers_counts_available_members_only():
    snap = snapshot(one_pool("cnc1", "tel1", "cnc2", max_answers=2), down=("tel1",))
    assert summary(snap, run(snap))[3] == ("cnc1", "cnc2")


# -- availability, fail open and fail closed ------------------------------------------------


@pytest.mark.parametrize(
    ("methods", "down", "member"),
    [
        (("global_availability",), ("cnc1",), "tel1"),
        (("global_availability",), ("cnc1", "tel1"), "cnc1"),  # last method fails open
        (("topology", "global_availability"), ("tel1",), "cnc1"),  # topology sees no tel1
        (("topology", "global_availability"), ("cnc1", "tel1"), "cnc1"),  # only the last
        (("round_robin",), ("cnc1", "tel1"), "cnc1"),
        (("topology",), ("cnc1", "tel1"), "tel1"),  # last and only: sees all
    ],
)
def test_methods_see_available_members_and_the_last_fails_open(methods, down, member):
    snap = snapshot(one_pool("cnc1", "tel1", methods=methods), down=down)
    assert summary(snap, run(snap))[1:] == ("web", methods[-1], (member,))


def test_total_outage_trace():
    snap = snapshot(
        one_pool("cnc1", "tel1", methods=("topology", "global_availability")), down=("cnc1", "tel1")
    )
    assert run(snap, explain=True).trace == (
        Step("pool", WIP, "fail_open", "pick", "no pool has an available member"),
        Step("member", "web", "topology", "unsuccessful", f"no topology record matches {TEL_NET}"),
        Step(
            "member",
            "web",
            "global_availability",
            "pick",
            "first available in configured order",
            ("cnc1", "tel1"),
        ),
    )


def two_pools(first: dict[str, object], second: dict[str, object] | None = None) -> ConfigBuilder:
    return (
        base()
        .pool("cnc", ["cnc1", "cnc2"], **first)
        .pool("tel", ["tel1", "tel2"], **(second or {}))
        .wideip(WIP, ["cnc", "tel"])
    )


@pytest.mark.parametrize(
    ("builder", "down", "expected"),
    [
        # every member down: the fail-closed pool fails, the next pool fails open
        (two_pools({"fail_closed": True}), ("cnc1", "cnc2", "tel1", "tel2"), ("tel", ("tel1",))),
        (two_pools({}), ("cnc1", "cnc2", "tel1", "tel2"), ("cnc", ("cnc1",))),
        (two_pools({"fail_closed": True}), ("cnc1", "cnc2"), ("tel", ("tel1",))),
        (two_pools({"fail_closed": True}), ("cnc1",), ("cnc", ("cnc2",))),
        (two_pools({}), ("cnc1", "cnc2"), ("tel", ("tel1",))),
    ],
)
def test_fail_closed_hands_over_to_the_next_pool(builder, down, expected):
    snap = snapshot(builder, down=down)
    assert summary(snap, run(snap))[1::2] == expected


def test_fail_closed_only_pool_gives_nodata():
    snap = snapshot(one_pool("cnc1", "tel1", fail_closed=True), down=("cnc1", "tel1"))
    assert summary(snap, run(snap)) == ("nodata", "", "", ())


# -- last resort pool ----------------------------------------------------------------------


def with_last_resort(**main: object) -> ConfigBuilder:
    return (
        base()
        .pool("main", ["cnc1"], **main)
        .pool("sorry", ["tel1"])
        .pool("main6", ["cnc6"], rtype=AAAA)
        .wideip(WIP, ["main", "main6"], last_resort_pool="sorry")
    )


@pytest.mark.parametrize(
    ("builder", "down", "rtype", "expected"),
    [
        (with_last_resort(), (), A, ("main", ("cnc1",))),
        (with_last_resort(), ("cnc1",), A, ("sorry", ("tel1",))),
        (with_last_resort(methods=("none",)), (), A, ("sorry", ("tel1",))),
        (with_last_resort(fail_closed=True), ("cnc1",), A, ("sorry", ("tel1",))),
        (with_last_resort(), ("cnc1", "tel1"), A, ("sorry", ("tel1",))),  # fails open
        (with_last_resort(), (), AAAA, ("main6", ("cnc6",))),
        # an A last-resort pool must never answer an AAAA query
        (with_last_resort(), ("cnc6",), AAAA, ("main6", ("cnc6",))),
    ],
)
def test_last_resort_pool(builder, down, rtype, expected):
    snap = snapshot(builder, down=down)
    assert summary(snap, run(snap, rtype=rtype))[1::2] == expected


def test_last_resort_pool_of_another_type_is_not_tried():
    builder = (
        base()
        .pool("main6", ["cnc6"], rtype=AAAA, fail_closed=True)
        .pool("sorry", ["tel1"])
        .wideip(WIP, ["main6"], last_resort_pool="sorry")
    )
    snap = snapshot(builder, down=("cnc6",))
    assert summary(snap, run(snap, rtype=AAAA)) == ("nodata", "", "", ())


# -- the pool tier -------------------------------------------------------------------------


def pools_by(pool_method: str, p1: dict[str, object] | None = None, **p2: object) -> ConfigBuilder:
    return (
        base()
        .pool("p1", ["cnc1"], **(p1 or {}))
        .pool("p2", ["tel1"], **p2)
        .topology("pool:p2,192.0.2.0/24,100")
        .wideip(WIP, ["p1", "p2"], pool_method=pool_method)
    )


@pytest.mark.parametrize(
    ("builder", "down", "expected"),
    [
        (pools_by("global_availability"), (), "p1 p1 p1"),
        (pools_by("global_availability"), ("cnc1",), "p2 p2 p2"),
        (pools_by("round_robin"), (), "p1 p2 p1 p2 p1"),
        (pools_by("round_robin"), ("cnc1",), "p2 p2 p2"),  # only pools with a member up
        (pools_by("ratio", {"ratio": 2}), (), "p1 p2 p1 p1 p2 p1"),
        (pools_by("ratio", ratio=3), (), "p2 p1 p2 p2 p2 p1 p2 p2"),
    ],
)
def test_pool_method_over_successive_queries(builder, down, expected):
    snap = snapshot(builder, down=down)
    cursors = Cursors()
    got = " ".join(summary(snap, run(snap, cursors=cursors))[1] for _ in expected.split())
    assert got == expected


@pytest.mark.parametrize(("ldns", "pool"), [("192.0.2.53", "p2"), (ELSEWHERE, "p1")])
def test_pool_method_topology_matches_pool_records(ldns, pool):
    snap = snapshot(pools_by("topology"))
    assert summary(snap, run(snap, ldns))[1] == pool


def test_pool_method_topology_falls_back_to_the_pools_it_left_out():
    # p2 matches the LDNS but its chain fails (`none`): p1, score 0, answers.
    snap = snapshot(pools_by("topology", methods=("none",)))
    assert summary(snap, run(snap, "192.0.2.53"))[1] == "p1"


def test_pool_method_topology_trace():
    snap = snapshot(pools_by("topology"))
    assert run(snap, ELSEWHERE, explain=True).trace[0] == Step(
        "pool", WIP, "topology", "unsuccessful", f"no topology record matches {ELSEWHERE}"
    )
    assert run(snap, "192.0.2.53", explain=True).trace[0] == Step(
        "pool", WIP, "topology", "pick", "", ("p2",), {"p2": 100}
    )


def test_round_robin_cursors_are_separate_per_pool():
    builder = (
        base()
        .pool("a", ["cnc1", "cnc2"], methods=("round_robin",))
        .pool("b", ["tel1", "tel2"], methods=("round_robin",))
        .wideip(WIP, ["a", "b"], pool_method="round_robin")
    )
    snap = snapshot(builder)
    cursors = Cursors()
    got = [summary(snap, run(snap, cursors=cursors))[3][0] for _ in range(6)]
    assert got == ["cnc1", "tel1", "cnc2", "tel2", "cnc1", "tel1"]


# -- terminal methods and `none` -----------------------------------------------------------


FALLBACK = "203.0.113.250"


@pytest.mark.parametrize(
    ("methods", "down", "expected"),
    [
        (("drop_packet",), (), ("drop", "drop_packet", None, False)),
        (("return_to_dns",), (), ("return_to_dns", "return_to_dns", None, False)),
        (("fallback_ip",), (), ("answer", "fallback_ip", FALLBACK, False)),
        (("rtt", "fallback_ip"), (), ("answer", "fallback_ip", FALLBACK, True)),
        (
            ("global_availability", "fallback_ip"),
            ("cnc1", "tel1"),
            ("answer", "fallback_ip", FALLBACK, False),
        ),
        (
            ("global_availability", "drop_packet"),
            ("cnc1", "tel1"),
            ("drop", "drop_packet", None, False),
        ),
        (
            ("global_availability", "drop_packet"),
            ("cnc1",),
            ("answer", "global_availability", None, False),
        ),
        (("none", "global_availability"), (), ("answer", "global_availability", None, False)),
        (("none", "return_to_dns"), (), ("return_to_dns", "return_to_dns", None, False)),
    ],
)
def test_terminal_methods(methods, down, expected):
    snap = snapshot(
        one_pool("cnc1", "tel1", methods=methods, fallback_ip=ip_address(FALLBACK)), down=down
    )
    d = run(snap, ELSEWHERE)
    fallback = None if d.fallback is None else str(d.fallback)
    assert (d.action, d.method, fallback, d.probe) == expected
    assert d.pool == 0
    if fallback is not None:
        assert (d.members, d.ttl) == ((), 30)


@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        (("none",), ("answer", "second", "global_availability", ("tel1",))),
        (("topology", "none"), ("answer", "second", "global_availability", ("tel1",))),
        (("global_availability", "none"), ("answer", "first", "global_availability", ("cnc1",))),
    ],
)
def test_none_as_last_method_fails_the_pool(methods, expected):
    builder = base().pool("first", ["cnc1"], methods=methods).pool("second", ["tel1"])
    snap = snapshot(builder.wideip(WIP, ["first", "second"]))
    assert summary(snap, run(snap, ELSEWHERE)) == expected


def test_none_as_only_method_of_the_only_pool_gives_nodata():
    snap = snapshot(one_pool("cnc1", methods=("none",)))
    assert summary(snap, run(snap)) == ("nodata", "", "", ())


# -- record types --------------------------------------------------------------------------


def test_aaaa_on_a_wide_ip_with_only_a_pools_is_nodata():
    snap = snapshot(one_pool("cnc1", "tel1"))
    d = run(snap, rtype=AAAA, explain=True)
    assert summary(snap, d) == ("nodata", "", "", ())
    assert d.trace == (Step("pool", WIP, "-", "unsuccessful", "no pool of this record type"),)


@pytest.mark.parametrize(("rtype", "expected"), [(A, ("v4", ("cnc1",))), (AAAA, ("v6", ("cnc6",)))])
def test_pools_are_chosen_by_record_type(rtype, expected):
    builder = base().pool("v6", ["cnc6"], rtype=AAAA).pool("v4", ["cnc1"]).wideip(WIP, ["v6", "v4"])
    snap = snapshot(builder)
    assert summary(snap, run(snap, rtype=rtype))[1::2] == expected


# -- persistence ---------------------------------------------------------------------------


def sticky_pool(*members: str, ttl: int = 60, **pool: object) -> ConfigBuilder:
    pool.setdefault("methods", ("round_robin",))
    return (
        base()
        .pool("web", members, **pool)
        .wideip(WIP, ["web"], persistence=Persistence(ttl=ttl, cidr_v4=24, cidr_v6=48))
    )


def test_persistence_keeps_the_member_for_ttl():
    snap = snapshot(sticky_pool("cnc1", "tel1", "cnc2"))
    cursors, table = Cursors(), PersistenceTable()
    queries = [
        ("198.51.100.1", 0, "round_robin", "cnc1"),
        ("198.51.100.77", 1, "persistence", "cnc1"),  # same /24
        ("203.0.113.9", 2, "round_robin", "tel1"),  # another /24
        ("198.51.100.1", 59, "persistence", "cnc1"),
        ("203.0.113.200", 61, "persistence", "tel1"),
        ("198.51.100.1", 60, "round_robin", "cnc2"),  # expired: decided afresh
        ("198.51.100.200", 119, "persistence", "cnc2"),
        ("198.51.100.200", 120, "round_robin", "cnc1"),
    ]
    got = [
        summary(snap, run(snap, ldns, now=NOW + dt, cursors=cursors, persistence=table))[2:]
        for ldns, dt, _, _ in queries
    ]
    assert got == [(method, (member,)) for _, _, method, member in queries]


NEIGHBOUR = "198.51.100.77"  # TEL_NET's /24: it shares TEL_NET's persistence record


@pytest.mark.parametrize(
    ("methods", "paths", "probe"),
    [
        (DEFAULT_CHAIN, {}, True),  # never measured: probe it though the record answers
        (DEFAULT_CHAIN, {1: path(30_000)}, False),  # a fresh path: re-probed when due
        (DEFAULT_CHAIN, {1: path(30_000, age=2401)}, True),  # only stale paths
        (DEFAULT_CHAIN, {1: path(30_000, age=2399)}, False),  # asked 1 s after NOW
        (("topology", "hops"), {}, True),  # a dynamic method further on
        (("topology", "global_availability"), {}, False),  # nothing would read a path
    ],
)
def test_a_persistence_hit_still_asks_for_a_probe_of_an_unmeasured_ldns(methods, paths, probe):
    # The record was made by TEL_NET; NEIGHBOUR in the same /24 gets its
    # answer, and is offered for probing unless a path of it is fresh.
    builder = base().pool("web", ["cnc1", "tel1"], methods=methods)
    builder.wideip(WIP, ["web"], persistence=Persistence(ttl=60, cidr_v4=24, cidr_v6=48))
    snap = snapshot(builder, paths={NEIGHBOUR: paths})
    cursors, table = Cursors(), PersistenceTable()
    first = run(snap, TEL_NET, cursors=cursors, persistence=table)
    assert summary(snap, first)[2:] == ("topology", ("tel1",))
    for explain in (False, True):
        hit = run(snap, NEIGHBOUR, now=NOW + 1, cursors=cursors, persistence=table, explain=explain)
        assert summary(snap, hit)[2:] == ("persistence", ("tel1",))
        assert hit.probe is probe


def test_persistence_of_several_members_and_ipv6():
    snap = snapshot(sticky_pool("cnc1", "tel1", "cnc2", max_answers=2))
    cursors, table = Cursors(), PersistenceTable()
    first = run(snap, "2001:db8:1:2::1", cursors=cursors, persistence=table)
    second = run(snap, "2001:db8:1:ffff::1", cursors=cursors, persistence=table, explain=True)
    assert summary(snap, first)[2:] == ("round_robin", ("cnc1", "tel1"))
    assert summary(snap, second)[2:] == ("persistence", ("cnc1", "tel1"))
    assert second.trace == (Step("persistence", WIP, "persistence", "pick", "", ("cnc1", "tel1")),)


@pytest.mark.parametrize(
    "health",
    [
        Health((False, True, True, True, True), (True, True)),  # cnc1's monitor
        Health((True,) * 5, (False, True)),  # CNC's link
        Health((True,) * 5, (True, True), frozenset({"cnc1"})),  # disabled by hand
    ],
)
def test_persistence_is_dropped_when_the_member_goes_down(health):
    snap = snapshot(sticky_pool("cnc1", "tel1", "tel2"))
    cursors, table = Cursors(), PersistenceTable()
    ask = lambda s, dt: summary(s, run(s, now=NOW + dt, cursors=cursors, persistence=table))[2:]  # noqa: E731
    assert ask(snap, 0) == ("round_robin", ("cnc1",))
    # cursor 1 over the members still up (tel1, tel2) starts at tel2
    assert ask(snap.with_health(health), 1) == ("round_robin", ("tel2",))
    # the new record holds when cnc1 comes back
    assert ask(snap, 2) == ("persistence", ("tel2",))


def test_persistence_table_is_bounded_and_evicts_the_oldest():
    snap = snapshot(sticky_pool("cnc1", "tel1", "cnc2"))
    cursors, table = Cursors(), PersistenceTable(max_entries=2)
    nets = {"a": "198.51.100.1", "b": "203.0.113.1", "c": "192.0.2.53"}
    order = ["a", "b", "c", "a", "c", "b"]
    got = [summary(snap, run(snap, nets[n], cursors=cursors, persistence=table))[2] for n in order]
    assert got == [
        "round_robin",
        "round_robin",
        "round_robin",
        "round_robin",
        "persistence",
        "round_robin",
    ]
    assert len(table) == 2


def test_no_persistence_without_the_wide_ip_setting():
    snap = snapshot(one_pool("cnc1", "tel1", methods=("round_robin",)))
    cursors, table = Cursors(), PersistenceTable()
    got = [summary(snap, run(snap, cursors=cursors, persistence=table))[2:] for _ in range(2)]
    assert got == [("round_robin", ("cnc1",)), ("round_robin", ("tel1",))]
    assert len(table) == 0


def test_fallback_answers_are_not_persisted():
    builder = sticky_pool("cnc1", methods=("fallback_ip",), fallback_ip=ip_address(FALLBACK))
    snap = snapshot(builder)
    table = PersistenceTable()
    assert run(snap, persistence=table).method == "fallback_ip"
    assert len(table) == 0
