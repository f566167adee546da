"""hops: the candidate whose data center is the fewest hops from the LDNS.

Unsuccessful without fresh path data, like `rtt`. Config:
`methods = ["hops", ...]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import Candidate, Context, Verdict, by_path


class Hops:
    name: ClassVar[str] = "hops"

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        return by_path(candidates, ctx, "hops")
