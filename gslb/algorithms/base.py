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
from typing import ClassVar, Literal, NamedTuple, Protocol

from gslb.model import IPAddress, Pool

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
    def paths(self, ldns: IPAddress) -> Mapping[int, Path]:
        """Fresh and stale paths for this LDNS, keyed by data-center index."""
        ...

    def fresh(self, ldns: IPAddress, since: float, field: str) -> Mapping[int, float]:
        """One metric (a `Path` field) of the paths measured at or after `since`."""
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
    return {dc: p for dc, p in ctx.proximity.paths(ctx.ldns).items() if p.measured_at >= oldest}


def no_path_data(ctx: Context) -> Verdict:
    return unsuccessful(f"no fresh path data for {ctx.ldns}" if ctx.detail else "no path data")


def by_path(
    candidates: tuple[Candidate, ...], ctx: Context, field: str, *, highest_first: bool = False
) -> Verdict:
    """Rank candidates by one metric of their data center's fresh path to the LDNS."""
    values = ctx.proximity.fresh(ctx.ldns, ctx.now - ctx.path_ttl, field)
    if not values:
        return no_path_data(ctx)
    get = values.get
    return ranked(
        candidates, [get(c.datacenter) for c in candidates], ctx, highest_first=highest_first
    )


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
    if not values:
        return no_path_data(ctx)
    # Python's sort is stable, also reversed: ties keep configured order.
    if None in values:
        have = [i for i, v in enumerate(values) if v is not None]
        if not have:
            return no_path_data(ctx)
        order = sorted(have, key=values.__getitem__, reverse=highest_first)  # type: ignore[arg-type]
        order += [i for i, v in enumerate(values) if v is None]
    else:
        have = order = sorted(range(len(values)), key=values.__getitem__, reverse=highest_first)  # type: ignore[arg-type]
    members = tuple(map(candidates.__getitem__, order))
    if not ctx.detail:
        return pick(members)
    return pick(members, "", {candidates[i].name: values[i] for i in order if i in have})


class Algorithm(Protocol):
    name: ClassVar[str]

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict: ...
