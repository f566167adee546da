"""global_availability: the first available member in configured order.

Preemptive: when an earlier member comes back it is chosen again. Config:
`methods = ["global_availability"]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import Algorithm, Candidate, Context, Verdict, pick, unsuccessful


class GlobalAvailability(Algorithm):
    name: ClassVar[str] = "global_availability"
    constant: ClassVar[bool] = True
    pool_method: ClassVar[bool] = True

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        if not candidates:
            return unsuccessful("no available member")
        return pick(candidates, "first available in configured order")
