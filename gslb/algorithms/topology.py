"""topology: the candidate with the highest topology score for this LDNS.

Scores come from `etc/topology.csv` through the compiled index (the most
specific matching record wins per candidate). Candidates scoring 0 are left
out; unsuccessful when nothing matches. Ties keep configured order. Config:
`methods = ["topology"]` and records such as `dc:CNC,202.106.0.0/16,100`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import Candidate, Context, Verdict, pick, unsuccessful


class Topology:
    name: ClassVar[str] = "topology"

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        scored = [(ctx.topology(c), i, c) for i, c in enumerate(candidates)]
        matched = sorted((t for t in scored if t[0] > 0), key=lambda t: (-t[0], t[1]))
        if not matched:
            return unsuccessful(f"no topology record matches {ctx.ldns}")
        return pick(tuple(c for _, _, c in matched), "", **{c.name: s for s, _, c in matched})
