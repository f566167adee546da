"""completion_rate: the candidate whose path to the LDNS loses fewest probes.

Unsuccessful without fresh path data, like `rtt`. Config:
`methods = ["completion_rate", ...]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import Candidate, Context, Verdict, fresh_paths, ranked


class CompletionRate:
    name: ClassVar[str] = "completion_rate"

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        paths = fresh_paths(ctx)

        def rate(c: Candidate) -> float | None:
            p = paths.get(c.datacenter)
            return None if p is None else p.completion_rate

        return ranked(candidates, rate, f"no fresh path data for {ctx.ldns}", highest_first=True)
