"""The seam every load-balancing method plugs into.

A method gets the candidates the tier offers (already filtered to the
available ones, except for the last method of a chain, which fails open) and
a `Context`, and returns a `Verdict`: an ordered pick, `unsuccessful` (so the
next method of the chain decides), or a terminal action. Methods are pure:
time, randomness and round-robin cursors come from the context, so the same
inputs give the same verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from random import Random
from typing import ClassVar, Literal, Protocol

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


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    members: tuple[Candidate, ...] = ()
    reason: str = ""
    metrics: Mapping[str, object] = field(default_factory=dict)


def pick(members: tuple[Candidate, ...], reason: str = "", **metrics: object) -> Verdict:
    return Verdict("pick", members, reason, metrics)


def unsuccessful(reason: str, **metrics: object) -> Verdict:
    return Verdict("unsuccessful", (), reason, metrics)


DROP = Verdict("drop", reason="drop_packet")
RETURN_TO_DNS = Verdict("return_to_dns", reason="return_to_dns")
FALLBACK_IP = Verdict("fallback_ip", reason="fallback_ip")
NONE = Verdict("none", reason="skipped")


@dataclass(frozen=True, slots=True)
class Path:
    """One measured path from a data center to an LDNS (proximity)."""

    rtt_us: int
    hops: int
    completion_rate: int  # hundredths of a percent, 10000 = every probe answered
    measured_at: float


class ProximityView(Protocol):
    def paths(self, ldns: IPAddress) -> Mapping[int, Path]:
        """Fresh and stale paths for this LDNS, keyed by data-center index."""
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


def fresh_paths(ctx: Context) -> Mapping[int, Path]:
    """The LDNS's paths that are younger than the path TTL, by data center."""
    oldest = ctx.now - ctx.path_ttl
    return {dc: p for dc, p in ctx.proximity.paths(ctx.ldns).items() if p.measured_at >= oldest}


def by_path(
    candidates: tuple[Candidate, ...], ctx: Context, field: str, *, highest_first: bool = False
) -> Verdict:
    """Rank candidates by one metric of their data center's fresh path to the LDNS."""
    paths = fresh_paths(ctx)

    def metric(c: Candidate) -> float | None:
        p = paths.get(c.datacenter)
        return None if p is None else getattr(p, field)

    return ranked(
        candidates, metric, f"no fresh path data for {ctx.ldns}", highest_first=highest_first
    )


def ranked(
    candidates: tuple[Candidate, ...],
    metric: Callable[[Candidate], float | None],
    reason: str,
    *,
    highest_first: bool = False,
) -> Verdict:
    """Order candidates by a metric; those without one follow in configured order.

    Unsuccessful when no candidate has the metric. Ties keep configured order,
    so the result is deterministic.
    """
    measured: list[tuple[float, int, Candidate]] = []
    rest: list[Candidate] = []
    for i, c in enumerate(candidates):
        value = metric(c)
        if value is None:
            rest.append(c)
        else:
            measured.append((-value if highest_first else value, i, c))
    if not measured:
        return unsuccessful(reason)
    measured.sort(key=lambda t: (t[0], t[1]))
    values = {c.name: (-v if highest_first else v) for v, _, c in measured}
    return pick(tuple(c for _, _, c in measured) + tuple(rest), "", **values)


class Algorithm(Protocol):
    name: ClassVar[str]

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict: ...
