"""The compiled plan (gslb/decide/plan.py) decides exactly as the general path.

`decide(explain=False)` runs a wide IP's plan when it has one (memoised in
`gslb.decide.memo.SnapshotMemo`); `decide(explain=True)` always runs each method's `select()`.
On seeded random configurations, health states, topology tables and
proximity views, and on hand-written cases, both must give the same Decision
but for the trace. A failure names its seed: `make_case(seed)` rebuilds the
configuration, and the assertion message describes it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from ipaddress import ip_address
from random import Random
from typing import NamedTuple

import pytest

from gslb.algorithms import DYNAMIC, REGISTRY
from gslb.decide.memo import SnapshotMemo
from gslb.decide.persistence import PersistenceTable
from gslb.decide.pipeline import Cursors, Decision, decide
from gslb.decide.plan import PlanPerChoice
from gslb.health import Health
from gslb.model import AAAA, A, Config, Persistence, ProbeSettings, key_of
from gslb.proximity import FrozenView, Path, ProximityView
from gslb.snapshot import Snapshot
from tests.unit.factories import NOW, ConfigBuilder, FakeProximity

WIP = "www.gslb.example."
SEEDS = range(500)
NOW_S = int(NOW)  # FrozenView keeps whole seconds

# Methods with a hot-path form (rankers) or a verdict fixed per snapshot.
RANKERS = ("rtt", "hops", "completion_rate", "topology")
ROTATING = ("round_robin", "ratio", "random")  # rankers too, moving cursors or drawing
CONSTANT = ("global_availability", "return_to_dns", "drop_packet", "fallback_ip", "none")
TERMINAL = frozenset({"return_to_dns", "drop_packet", "fallback_ip"})
PLANNABLE = frozenset(RANKERS + ROTATING + CONSTANT)
# Methods that send a wide IP to the general path.
GENERAL_ONLY = ("qos", "static_persist")
# Drawn for pool chains: the common methods more often.
CHAIN_METHODS = (
    *("rtt", "topology", "global_availability") * 3,
    *("hops", "completion_rate") * 2,
    *CONSTANT[1:],
)

LDNS_V4 = ("198.51.100.7", "198.51.100.9", "198.51.100.200", "203.0.113.9", "10.1.2.3")
LDNS_V6 = ("2001:db8::53", "2001:db8:1:2::7", "2001:db8:1:ffff::1", "2001:db9::1")
PREFIXES = (
    "198.51.100.0/24",
    "198.51.100.0/25",
    "198.51.100.128/25",
    "198.51.100.7/32",
    "203.0.113.0/24",
    "10.0.0.0/8",
    "2001:db8::/32",
    "2001:db8:1::/48",
    "2001:db8:1:2::/64",
)
FALLBACK = {A: "203.0.113.250", AAAA: "2001:db8:ffff::250"}


# -- random cases ----------------------------------------------------------------------------


class Case(NamedTuple):
    snap: Snapshot
    queries: tuple[tuple[str, int], ...]  # (LDNS, record type)
    now: float
    real_view: bool  # FrozenView (else FakeProximity)
    spec: str  # what was drawn, for failure messages


def _virtual_servers(rng: Random, b: ConfigBuilder, dcs: list[str]) -> dict[int, list[str]]:
    # Virtual servers, several per data center at times (candidates share a DC).
    family: dict[int, list[str]] = {A: [], AAAA: []}
    n = 0
    for d, dc in enumerate(dcs):
        for rtype, counts in ((A, (0, 1, 1, 2, 3)), (AAAA, (0, 1, 1, 2))):
            for _ in range(rng.choice(counts)):
                n += 1
                name = f"{'v4' if rtype == A else 'v6'}-{dc}-{n}"
                address = f"192.0.2.{n}" if rtype == A else f"2001:db8:ffff::{n:x}"
                b.vs(name, address, dc, ratio=rng.randint(1, 3), enabled=rng.random() > 0.05)
                family[rtype].append(name)
        if d == 0:  # at least one of each family
            for rtype in (A, AAAA):
                if not family[rtype]:
                    n += 1
                    v4 = rtype == A
                    name = f"{'v4' if v4 else 'v6'}-{dc}-{n}"
                    b.vs(name, f"192.0.2.{n}" if v4 else f"2001:db8:ffff::{n:x}", dc)
                    family[rtype].append(name)
    return family


def _pool(rng: Random, b: ConfigBuilder, name: str, family: dict[int, list[str]]) -> str:
    rtype = A if rng.random() < 0.65 else AAAA
    vs = family[rtype]
    members = rng.sample(vs, rng.randint(1, min(len(vs), 4)))  # any configured order
    methods: list[str] = []
    for _ in range(rng.randint(1, 4)):
        m = rng.choice(CHAIN_METHODS)
        if m not in methods:
            methods.append(m)
    if rng.random() < 0.25:
        extra = rng.choice(ROTATING + GENERAL_ONLY)
        if extra not in methods:
            methods.insert(rng.randrange(len(methods) + 1), extra)
    fields: dict[str, object] = {
        "methods": tuple(methods),
        "max_answers": rng.randint(1, 3),
        "fail_closed": rng.random() < 0.25,
        "rtype": rtype,
        "ttl": rng.choice((30, 60)),
        "available_when_unknown": rng.random() < 0.3,
    }
    if "fallback_ip" in methods or rng.random() < 0.2:
        fields["fallback_ip"] = ip_address(FALLBACK[rtype])
    if "qos" in methods and rng.random() < 0.5:
        fields["qos"] = (("topology", 10.0), ("hops", 5.0))
    b.pool(name, [(m, rng.randint(1, 3), rng.random() > 0.05) for m in members], **fields)
    return name


def _pools(rng: Random, b: ConfigBuilder, family: dict[int, list[str]]) -> list[str]:
    # Pools: the wide IP's, and at times a separate last-resort pool.
    n_pools = rng.randint(1, 3)
    separate_last = rng.random() < 0.15
    pools: list[str] = []
    for p in range(n_pools + separate_last):
        pools.append(_pool(rng, b, f"p{p}", family))
    wide_pools = pools[:n_pools]
    last: str | None = None
    if separate_last:
        last = pools[-1]
    elif rng.random() < 0.15:
        last = rng.choice(wide_pools)
    pool_method = rng.choice(("global_availability",) * 3 + ("topology", *ROTATING))
    b.wideip(WIP, wide_pools, last_resort_pool=last, pool_method=pool_method)
    return pools


def _topology(
    rng: Random, b: ConfigBuilder, dcs: list[str], pools: list[str], servers: list[str]
) -> None:
    # Topology: dc, pool, vs and region records, subnets, regions, `any`, negations.
    ldns_regions: list[str] = []
    server_regions: list[str] = []
    if rng.random() < 0.3:
        b.region("near", subnets=tuple(rng.sample(PREFIXES, rng.randint(1, 2))))
        b.region("wider", subnets=(rng.choice(PREFIXES),), regions=("near",))
        ldns_regions += ["near", "wider"]
    if rng.random() < 0.3:
        b.region(
            "edge",
            datacenters=tuple(rng.sample(dcs, 1)),
            pools=tuple(rng.sample(pools, 1)),
            virtual_servers=tuple(rng.sample(servers, 1)),
        )
        server_regions.append("edge")
    records: list[str] = []
    for _ in range(rng.choice((0, 1, 2, 3, 4, 6))):
        kind = rng.choice(("dc", "dc", "pool", "vs") + (("region",) if server_regions else ()))
        server = rng.choice(
            {"dc": dcs, "pool": pools, "vs": servers, "region": server_regions}[kind]
        )
        r = rng.random()
        if r < 0.1:
            ldns = "any"
        elif r < 0.25 and ldns_regions:
            ldns = f"region:{rng.choice(ldns_regions)}"
        else:
            ldns = rng.choice(PREFIXES)
        if ldns != "any" and rng.random() < 0.15:
            ldns = f"!{ldns}"
        records.append(f"{kind}:{server},{ldns},{rng.choice((1, 10, 50, 100, 100, 200))}")
    b.topology(*records)


def _health(rng: Random, config: Config, dcs: list[str], servers: list[str]) -> Health:
    # Health: random members down, at times all of them, a data-center link,
    # a member disabled by hand, members not checked yet.
    n_vs = len(config.virtual_servers)
    r = rng.random()
    if r < 0.4:
        member_up = [True] * n_vs
    elif r < 0.85:
        member_up = [rng.random() > 0.35 for _ in range(n_vs)]
    else:
        member_up = [False] * n_vs
    unknown = (
        frozenset(i for i in range(n_vs) if not member_up[i] and rng.random() < 0.3)
        if rng.random() < 0.3
        else frozenset()
    )
    health = Health(
        tuple(member_up),
        tuple(rng.random() > 0.1 for _ in dcs),
        frozenset(rng.sample(servers, 1)) if rng.random() < 0.1 else frozenset(),
        unknown,
    )
    return health


def _paths(rng: Random, n_dcs: int, ttl: int) -> tuple[list[str], dict[str, dict[int, Path]]]:
    # Proximity: fresh, stale and boundary paths, data centers missing or
    # unknown to the config, many equal values; some LDNS not in the table.
    ldns_all = rng.sample(LDNS_V4, 3) + rng.sample(LDNS_V6, 2)
    equal = rng.random() < 0.2  # every path alike: ties everywhere
    table: dict[str, dict[int, Path]] = {}
    for ldns in ldns_all:
        if rng.random() < 0.2:
            continue
        paths: dict[int, Path] = {}
        for dc in range(n_dcs + 1):  # the last one is not configured
            if rng.random() < 0.35:
                continue
            age = rng.choice((0, 0, 0, 30, ttl - 1, ttl, ttl + 1, 86_400))
            if equal:
                paths[dc] = Path(10_000, 7, 10_000, NOW_S - age)
                continue
            rtt = rng.choice((5_000, 10_000, 10_000, 20_000)) if rng.random() < 0.8 else None
            paths[dc] = Path(
                rtt if rtt is not None else rng.randint(1_000, 90_000),
                rng.choice((3, 7, 7, 12)) if rng.random() < 0.7 else rng.randint(1, 40),
                rng.choice((10_000, 10_000, 9_000, 9_000, 5_000, 0)),
                NOW_S - age,
            )
        table[ldns] = paths
    return ldns_all, table


def make_case(seed: int) -> Case:
    rng = Random(seed)
    b = ConfigBuilder()
    dcs = [f"dc{i}" for i in range(rng.randint(2, 4))]
    for name in dcs:
        b.dc(name, enabled=rng.random() > 0.05)

    family = _virtual_servers(rng, b, dcs)
    servers = family[A] + family[AAAA]
    pools = _pools(rng, b, family)
    _topology(rng, b, dcs, pools, servers)
    config = b.build()
    path_ttl = rng.choice((2400.0, 2400.0, 600.0))
    if path_ttl != 2400.0:
        config = dataclasses.replace(config, probes=ProbeSettings(path_ttl=path_ttl))

    health = _health(rng, config, dcs, servers)

    ldns_all, table = _paths(rng, len(dcs), int(path_ttl))
    real_view = rng.random() < 0.75
    view: ProximityView
    if real_view:
        view = FrozenView.of({ip_address(k): v for k, v in table.items()})
    else:
        view = FakeProximity({ip_address(k): dict(v) for k, v in table.items()})
    snap = Snapshot.build(config, health=health, proximity=view)

    now = NOW + rng.choice((0.0, 0.0, 0.5))
    queries = tuple((ldns, rtype) for ldns in ldns_all for rtype in (A, AAAA))
    spec = "\n".join(
        [
            describe(snap),
            f"path_ttl={path_ttl} now={now} view={'FrozenView' if real_view else 'Fake'}",
            *(f"paths {k}: {v}" for k, v in table.items()),
        ]
    )
    return Case(snap, queries, now, real_view, spec)


def describe(snap: Snapshot) -> str:
    cfg = snap.config
    lines = [f"datacenters {[d.name for d in cfg.datacenters]}"]
    lines += [
        f"vs {v.name} {v.address} {cfg.datacenters[v.datacenter].name} up={snap.available[i]}"
        for i, v in enumerate(cfg.virtual_servers)
    ]
    for pi, p in enumerate(cfg.pools):
        members = [(cfg.virtual_servers[c.index].name, c.datacenter) for c in snap.members[pi]]
        up = [c.name for c in snap.members_up[pi]]
        lines.append(
            f"pool {p.name} rtype={p.rtype} methods={p.methods} members={members} up={up} "
            f"max_answers={p.max_answers} fail_closed={p.fail_closed} fallback={p.fallback_ip}"
        )
    w = cfg.wideips[0]
    last = None if w.last_resort_pool is None else cfg.pools[w.last_resort_pool].name
    lines.append(
        f"wideip pools={[cfg.pools[p].name for p in w.pools]} "
        f"pool_method={w.pool_method} last_resort={last}"
    )
    lines += [
        f"topology {r.server_kind}:{r.server},{'!' if r.negate else ''}"
        f"{r.ldns_kind + ':' + r.ldns if r.ldns_kind == 'region' else r.ldns or 'any'},{r.score}"
        for r in cfg.topology
    ]
    return "\n".join(lines)


def expect_plan(snap: Snapshot, rtype: int) -> bool:
    """Whether the wide IP must be decided by a plan: its pool order is fixed
    (global_availability, or at most one pool up) and every method it can
    reach, in that order, has a hot-path form or a fixed verdict; or its pool
    method chooses the order per query (topology: a plan per topology node; a
    rotation: a plan per order drawn) and every method of every pool it may
    try has one."""
    cfg = snap.config
    wip = cfg.wideips[0]
    up = [c.index for c in snap.pools_up[0][rtype]]
    if len(up) > 1 and wip.pool_method in ("topology", *ROTATING):
        last = wip.last_resort_pool
        pools = [c.index for c in snap.pools[0][rtype]]
        if last is not None and cfg.pools[last].rtype == rtype:
            pools.append(last)
        return all(m in PLANNABLE for pi in pools for m in cfg.pools[pi].methods)
    last = wip.last_resort_pool
    if last is not None and cfg.pools[last].rtype != rtype:
        last = None
    order = up + ([last] if last is not None and last not in up else [])
    if not order:
        order = [c.index for c in snap.pools[0][rtype]]  # fail open
    for pi in order:
        pool = cfg.pools[pi]
        for i, method in enumerate(pool.methods):
            if method not in PLANNABLE:
                return False
            candidates = snap.members_up[pi]
            if not (candidates or i < len(pool.methods) - 1 or pool.fail_closed):
                candidates = snap.members[pi]
            if method in TERMINAL or (method == "global_availability" and candidates):
                return True  # decides: nothing after it is reached
    return True


def cursors_for(rng: Random, snap: Snapshot) -> Cursors:
    """Cursors moved on by a few steps, so rotating methods start anywhere."""
    cursors = Cursors()
    keys = [("pool", 0)] + [("member", pi) for pi in range(len(snap.config.pools))]
    for method in ("round_robin", "ratio"):
        for tier, scope in keys:
            for _ in range(rng.randrange(4)):
                cursors.advance((method, tier, scope))
    return cursors


class Outcome(NamedTuple):
    planned: bool  # a plan decided the query
    kind: tuple[str, str]  # (action, deciding method)
    answers: int
    probe: bool
    fallthroughs: int
    real_view: bool
    per_choice: bool  # a plan per pool order (a topology or rotating pool method)


def run(
    snap: Snapshot,
    rtype: int,
    key: int,
    now: float,
    cursors: Cursors,
    memo: SnapshotMemo,
    chance: int,
    explain: bool,
) -> Decision:
    """Decide with its own copy of the cursors and a generator seeded alike."""
    return decide(
        snap,
        0,
        rtype,
        key,
        now=now,
        rng=Random(chance),
        cursors=cursors.copy(),
        memo=memo,
        explain=explain,
    )


@functools.cache
def outcomes(seed: int) -> tuple[Outcome, ...]:
    """Decide every query of the case both ways and check they agree."""
    case = make_case(seed)
    snap = case.snap
    rng = Random(seed)
    memo = SnapshotMemo()
    out = []
    for ldns, rtype in case.queries:
        query = (snap, rtype, key_of(ip_address(ldns)), case.now, cursors_for(rng, snap), memo)
        chance = rng.randrange(1 << 30)
        fast = run(*query, chance, explain=False)
        plan = memo.plans.get((0, rtype))  # absent: no pool of this type, nothing to plan
        where = f"seed={seed} ldns={ldns} rtype={rtype}\n{case.spec}"
        if snap.pools[0][rtype] and expect_plan(snap, rtype):
            assert plan is not None, f"no plan where one was due\n{where}"
        slow = run(*query, chance, explain=True)
        assert slow.trace, where
        assert fast == slow._replace(trace=()), f"plan != general path\n{where}\n{slow.trace}"
        assert run(*query, chance, explain=False) == fast, where  # through the memoised plan
        assert memo.plans.get((0, rtype)) is plan, where
        out.append(
            Outcome(
                plan is not None,
                (fast.action, fast.method),
                len(fast.members),
                fast.probe,
                len(fast.fallthroughs),
                case.real_view,
                isinstance(plan, PlanPerChoice),
            )
        )
    return tuple(out)


@pytest.mark.parametrize("seed", SEEDS)
def test_plan_decides_as_the_general_path(seed: int) -> None:
    assert outcomes(seed)


def test_plans_decide_most_queries_and_every_kind_of_outcome() -> None:
    every = [o for seed in SEEDS for o in outcomes(seed)]
    planned = [o for o in every if o.planned]
    general = [o for o in every if not o.planned and o.kind != ("nodata", "")]
    assert len(planned) > 0.4 * len(every), (len(planned), len(every))
    assert len(general) > 0.05 * len(every), (len(general), len(every))
    kinds = {o.kind for o in planned}
    assert kinds >= {
        ("answer", "rtt"),
        ("answer", "hops"),
        ("answer", "completion_rate"),
        ("answer", "topology"),
        ("answer", "global_availability"),
        ("answer", "fallback_ip"),
        ("drop", "drop_packet"),
        ("return_to_dns", "return_to_dns"),
        ("nodata", ""),
        *(("answer", method) for method in ROTATING),
    }, kinds
    for method in RANKERS:  # rankers giving one answer and several
        answers = {o.answers for o in planned if o.kind == ("answer", method)}
        assert {1, 2} <= answers, (method, answers)
    assert any(o.probe and o.fallthroughs for o in planned)
    assert any(o.fallthroughs and not o.probe for o in planned)  # only topology fell through
    assert {o.real_view for o in planned} == {True, False}
    per_choice = [o for o in planned if o.per_choice]
    assert len(per_choice) >= 300, (len(per_choice), len(planned))
    assert len({o.kind for o in per_choice}) >= 6, {o.kind for o in per_choice}
    # The general path's own methods were reached too.
    assert {o.kind[1] for o in general} >= set(GENERAL_ONLY)


# -- hand-written cases ----------------------------------------------------------------------

LDNS = "198.51.100.7"


def exact(
    builder: ConfigBuilder,
    paths: Mapping[int, Path],
    *,
    ldns: str = LDNS,
    rtype: int = A,
    now: float = NOW,
) -> Decision:
    """The decision by the plan, checked against the general path's."""
    config: Config = builder.build()
    view = FrozenView.of({ip_address(ldns): dict(paths)})
    snap = Snapshot.build(config, proximity=view)
    key = key_of(ip_address(ldns))
    memo = SnapshotMemo()
    fast = decide(snap, 0, rtype, key, now=now, rng=Random(1), cursors=Cursors(), memo=memo)
    assert memo.plans[0, rtype] is not None
    slow = decide(snap, 0, rtype, key, now=now, rng=Random(1), cursors=Cursors(), explain=True)
    assert fast == slow._replace(trace=())
    return fast


def three_dcs() -> ConfigBuilder:
    return (
        ConfigBuilder()
        .dc("D0", "D1", "D2")
        .vs("a", "192.0.2.1", "D0")
        .vs("b", "192.0.2.2", "D1")
        .vs("c", "192.0.2.3", "D2")
        .vs("a2", "192.0.2.4", "D0")
    )


def web(
    members: Sequence[str], methods: tuple[str, ...] = ("rtt",), max_answers: int = 1
) -> ConfigBuilder:
    return (
        three_dcs()
        .pool("web", list(members), methods=methods, max_answers=max_answers)
        .wideip(WIP, ["web"])
    )


def at(rtt: int = 10_000, hops: int = 7, rate: int = 10_000, age: int = 0) -> Path:
    return Path(rtt, hops, rate, NOW_S - age)


VS = {"a": 0, "b": 1, "c": 2, "a2": 3}


def members(*names: str) -> tuple[int, ...]:
    return tuple(VS[n] for n in names)


@pytest.mark.parametrize(
    ("method", "paths", "expected"),
    [
        # b is configured first but stands in the later data center
        ("rtt", {0: at(10_000), 1: at(10_000), 2: at(20_000)}, ("b", "a", "c")),
        ("rtt", {0: at(10_000), 1: at(10_000), 2: at(10_000)}, ("b", "a", "c")),
        ("hops", {0: at(hops=5), 1: at(hops=5), 2: at(hops=2)}, ("c", "b", "a")),
        ("completion_rate", {0: at(rate=9_000), 1: at(rate=9_000)}, ("b", "a", "c")),
        ("completion_rate", {0: at(rate=9_000), 1: at(rate=9_000), 2: at(rate=5)}, ("b", "a", "c")),
        ("completion_rate", {0: at(rate=10_000), 2: at(rate=10_000)}, ("a", "c", "b")),
    ],
)
@pytest.mark.parametrize("max_answers", [1, 2, 3])
def test_ties_go_to_the_earlier_configured_member(method, paths, expected, max_answers):
    d = exact(web(["b", "a", "c"], (method,), max_answers), paths)
    assert (d.action, d.method, d.members) == ("answer", method, members(*expected)[:max_answers])


@pytest.mark.parametrize(
    ("paths", "max_answers", "expected"),
    [
        ({0: at(5_000), 1: at(10_000)}, 1, ("a",)),
        ({0: at(5_000), 1: at(10_000)}, 2, ("a", "a2")),
        ({0: at(5_000), 1: at(10_000)}, 3, ("a", "a2", "b")),
        ({0: at(10_000), 1: at(5_000)}, 1, ("b",)),
        ({0: at(10_000), 1: at(5_000)}, 2, ("b", "a")),
        ({0: at(10_000), 1: at(5_000)}, 3, ("b", "a", "a2")),
        ({1: at(5_000)}, 2, ("b", "a")),  # unmeasured D0: configured order after
        ({0: at(5_000)}, 3, ("a", "a2", "b")),
    ],
)
def test_two_members_in_one_data_center(paths, max_answers, expected):
    d = exact(web(["a", "b", "a2"], max_answers=max_answers), paths)
    assert (d.action, d.method, d.members) == ("answer", "rtt", members(*expected))


@pytest.mark.parametrize("max_answers", [1, 3])
def test_completion_rate_highest_first(max_answers):
    paths = {0: at(rate=9_000), 1: at(rate=10_000), 2: at(rate=5_000)}
    d = exact(web(["a", "b", "c"], ("completion_rate",), max_answers), paths)
    assert d.members == members("b", "a", "c")[:max_answers]


@pytest.mark.parametrize("max_answers", [1, 2])
def test_a_stale_path_makes_rtt_fall_through(max_answers):
    builder = web(["a", "b"], ("rtt", "global_availability"), max_answers)
    d = exact(builder, {1: at(1_000, age=2401), 0: at(50_000, age=86_400)})
    assert d == Decision(
        "answer",
        0,
        members("a", "b")[:max_answers],
        None,
        30,
        "global_availability",
        probe=True,
        fallthroughs=(("web", "rtt"),),
    )
    # exactly path_ttl old is still fresh
    d = exact(builder, {1: at(1_000, age=2400), 0: at(50_000, age=86_400)})
    assert (d.method, d.members, d.probe, d.fallthroughs) == (
        "rtt",
        members("b", "a")[:max_answers],
        False,
        (),
    )


def test_fall_throughs_across_pools_and_nodata():
    builder = (
        three_dcs()
        .pool("first", ["a", "b"], methods=("rtt", "topology", "none"))
        .pool("second", ["c"], methods=("hops",), fail_closed=True)
        .topology("dc:D1,!198.51.100.0/24,100")
        .wideip(WIP, ["first", "second"])
    )
    d = exact(builder, {0: at(age=5_000)})
    assert d == Decision(
        "nodata",
        probe=True,
        fallthroughs=(("first", "rtt"), ("first", "topology"), ("second", "hops")),
    )
    # the negated record matches another LDNS: topology decides, after rtt
    d = exact(builder, {}, ldns="203.0.113.9")
    assert d == Decision(
        "answer", 0, members("b"), None, 30, "topology", True, (), (("first", "rtt"),)
    )


def test_every_registered_method_is_drawn():
    """A new method must be classified above, so the random configurations
    hold its plan to its general path too."""
    assert sorted(RANKERS + ROTATING + CONSTANT + GENERAL_ONLY) == sorted(REGISTRY)
    assert {m for m in REGISTRY if REGISTRY[m].rotating} == set(ROTATING)


# -- persistence hits ------------------------------------------------------------------------


@functools.cache
def persistence_hits(seed: int) -> tuple[bool, ...]:
    """The probe flag of each persistence hit of the case, checked as below."""
    # A record made by the query, then the same LDNS again: the hit is the
    # same with and without explain, and wants a probe exactly when a method
    # the wide IP can reach reads paths and the LDNS has none fresh.
    case = make_case(seed)
    cfg = case.snap.config
    wip = dataclasses.replace(cfg.wideips[0], persistence=Persistence(ttl=60))
    config = dataclasses.replace(cfg, wideips=(wip, *cfg.wideips[1:]))
    snap = Snapshot.build(config, health=case.snap.health, proximity=case.snap.proximity)
    hits: list[bool] = []
    for ldns, rtype in case.queries:
        key = key_of(ip_address(ldns))
        table = PersistenceTable()
        decide(
            snap, 0, rtype, key, now=case.now, rng=Random(1), cursors=Cursors(), persistence=table
        )
        fast, slow = (
            decide(
                snap,
                0,
                rtype,
                key,
                now=case.now,
                rng=Random(2),
                cursors=Cursors(),
                persistence=table.copy(),
                explain=explain,
            )
            for explain in (False, True)
        )
        assert fast == slow._replace(trace=()), f"seed={seed} ldns={ldns}\n{case.spec}"
        if fast.method != "persistence":
            continue
        pools = [p for p in (*wip.pools, wip.last_resort_pool) if p is not None]
        dynamic = any(
            m in DYNAMIC
            for p in pools
            if config.pools[p].rtype == rtype
            for m in config.pools[p].methods
        )
        fresh = snap.proximity.fresh(key, case.now - snap.path_ttl, "rtt_us")
        assert snap.proximity.measured(key, case.now - snap.path_ttl) is bool(fresh)
        assert fast.probe is (dynamic and not fresh), f"seed={seed} ldns={ldns}\n{case.spec}"
        hits.append(fast.probe)
    return tuple(hits)


@pytest.mark.parametrize("seed", range(0, 500, 5))
def test_a_persistence_hit_is_the_same_on_both_paths_and_asks_for_a_probe_exactly(seed):
    persistence_hits(seed)


def test_persistence_hits_are_checked_with_and_without_a_probe() -> None:
    every = [probe for seed in range(0, 500, 5) for probe in persistence_hits(seed)]
    assert every.count(True) > 20 and every.count(False) > 20, every
