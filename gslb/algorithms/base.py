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
from dataclasses import dataclass, field
from random import Random
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Literal, NamedTuple, Protocol

from gslb.model import IPAddress, Pool, key_of

if TYPE_CHECKING:
    from gslb.decide.topology import TopologyIndex

Kind = Literal["pick", "unsuccessful", "drop", "return_to_dns", "fallback_ip", "none"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pool (pool tier) or a pool member (member tier) offered to a method."""

    index: int  # pool index (pool tier) or virtual-server index (member tier)
    name: str
    ratio: int
    datacenter: int  # -1 on the pool tier
    pool: int
    # What topology records on the server side can name this candidate by,
    # most specific first; made once here rather than on every query.
    keys: tuple[tuple[str, int], ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.datacenter < 0:  # pool tier
            keys: tuple[tuple[str, int], ...] = (("pool", self.index),)
        else:
            keys = (("vs", self.index), ("pool", self.pool), ("dc", self.datacenter))
        object.__setattr__(self, "keys", keys)


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


class Path(NamedTuple):
    """One measured path from a data center to an LDNS (proximity)."""

    rtt_us: int
    hops: int
    completion_rate: int  # hundredths of a percent, 10000 = every probe answered
    measured_at: float


class ProximityView(Protocol):
    """Paths by LDNS key (`gslb.model.key_of`)."""

    def paths(self, key: int) -> Mapping[int, Path]:
        """Fresh and stale paths for this LDNS, keyed by data-center index."""
        ...

    def fresh(self, key: int, since: float, field: str) -> Mapping[int, float]:
        """One metric (a `Path` field) of the paths measured at or after `since`."""
        ...

    def measured(self, key: int, since: float) -> bool:
        """Whether any path of this LDNS was measured at or after `since`."""
        ...

    def best(
        self, key: int, since: float, field: str, first: Mapping[int, int], highest_first: bool
    ) -> int | None:
        """Of the data centers in `first` (data center -> a position), the
        position of the one whose path measured at or after `since` has the
        lowest (highest) `field`; ties go to the lower position. None when no
        such path."""
        ...


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
    """The LDNS's paths that are younger than the path TTL, by data center."""
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
        candidates, [get(c.datacenter) for c in candidates], ctx, highest_first=highest_first
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
    datacenters = [c.datacenter for c in candidates]
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


class Algorithm(Protocol):
    # A method whose verdict depends on the candidates alone (not on the
    # LDNS, the time, chance or a cursor) also says `constant = True`: the hot
    # path then takes its verdict once per snapshot (gslb/decide/plan.py).
    name: ClassVar[str]

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict: ...


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


class Compilable(Protocol):
    """A method with a hot-path form: it can only pick or be unsuccessful."""

    name: ClassVar[str]

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict: ...

    def compile(self, candidates: tuple[Candidate, ...], at: PlanContext) -> Ranker: ...


class ByPath:
    """The methods that rank by one metric of the LDNS's fresh paths (`by_path`)."""

    name: ClassVar[str]
    field: ClassVar[str]  # a `Path` field
    highest_first: ClassVar[bool] = False

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        return by_path(candidates, ctx, self.field, highest_first=self.highest_first)

    def compile(self, candidates: tuple[Candidate, ...], at: PlanContext) -> Ranker:
        return compile_by_path(
            candidates, at.path_ttl, at.limit, self.field, highest_first=self.highest_first
        )
