"""random: a random order of the available candidates.

The generator comes from the context, so tests seed it. Config:
`methods = ["random"]`.
"""

from __future__ import annotations

from random import Random
from typing import ClassVar

from gslb.algorithms.base import (
    Algorithm,
    Candidate,
    Context,
    Cursors,
    PlanContext,
    ProximityView,
    Ranker,
    Verdict,
    never,
    pick,
    unsuccessful,
)


class RandomMethod(Algorithm):
    name: ClassVar[str] = "random"
    rotating: ClassVar[bool] = True
    pool_method: ClassVar[bool] = True

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        if not candidates:
            return unsuccessful("no available member")
        order = list(candidates)
        ctx.rng.shuffle(order)
        return pick(tuple(order))

    def compile(self, candidates: tuple[Candidate, ...], at: PlanContext) -> Ranker:
        if not candidates:
            return never
        n = len(candidates)

        def rank(
            key: int, now: float, proximity: ProximityView, cursors: Cursors, rng: Random
        ) -> list[int] | None:
            order = list(range(n))
            rng.shuffle(order)  # the same draws as select()'s shuffle of as many
            return order

        return rank
