"""How a query for a wide IP is decided: pool choice, then the member chain.

Tier 1: the wide IP's `pool_method` orders the pools (of the query's record
type) that have at least one available member; if none has, the
`last_resort_pool`; if there is none, every pool in configured order (fail
open). Tier 2: each pool tries its `methods` in order; the first successful
method decides and the answer holds its first `max_answers` members. Methods
see only available members, except the last one, which sees all members when
none is available unless the pool is `fail_closed`. A pool that fails hands
over to the next pool.

`decide()` is pure apart from the cursors, persistence table and memos
(gslb/decide/memo.py) it is given. Queries take the wide IP's compiled plan
(gslb/decide/plan.py) when it has one;
`gslbctl explain` takes the general path here, method by method with a
trace, and checks that the plan agrees.
"""

from __future__ import annotations

from random import Random
from typing import Any, Literal

from gslb.algorithms import DYNAMIC, REGISTRY
from gslb.algorithms.base import Context, PlanContext, Verdict
from gslb.decide.decision import Action, Decision, Step, decision_of, wants_probe
from gslb.decide.memo import SnapshotMemo
from gslb.decide.persistence import PersistenceTable, Sticky
from gslb.decide.plan import Plan, PlanPerChoice, compile_plan, constant_context
from gslb.decide.topology import Scores, score
from gslb.model import Candidate, address_of
from gslb.snapshot import Snapshot

__all__ = ["Action", "Cursors", "Decision", "Step", "decide", "plan_for", "planned"]


class Cursors:
    """Round-robin and ratio positions, kept per (method, tier, scope)."""

    __slots__ = ("_positions",)

    def __init__(self) -> None:
        self._positions: dict[tuple[object, ...], int] = {}

    def advance(self, key: tuple[object, ...]) -> int:
        n = self._positions.get(key, 0)
        self._positions[key] = n + 1
        return n

    def copy(self) -> Cursors:
        """Independent positions to explain with, so explaining moves nothing."""
        other = Cursors()
        other._positions = dict(self._positions)
        return other


def decide(
    snap: Snapshot,
    wideip: int,
    rtype: int,
    ldns: int,
    *,
    now: float,
    rng: Random,
    cursors: Cursors,
    persistence: PersistenceTable | None = None,
    memo: SnapshotMemo | None = None,
    explain: bool = False,
) -> Decision:
    """Decide a query for this wide IP and record type from the LDNS (or ECS
    subnet) with this key (`gslb.model.key_of`). `memo` keeps the plans made
    on the way for the next query (without one they are made afresh)."""
    if memo is None:
        memo = SnapshotMemo()
    if memo.snapshot is not snap:
        memo.follow(snap)
    cfg = snap.config
    wip = cfg.wideips[wideip]
    trace: list[Step] | None = [] if explain else None
    pools = snap.pools[wideip].get(rtype, ())
    if not pools:
        _note(trace, "pool", wip.name, "-", "unsuccessful", "no pool of this record type")
        return Decision("nodata", trace=tuple(trace or ()))

    sticky_key = None
    if persistence is not None and wip.persistence is not None:
        sticky_key = persistence.key(wip.name, rtype, ldns, wip.persistence)
        sticky = persistence.get(sticky_key, now)
        forms = None if sticky is None else _persisted(snap, memo, wideip, rtype, sticky)
        if forms is not None and sticky is not None:
            # An LDNS with a fresh path wants no probe (the scheduler re-probes it when due).
            hit = forms[1] if snap.proximity.measured(ldns, now - snap.path_ttl) else forms[0]
            if trace is None:
                return hit
            _note(trace, "persistence", wip.name, "persistence", "pick", "", sticky.members)
            return hit._replace(trace=tuple(trace))

    plan = None
    if not explain:
        try:  # the memo read here, not in _plan: a call per query costs
            plan = memo.plans[wideip, rtype]
        except KeyError:
            plan = _plan(snap, memo, wideip, rtype)
    if plan is not None:
        decision = plan(ldns, now, snap.proximity, cursors, rng)
    else:
        decision = _general(snap, wideip, rtype, ldns, now, rng, cursors, trace)
    if sticky_key is not None and decision.members and persistence is not None:
        ttl = wip.persistence.ttl if wip.persistence is not None else 0
        members = _names(snap, decision.members)
        persistence.put(sticky_key, Sticky(cfg.pools[decision.pool].name, members, now + ttl))
    return decision


def planned(
    snap: Snapshot, memo: SnapshotMemo, wideip: int, rtype: int
) -> Plan | PlanPerChoice[Any] | None:
    """The plan `decide()` would run for this wide IP and record type with
    nothing around it (the memo follows `snap`, the wide IP has no
    persistence to read or write, the plan is made): the responder calls it
    directly, `plan(ldns, now, snap.proximity, cursors, rng)`. None: call
    `decide()`."""
    if memo.snapshot is not snap or snap.config.wideips[wideip].persistence is not None:
        return None
    return memo.plans.get((wideip, rtype))


def plan_for(
    snap: Snapshot, memo: SnapshotMemo, wideip: int, rtype: int
) -> Plan | PlanPerChoice[Any] | None:
    """The wide IP's compiled plan, made on its first query under this
    snapshot's configuration and health and kept in `memo`; None when it
    needs the general path."""
    memo.follow(snap)
    return _plan(snap, memo, wideip, rtype)


def _plan(
    snap: Snapshot, memo: SnapshotMemo, wideip: int, rtype: int
) -> Plan | PlanPerChoice[Any] | None:
    try:
        return memo.plans[wideip, rtype]
    except KeyError:
        pass
    plan: Plan | PlanPerChoice[Any] | None = None
    method = snap.config.wideips[wideip].pool_method
    if len(snap.pools_up[wideip][rtype]) <= 1 or REGISTRY[method].constant:
        plan = compile_plan(snap, _pool_order(snap, wideip, rtype, constant_context(), None))
    elif all(compile_plan(snap, [p]) for p in _reachable(snap, wideip, rtype)):
        plan = _per_choice(snap, wideip, rtype, method)
    memo.plans[wideip, rtype] = plan
    return plan


def _per_choice(snap: Snapshot, wideip: int, rtype: int, method: str) -> PlanPerChoice[Any] | None:
    """Plans per pool order, for a pool method whose order depends on the query
    (`topology`, a rotation): the order its ranker draws, from the same cursors
    and generator as the general path."""
    up = snap.pools_up[wideip][rtype]
    rank = REGISTRY[method].compile(
        up, PlanContext(snap.topology, snap.path_ttl, len(up), wideip, "pool")
    )
    if rank is None:
        return None

    def drawn(*query: Any) -> tuple[int, ...]:  # (key, now, proximity, cursors, rng)
        return tuple(rank(*query) or range(len(up)))

    def make_for_order(order: tuple[int, ...]) -> Plan:
        return _compiled(snap, _tried(snap, wideip, rtype, [up[i].index for i in order], None))

    return PlanPerChoice(drawn, make_for_order)


def _compiled(snap: Snapshot, pools: list[int]) -> Plan:
    plan = compile_plan(snap, pools)
    assert plan is not None  # plan_for checked that every pool compiles
    return plan


def _reachable(snap: Snapshot, wideip: int, rtype: int) -> list[int]:
    """Every pool a query for the wide IP and record type may try."""
    reachable = [p.index for p in snap.pools[wideip][rtype]]
    last = snap.config.wideips[wideip].last_resort_pool
    if last is not None and snap.config.pools[last].rtype == rtype:
        reachable.append(last)
    return reachable


def _general(
    snap: Snapshot,
    wideip: int,
    rtype: int,
    key: int,
    now: float,
    rng: Random,
    cursors: Cursors,
    trace: list[Step] | None,
) -> Decision:
    """Each method's select() in turn, recording a trace when asked."""
    ldns = address_of(key)
    scores: list[Scores] = []

    def topology(c: Candidate) -> int:
        if not scores:
            scores.append(snap.topology.match(key))
        return score(scores[0], c)

    ctx = Context(ldns, topology, snap.proximity, now, rng, cursors, snap.path_ttl)
    ctx.detail = trace is not None
    missed: list[tuple[str, str]] = []
    for pi in _pool_order(snap, wideip, rtype, ctx, trace):
        decision = _run_chain(snap, pi, ctx, trace, missed)
        if decision is not None:
            return decision if trace is None else decision._replace(trace=tuple(trace))
    return Decision(
        "nodata", probe=wants_probe(missed), trace=_t(trace), fallthroughs=tuple(missed)
    )


def _pool_order(
    snap: Snapshot,
    wideip: int,
    rtype: int,
    ctx: Context,
    trace: list[Step] | None,
) -> list[int]:
    wip = snap.config.wideips[wideip]
    up = snap.pools_up[wideip][rtype]
    chosen: tuple[Candidate, ...] = up
    if len(up) > 1 or (up and trace is not None):  # any method orders one pool alike
        ctx.tier, ctx.scope, ctx.pool = "pool", wideip, None
        verdict = REGISTRY[wip.pool_method].select(up, ctx)
        chosen = verdict.members if verdict.kind == "pick" else up
        _record(trace, "pool", wip.name, wip.pool_method, verdict)
    return _tried(snap, wideip, rtype, [c.index for c in chosen], trace)


def _tried(
    snap: Snapshot, wideip: int, rtype: int, chosen: list[int], trace: list[Step] | None
) -> list[int]:
    """The pools to try, given those the pool method ordered (`chosen`)."""
    wip = snap.config.wideips[wideip]
    up = snap.pools_up[wideip][rtype]
    # Pools the method left out (topology score 0) still follow, in
    # configured order: better their answer than none if the others fail.
    order = chosen + [c.index for c in up if c.index not in chosen]
    last = wip.last_resort_pool
    if last is not None and snap.config.pools[last].rtype != rtype:
        last = None  # an A pool must never answer an AAAA query, nor the reverse
    if last is not None and last not in order:
        order.append(last)
    if not up and last is None:
        _note(trace, "pool", wip.name, "fail_open", "pick", "no pool has an available member")
        order = [p.index for p in snap.pools[wideip][rtype]]
    return order


def _run_chain(
    snap: Snapshot,
    pi: int,
    ctx: Context,
    trace: list[Step] | None,
    missed: list[tuple[str, str]],
) -> Decision | None:
    """The pool's decision, or None when the pool fails (the wide IP goes on)."""
    pool = snap.config.pools[pi]
    up = snap.members_up[pi]
    ctx.tier, ctx.scope, ctx.pool = "member", pi, pool
    last = len(pool.methods) - 1
    for i, (algorithm, label) in enumerate(snap.chains[pi]):
        candidates = up if (up or i < last or pool.fail_closed) else snap.members[pi]
        verdict = algorithm.select(candidates, ctx)
        if trace is not None:
            _record(trace, "member", pool.name, label[1], verdict)
        if verdict.kind == "unsuccessful":
            missed.append(label)
        elif verdict.kind != "none":
            return decision_of(verdict.kind, verdict.members, pi, pool, label[1], missed)
    return None


def _persisted(
    snap: Snapshot, memo: SnapshotMemo, wideip: int, rtype: int, sticky: Sticky
) -> tuple[Decision, Decision] | None:
    """The decision of a persistence record, if the wide IP still uses its
    pool and its members are still in it and available (once per snapshot):
    as it is for an LDNS still to be measured, and for one measured already
    (no probe wanted)."""
    key = (wideip, rtype, sticky.pool, sticky.members)
    try:
        return memo.persisted[key]
    except KeyError:
        pass
    pool = next((p.index for p in snap.pools[wideip].get(rtype, ()) if p.name == sticky.pool), None)
    wip = snap.config.wideips[wideip]
    if pool is None and wip.last_resort_pool is not None:
        last = snap.config.pools[wip.last_resort_pool]
        if last.name == sticky.pool and last.rtype == rtype:
            pool = wip.last_resort_pool
    forms = None
    if pool is not None:
        up = {c.name: c.index for c in snap.members_up[pool]}
        if all(n in up for n in sticky.members):
            members = tuple(up[n] for n in sticky.members)
            ttl = snap.config.pools[pool].ttl
            # A dynamic method the record skips still wants the LDNS measured
            # (decide() clears it when the LDNS has a fresh path): persistence
            # keeps the answer, never the resolvers behind it from being probed.
            probe = any(
                method in DYNAMIC
                for pi in _reachable(snap, wideip, rtype)
                for method in snap.config.pools[pi].methods
            )
            hit = Decision("answer", pool, members, ttl=ttl, method="persistence", probe=probe)
            forms = (hit, hit._replace(probe=False))
    memo.persisted[key] = forms
    return forms


def _names(snap: Snapshot, members: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(snap.config.virtual_servers[i].name for i in members)


def _t(trace: list[Step] | None) -> tuple[Step, ...]:
    return tuple(trace) if trace is not None else ()


def _record(
    trace: list[Step] | None, tier: Literal["pool", "member"], scope: str, method: str, v: Verdict
) -> None:
    if trace is not None:
        chosen = tuple(c.name for c in v.members)
        trace.append(Step(tier, scope, method, v.kind, v.reason, chosen, dict(v.metrics)))


def _note(
    trace: list[Step] | None,
    tier: Literal["pool", "member", "persistence"],
    scope: str,
    method: str,
    outcome: str,
    reason: str,
    chosen: tuple[str, ...] = (),
) -> None:
    if trace is not None:
        trace.append(Step(tier, scope, method, outcome, reason, chosen))
