"""Plain counters the hot path and the control plane bump; metrics read them at scrape time.

No prometheus_client object is touched while a query is answered: a counter
here is a dict entry keyed by a tuple of label values (indices or words,
never client addresses), and a histogram is a list of bucket counts. The
collector in gslb/control/metrics.py turns them into metric families when
/metrics is scraped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

# Seconds; from 10 µs (a cached answer) to 1 s.
QUERY_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1, 1.0)
# Seconds; a health check on a LAN to one that times out.
CHECK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    """Cumulative-at-export bucket counts, sum and count of observed values."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, float]]:
        """(upper bound, count of values <= it) as Prometheus exposes buckets."""
        out: list[tuple[str, float]] = []
        total = 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(total)))
        return out


@dataclass(slots=True)
class QueryCounters:
    """What `Responder.answer()` counts.

    Keyed by names, not indices, so the counts stay right across reloads:
    queries: (wide IP name or "", qtype, rcode, transport) -> count
    decisions: (wide IP name, pool name or "", deciding method) -> count
    fallthroughs: (pool name, method) -> times the method was unsuccessful
    """

    queries: Counter[tuple[str, int, int, str]] = field(default_factory=Counter)
    decisions: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    fallthroughs: Counter[tuple[str, str]] = field(default_factory=Counter)
    duration: Histogram = field(default_factory=lambda: Histogram(QUERY_BUCKETS))
