"""random: a random order of the available candidates.

The generator comes from the context, so tests seed it. Config:
`methods = ["random"]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import Candidate, Context, Verdict, pick, unsuccessful


class RandomMethod:
    name: ClassVar[str] = "random"

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        if not candidates:
            return unsuccessful("no available member")
        order = list(candidates)
        ctx.rng.shuffle(order)
        return pick(tuple(order))
