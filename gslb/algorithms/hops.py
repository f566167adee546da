"""hops: the candidate whose data center is the fewest hops from the LDNS.

Unsuccessful without fresh path data, like `rtt`. Config:
`methods = ["hops", ...]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import Candidate, Context, Verdict, fresh_paths, ranked


class Hops:
    name: ClassVar[str] = "hops"

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        paths = fresh_paths(ctx)

        def hops(c: Candidate) -> float | None:
            p = paths.get(c.datacenter)
            return None if p is None else p.hops

        return ranked(candidates, hops, f"no fresh path data for {ctx.ldns}")
