"""completion_rate: the candidate whose path to the LDNS loses fewest probes.

Unsuccessful without fresh path data, like `rtt`. Config:
`methods = ["completion_rate", ...]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import Candidate, Context, Verdict, by_path


class CompletionRate:
    name: ClassVar[str] = "completion_rate"

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        return by_path(candidates, ctx, "completion_rate", highest_first=True)
