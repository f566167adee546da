"""qos: a weighted sum of normalised metrics, as BIG-IP's Quality of Service.

Each metric is scaled to 0..1 across the candidates (1 = best): RTT and hops
as best/own, completion rate as own/10000, topology as own/highest, ratio
(standing in for VS capacity) as own/highest. The weights default to
BIG-IP's (rtt 50, completion_rate 5, hops 0, topology 0, vs_capacity 0) and
can be overridden per pool: `qos = { rtt = 50, topology = 10 }`.
Unsuccessful without fresh path data, like `rtt`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import (
    Algorithm,
    Candidate,
    Context,
    Verdict,
    fresh_paths,
    no_path_data,
    ranked,
)

DEFAULTS: dict[str, float] = {
    "rtt": 50.0,
    "completion_rate": 5.0,
    "hops": 0.0,
    "topology": 0.0,
    "vs_capacity": 0.0,
}


def _best_over_own(best: float, own: float) -> float:
    return 1.0 if own <= 0 else best / own


class Qos(Algorithm):
    name: ClassVar[str] = "qos"
    dynamic: ClassVar[bool] = True
    fallthrough: ClassVar[str] = "no_path"

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        paths = fresh_paths(ctx)
        weights = dict(DEFAULTS)
        if ctx.pool is not None:
            weights.update(ctx.pool.qos)
        measured = [paths[c.path_id] for c in candidates if c.path_id in paths]
        if not measured:
            return no_path_data(ctx)
        best_rtt = min(p.rtt_us for p in measured)
        best_hops = min(p.hops for p in measured)
        topo = {c.name: ctx.topology(c) for c in candidates} if weights["topology"] else {}
        top_topo = max(topo.values(), default=0) or 1
        top_ratio = max(c.ratio for c in candidates) or 1

        def score(c: Candidate) -> float | None:
            p = paths.get(c.path_id)
            if p is None:
                return None
            return (
                weights["rtt"] * _best_over_own(best_rtt, p.rtt_us)
                + weights["hops"] * _best_over_own(best_hops, p.hops)
                + weights["completion_rate"] * p.completion_rate / 10000
                + weights["topology"] * topo.get(c.name, 0) / top_topo
                + weights["vs_capacity"] * c.ratio / top_ratio
            )

        return ranked(candidates, [score(c) for c in candidates], ctx, highest_first=True)
