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
        topology = ctx.topology
        matched = [(-s, i) for i, c in enumerate(candidates) if (s := topology(c)) > 0]
        if not matched:
            why = f"no topology record matches {ctx.ldns}" if ctx.detail else "no record matches"
            return unsuccessful(why)
        matched.sort()
        members = tuple(candidates[i] for _, i in matched)
        if not ctx.detail:
            return pick(members)
        return pick(members, "", {candidates[i].name: -s for s, i in matched})
