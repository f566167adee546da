"""topology: the candidate with the highest topology score for this LDNS.

Scores come from `etc/topology.csv` through the compiled index (the most
specific matching record wins per candidate). Candidates scoring 0 are left
out; unsuccessful when nothing matches. Ties keep configured order. Config:
`methods = ["topology"]` and records such as `dc:CNC,202.106.0.0/16,100`.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import TYPE_CHECKING, ClassVar

from gslb.algorithms.base import (
    Algorithm,
    Candidate,
    Context,
    Cursors,
    PlanContext,
    ProximityView,
    Ranker,
    Verdict,
    pick,
    unsuccessful,
)

if TYPE_CHECKING:
    from gslb.decide.topology import Node


def _matched(
    candidates: tuple[Candidate, ...], score: Callable[[Candidate], int]
) -> list[tuple[int, int]]:
    """(-score, position) of the candidates scoring above 0, best first."""
    matched = [(-s, i) for i, c in enumerate(candidates) if (s := score(c)) > 0]
    matched.sort()
    return matched


class Topology(Algorithm):
    name: ClassVar[str] = "topology"
    pool_method: ClassVar[bool] = True
    fallthrough: ClassVar[str] = "no_match"

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        matched = _matched(candidates, ctx.topology)
        if not matched:
            why = f"no topology record matches {ctx.ldns}" if ctx.detail else "no record matches"
            return unsuccessful(why)
        members = tuple(candidates[i] for _, i in matched)
        if not ctx.detail:
            return pick(members)
        return pick(members, "", {candidates[i].name: -s for s, i in matched})

    def compile(self, candidates: tuple[Candidate, ...], at: PlanContext) -> Ranker:
        # What matches an LDNS depends only on its most specific prefix in the
        # index, so the order is worked out once per prefix and kept (at most
        # one entry per prefix of the table, and one for no prefix).
        topology = at.topology
        orders: dict[Node, list[int] | None] = {}
        node_of = topology.node

        def rank(
            key: int, now: float, proximity: ProximityView, cursors: Cursors, rng: Random
        ) -> list[int] | None:
            node = node_of(key)
            try:
                return orders[node]
            except KeyError:
                matched = _matched(candidates, topology.scorer(node))
                order = orders[node] = [i for _, i in matched] or None
                return order

        return rank
