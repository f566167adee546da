"""A decision for one wide IP query: what to answer, and why.

Made by `gslb.decide.pipeline.decide()`, either on the general path (each method's
`select()`, with a trace for `gslbctl explain`) or by the wide IP's compiled
plan (`gslb.decide.plan`); both build it with `decision_of()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from gslb.algorithms import DYNAMIC
from gslb.algorithms.base import Kind
from gslb.model import Candidate, IPAddress, Pool

Action = Literal["answer", "drop", "return_to_dns", "nodata"]


@dataclass(frozen=True, slots=True)
class Step:
    """One method tried, as `gslbctl explain` prints it."""

    tier: Literal["pool", "member", "persistence"]
    scope: str  # wide IP or pool name
    method: str
    outcome: str  # pick | unsuccessful | drop | return_to_dns | fallback_ip | none
    reason: str = ""
    chosen: tuple[str, ...] = ()
    metrics: dict[str, object] = field(default_factory=dict)


class Decision(NamedTuple):
    # A named tuple: one or two are built per query (see Verdict).
    action: Action
    pool: int = -1
    members: tuple[int, ...] = ()  # virtual-server indices, best first
    fallback: IPAddress | None = None
    ttl: int = 0
    method: str = ""  # the deciding method
    probe: bool = False  # a dynamic method lacked data: probe this LDNS
    trace: tuple[Step, ...] = ()
    # (pool name, method) of each method that was unsuccessful on the way
    fallthroughs: tuple[tuple[str, str], ...] = ()


def wants_probe(missed: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> bool:
    """A dynamic method lacked path data: the LDNS should be probed."""
    return any(method in DYNAMIC for _, method in missed)


def decision_of(
    kind: Kind,
    members: tuple[Candidate, ...],
    pi: int,
    pool: Pool,
    method: str,
    missed: list[tuple[str, str]],
) -> Decision:
    """The decision of pool `pi` when its method `method` gave a verdict of
    this kind (not unsuccessful nor none), after the methods in `missed`."""
    fallthroughs = tuple(missed) if missed else ()
    probe = wants_probe(missed) if missed else False
    if kind == "pick":
        if pool.max_answers == 1 and members:
            chosen: tuple[int, ...] = (members[0].index,)
        else:
            chosen = tuple([c.index for c in members[: pool.max_answers]])
        return Decision("answer", pi, chosen, None, pool.ttl, method, probe, (), fallthroughs)
    if kind == "fallback_ip":
        return Decision(
            "answer", pi, (), pool.fallback_ip, pool.ttl, method, probe, (), fallthroughs
        )
    if kind in ("drop", "return_to_dns"):
        return Decision(kind, pi, (), None, 0, method, probe, (), fallthroughs)
    raise ValueError(f"{kind} decides nothing")
