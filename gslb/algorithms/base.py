"""The seam every load-balancing method plugs into.

A method gets the candidates the tier offers (already filtered to the
available ones, except for the last method of a chain, which fails open) and
a `Context`, and returns a `Verdict`: an ordered pick, `unsuccessful` (so the
next method of the chain decides), or a terminal action. Methods are pure:
time, randomness and round-robin cursors come from the context, so the same
inputs give the same verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from random import Random
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Literal, NamedTuple, Protocol

from gslb.model import Candidate, IPAddress, Pool, key_of
from gslb.proximity import Path, ProximityView

if TYPE_CHECKING:
    from gslb.decide.topology import TopologyIndex

__all__ = ["Candidate", "Path", "ProximityView"]  # the vocabulary of a method, re-exported

Kind = Literal["pick", "unsuccessful", "drop", "return_to_dns", "fallback_ip", "none"]


NO_METRICS: Mapping[str, object] = MappingProxyType({})


class Verdict(NamedTuple):
    # A named tuple, not a frozen dataclass: one is made per method tried on
    # every query, and a frozen dataclass costs several times more to build.
    kind: Kind
    members: tuple[Candidate, ...] = ()
    reason: str = ""
    metrics: Mapping[str, object] = NO_METRICS


def pick(
    members: tuple[Candidate, ...], reason: str = "", metrics: Mapping[str, object] | None = None
) -> Verdict:
    return Verdict("pick", members, reason, NO_METRICS if metrics is None else metrics)


def unsuccessful(reason: str) -> Verdict:
    return Verdict("unsuccessful", (), reason)


DROP = Verdict("drop", reason="drop_packet")
RETURN_TO_DNS = Verdict("return_to_dns", reason="return_to_dns")
FALLBACK_IP = Verdict("fallback_ip", reason="fallback_ip")
NONE = Verdict("none", reason="skipped")


class Cursors(Protocol):
    def advance(self, key: tuple[object, ...]) -> int:
        """Return the cursor for `key` and move it one step on."""
        ...


@dataclass(slots=True)
class Context:
    """What a method may know about the query being decided."""

    ldns: IPAddress  # the LDNS, or the ECS client subnet's address
    topology: Callable[[Candidate], int]  # topology score of a candidate
    proximity: ProximityView
    now: float
    rng: Random
    cursors: Cursors
    path_ttl: float = 2400.0
    pool: Pool | None = None  # the pool being decided (None on the pool tier)
    tier: Literal["pool", "member"] = "member"
    scope: int = 0  # pool index (member tier) or wide IP index (pool tier)
    # Reasons naming the LDNS and the metrics behind a pick are for the trace
    # (`gslbctl explain`); the hot path turns them off, they cost more than
    # the decision itself.
    detail: bool = True


def fresh_paths(ctx: Context) -> Mapping[int, Path]:
    """The LDNS's paths that are younger than the path TTL, by data-center id."""
    oldest = ctx.now - ctx.path_ttl
    paths = ctx.proximity.paths(key_of(ctx.ldns))
    return {dc: p for dc, p in paths.items() if p.measured_at >= oldest}


def no_path_data(ctx: Context) -> Verdict:
    return unsuccessful(f"no fresh path data for {ctx.ldns}" if ctx.detail else "no path data")


def by_path(
    candidates: tuple[Candidate, ...], ctx: Context, field: str, *, highest_first: bool = False
) -> Verdict:
    """Rank candidates by one metric of their data center's fresh path to the LDNS."""
    values = ctx.proximity.fresh(key_of(ctx.ldns), ctx.now - ctx.path_ttl, field)
    if not values:
        return no_path_data(ctx)
    get = values.get
    return ranked(
        candidates, [get(c.path_id) for c in candidates], ctx, highest_first=highest_first
    )


def compile_by_path(
    candidates: tuple[Candidate, ...],
    path_ttl: float,
    limit: int,
    field: str,
    *,
    highest_first: bool = False,
) -> Ranker:
    """`by_path` for these candidates, as the hot path runs it (see `Ranker`)."""
    datacenters = [c.path_id for c in candidates]
    if limit == 1:
        first: dict[int, int] = {}
        for position, dc in enumerate(datacenters):
            first.setdefault(dc, position)  # of equals, the first in configured order

        def rank_one(
            key: int, now: float, proximity: ProximityView, cursors: Cursors, rng: Random
        ) -> list[int] | None:
            best = proximity.best(key, now - path_ttl, field, first, highest_first)
            return None if best is None else [best]

        return rank_one

    def rank(
        key: int, now: float, proximity: ProximityView, cursors: Cursors, rng: Random
    ) -> list[int] | None:
        values = proximity.fresh(key, now - path_ttl, field)
        if not values:
            return None
        get = values.get
        return rank_order([get(dc) for dc in datacenters], highest_first)

    return rank


def never(
    key: int, now: float, proximity: ProximityView, cursors: Cursors, rng: Random
) -> list[int] | None:
    """The ranker of a method with no candidates: always unsuccessful."""
    return None


def cycling(cursor: tuple[object, ...], orders: Sequence[list[int]]) -> Ranker:
    """The ranker of a rotation: each query takes the next of `orders`, at the
    cursor `cursor` (the key select() advances); none when there are none."""
    if not orders:
        return never
    n = len(orders)

    def rank(
        key: int, now: float, proximity: ProximityView, cursors: Cursors, rng: Random
    ) -> list[int] | None:
        return orders[cursors.advance(cursor) % n]

    return rank


def rank_order(values: Sequence[float | None], highest_first: bool) -> list[int] | None:
    """Positions of `values`, best first; those without one follow in
    configured order. None when no position has a value. Ties keep configured
    order (Python's sort is stable, also reversed), so the result is
    deterministic."""
    if None not in values:
        if not values:
            return None
        return sorted(range(len(values)), key=values.__getitem__, reverse=highest_first)  # type: ignore[arg-type]
    have = [i for i, v in enumerate(values) if v is not None]
    if not have:
        return None
    have.sort(key=values.__getitem__, reverse=highest_first)  # type: ignore[arg-type]
    return have + [i for i, v in enumerate(values) if v is None]


def ranked(
    candidates: tuple[Candidate, ...],
    values: Sequence[float | None],
    ctx: Context,
    *,
    highest_first: bool = False,
) -> Verdict:
    """Order candidates by their values; those without one follow in configured order.

    Unsuccessful (no path data) when no candidate has a value. Ties keep
    configured order, so the result is deterministic.
    """
    order = rank_order(values, highest_first)
    if order is None:
        return no_path_data(ctx)
    members = tuple(map(candidates.__getitem__, order))
    if not ctx.detail:
        return pick(members)
    return pick(
        members, "", {candidates[i].name: values[i] for i in order if values[i] is not None}
    )


# The hot path's form of a method (gslb/decide/plan.py), made once per snapshot for
# one pool's candidates (`PlanContext`): given the LDNS key, the time, the
# proximity view, the round-robin cursors and the random generator, the
# candidates' positions best first (at least the first `limit` of them), or
# None when the method is unsuccessful. It orders exactly as select() does
# with `detail` off, reading and moving the same cursors and drawing the same
# numbers; tests/unit/decide/test_plan.py holds the two equal on random
# configurations.
Ranker = Callable[[int, float, ProximityView, Cursors, Random], "list[int] | None"]


class PlanContext(NamedTuple):
    """What a method's hot-path form may read besides its candidates: fixed
    for one snapshot and pool."""

    topology: TopologyIndex
    path_ttl: float
    limit: int  # the pool's max_answers
    # What round-robin cursors are kept by: the pool's index on the member
    # tier, the wide IP's on the pool tier (as Context.tier and .scope).
    scope: int
    tier: Literal["pool", "member"] = "member"


class Algorithm:
    """One method: of a pool's chain (member tier) or a wide IP's `pool_method`
    (pool tier). Every method subclasses this; its class flags are the one
    place that says what the method is, and `gslb.algorithms` derives its sets
    (`DYNAMIC`, `ROTATING`, `POOL_METHODS`) from them."""

    name: ClassVar[str]
    # Reads the proximity table: unsuccessful without a fresh path for the
    # LDNS, which is then queued for probing (Decision.probe).
    dynamic: ClassVar[bool] = False
    # The same query may get another answer (a cursor moves, chance draws):
    # its replies are never replayed from the reply cache.
    rotating: ClassVar[bool] = False
    # The verdict depends on the candidates alone (not on the LDNS, the time,
    # chance or a cursor): the hot path takes it once per snapshot.
    constant: ClassVar[bool] = False
    # May order a wide IP's pools (`pool_method`).
    pool_method: ClassVar[bool] = False
    # Why it is unsuccessful: the `reason` label of gslb_fallthroughs_total.
    fallthrough: ClassVar[str] = "no_available_member"
    # Answers the pool's `fallback_ip`: a pool that lists it must have one.
    needs_fallback_ip: ClassVar[bool] = False

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        raise NotImplementedError

    def compile(self, candidates: tuple[Candidate, ...], at: PlanContext) -> Ranker | None:
        """The hot path's form of the method for these candidates (`Ranker`);
        None when it has none (the wide IP then takes the general path). A
        method with one can only pick or be unsuccessful."""
        return None


class ByPath(Algorithm):
    """The methods that rank by one metric of the LDNS's fresh paths (`by_path`)."""

    dynamic: ClassVar[bool] = True
    fallthrough: ClassVar[str] = "no_path"
    field: ClassVar[str]  # a `Path` field
    highest_first: ClassVar[bool] = False

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        return by_path(candidates, ctx, self.field, highest_first=self.highest_first)

    def compile(self, candidates: tuple[Candidate, ...], at: PlanContext) -> Ranker:
        return compile_by_path(
            candidates, at.path_ttl, at.limit, self.field, highest_first=self.highest_first
        )
