"""round_robin: each query starts one step further round the candidates.

The cursor is kept per pool (or per wide IP on the pool tier) outside the
snapshot, so a reload does not reset it for unchanged pools. Config:
`methods = ["round_robin"]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import (
    Algorithm,
    Candidate,
    Context,
    PlanContext,
    Ranker,
    Verdict,
    cycling,
    pick,
    unsuccessful,
)


class RoundRobin(Algorithm):
    name: ClassVar[str] = "round_robin"
    rotating: ClassVar[bool] = True
    pool_method: ClassVar[bool] = True

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        if not candidates:
            return unsuccessful("no available member")
        start = ctx.cursors.advance((self.name, ctx.tier, ctx.scope)) % len(candidates)
        return pick(candidates[start:] + candidates[:start], "", {"cursor": start})

    def compile(self, candidates: tuple[Candidate, ...], at: PlanContext) -> Ranker:
        n = len(candidates)
        rotations = [[*range(start, n), *range(start)] for start in range(n)]
        return cycling((self.name, at.tier, at.scope), rotations)
