"""rtt: the candidate whose data center has the lowest smoothed RTT to the LDNS.

Reads the proximity view (filled by the probers). Unsuccessful when no
candidate's data center has a path younger than the path TTL; the LDNS is
then queued for probing and the next method answers meanwhile. Config:
`methods = ["rtt", "topology", "global_availability"]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import Candidate, Context, Verdict, fresh_paths, ranked


class Rtt:
    name: ClassVar[str] = "rtt"

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        paths = fresh_paths(ctx)

        def rtt(c: Candidate) -> float | None:
            p = paths.get(c.datacenter)
            return None if p is None else p.rtt_us

        return ranked(candidates, rtt, f"no fresh path data for {ctx.ldns}")
