"""The hot path's form of a wide IP decision: a plan per (wide IP, record type).

`pipeline.decide()` can run a chain method by method: a Context, then each
method's `select()` and a Verdict, then a Decision, with a trace for
`gslbctl explain`. Most of that work does not depend on the query, only on
the snapshot: the order the pools are tried in (when the pool method does not
read the LDNS), the candidates each method sees (the available members, or
all of them for a last method failing open), the verdict of a method that
depends on the candidates alone (`global_availability` and the terminal
methods), and which methods were unsuccessful before any given one (a
Decision's fall-throughs). A plan works all that out once per snapshot and
keeps, per query, only the rankers of the methods that read the LDNS (`rtt`,
`hops`, `completion_rate`, `topology`), a cursor (`round_robin`, `ratio`) or
the random generator (`random`) (`Algorithm.compile`), each followed by the
Decisions it can end in, made in advance.

A wide IP gets a plan when every method it can reach has a hot-path form or
is constant. When its pool order depends on the query (several pools up and
a `topology`, `round_robin`, `ratio` or `random` pool method), it is fixed by
the order the pool method's ranker draws for the query (for `topology`, the
order of the LDNS's most specific prefix in the topology index): the wide IP
gets a plan per such order, made on first use (`PlanPerChoice`). Otherwise
(`static_persist`, `qos`) `decide()` takes the general path, which is always
the one `gslbctl explain` takes.
tests/unit/decide/test_plan.py holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from ipaddress import IPv4Address
from random import Random
from typing import Final, Generic, NamedTuple, TypeVar

from gslb.algorithms.base import Context, Cursors, PlanContext, Ranker
from gslb.decide.decision import Decision, decision_of, wants_probe
from gslb.model import Candidate
from gslb.proximity import EMPTY, ProximityView
from gslb.snapshot import Snapshot

MAX_CHOICES: Final = 4096


class _Cursors:
    def advance(self, key: tuple[object, ...]) -> int:
        raise AssertionError("a constant method moved a cursor")


def constant_context() -> Context:
    """What a constant method is given: it reads nothing of it."""
    return Context(IPv4Address(0), lambda c: 0, EMPTY, 0.0, Random(0), _Cursors(), detail=False)


class _Step(NamedTuple):
    rank: Ranker
    # Per candidate position: the decision when it ranks first and the pool
    # gives one answer; None when the pool gives more (made per query).
    firsts: tuple[Decision, ...] | None
    many: Callable[[Sequence[int]], Decision]


class Plan:
    """Run the steps in order; the first ranker that is not unsuccessful decides,
    else `end` (a constant method's decision, or no answer)."""

    __slots__ = ("end", "steps")

    def __init__(self, steps: tuple[_Step, ...], end: Decision) -> None:
        self.steps = steps
        self.end = end

    def __call__(
        self, key: int, now: float, proximity: ProximityView, cursors: Cursors, rng: Random
    ) -> Decision:
        for rank, firsts, many in self.steps:
            order = rank(key, now, proximity, cursors, rng)
            if order is not None:
                return firsts[order[0]] if firsts is not None else many(order)
        return self.end


C = TypeVar("C", bound=Hashable)


class PlanPerChoice(Generic[C]):
    """Plans for a wide IP whose pool order depends on the query: `choose`
    names what fixes the order (the order the pool method's ranker draws: by
    the LDNS's topology prefix, a cursor or chance), `make` compiles the plan
    for it on first use. At most MAX_CHOICES are kept (the orders a topology
    table's prefixes give, a rotation's steps; random orders of many pools
    could be more)."""

    __slots__ = ("_choose", "_make", "_plans")

    def __init__(
        self,
        choose: Callable[[int, float, ProximityView, Cursors, Random], C],
        make: Callable[[C], Plan],
    ) -> None:
        self._choose = choose
        self._make = make
        self._plans: dict[C, Plan] = {}

    def __call__(
        self, key: int, now: float, proximity: ProximityView, cursors: Cursors, rng: Random
    ) -> Decision:
        choice = self._choose(key, now, proximity, cursors, rng)
        plan = self._plans.get(choice)
        if plan is None:
            if len(self._plans) >= MAX_CHOICES:
                self._plans.clear()
            plan = self._plans[choice] = self._make(choice)
        return plan(key, now, proximity, cursors, rng)


def compile_plan(snap: Snapshot, pools: Sequence[int]) -> Plan | None:
    """The plan that tries `pools` in this order; None when some method on the
    way has no hot-path form."""
    ctx = constant_context()
    missed: list[tuple[str, str]] = []
    steps: list[_Step] = []
    for pi in pools:
        pool = snap.config.pools[pi]
        up = snap.members_up[pi]
        last = len(pool.methods) - 1
        ctx.pool = pool
        for i, (algorithm, label) in enumerate(snap.chains[pi]):
            candidates = up if (up or i < last or pool.fail_closed) else snap.members[pi]
            if algorithm.constant:
                verdict = algorithm.select(candidates, ctx)
                if verdict.kind == "unsuccessful":
                    missed.append(label)
                elif verdict.kind != "none":
                    end = decision_of(verdict.kind, verdict.members, pi, pool, label[1], missed)
                    return Plan(tuple(steps), end)
                continue
            at = PlanContext(snap.topology, snap.path_ttl, pool.max_answers, pi)
            rank = algorithm.compile(candidates, at)
            if rank is None:
                return None
            steps.append(_step(rank, candidates, pi, label[1], list(missed), snap))
            missed.append(label)
    nodata = Decision("nodata", probe=wants_probe(missed), fallthroughs=tuple(missed))
    return Plan(tuple(steps), nodata)


def _step(
    rank: Ranker,
    candidates: tuple[Candidate, ...],
    pi: int,
    method: str,
    missed: list[tuple[str, str]],
    snap: Snapshot,
) -> _Step:
    pool = snap.config.pools[pi]

    def many(order: Sequence[int]) -> Decision:
        members = tuple([candidates[i] for i in order])
        return decision_of("pick", members, pi, pool, method, missed)

    firsts = None
    if pool.max_answers == 1:
        firsts = tuple(many([i]) for i in range(len(candidates)))
    return _Step(rank, firsts, many)
