"""ratio: weighted round robin by each candidate's ratio.

Smooth weighted round robin (as nginx does it): with ratios 3:1 the sequence
is a a b a, not a a a b, so a member never gets a long burst. The chosen
candidate comes first, the others follow in configured order. Config: member
`ratio = N` in the pool (or pool `ratio` on the wide IP tier).
"""

from __future__ import annotations

from functools import lru_cache
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


@lru_cache(maxsize=4096)
def sequence(weights: tuple[int, ...]) -> tuple[int, ...]:
    """Positions chosen by smooth weighted round robin over one full cycle."""
    total = sum(weights)
    current = [0] * len(weights)
    out: list[int] = []
    for _ in range(total):
        for i, w in enumerate(weights):
            current[i] += w
        best = max(range(len(weights)), key=lambda i: (current[i], -i))
        current[best] -= total
        out.append(best)
    return tuple(out)


class Ratio(Algorithm):
    name: ClassVar[str] = "ratio"
    rotating: ClassVar[bool] = True
    pool_method: ClassVar[bool] = True

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        if not candidates:
            return unsuccessful("no available member")
        seq = sequence(tuple(c.ratio for c in candidates))
        chosen = seq[ctx.cursors.advance((self.name, ctx.tier, ctx.scope)) % len(seq)]
        rest = candidates[:chosen] + candidates[chosen + 1 :]
        return pick((candidates[chosen], *rest), "", {"ratio": candidates[chosen].ratio})

    def compile(self, candidates: tuple[Candidate, ...], at: PlanContext) -> Ranker:
        n = len(candidates)
        seq = sequence(tuple(c.ratio for c in candidates)) if n else ()
        # the chosen one first, the others in configured order
        orders = [[chosen, *range(chosen), *range(chosen + 1, n)] for chosen in seq]
        return cycling((self.name, at.tier, at.scope), orders)
