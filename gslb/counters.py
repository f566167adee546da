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
from typing import Final

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


# Query types counted by name; any other is counted as 0 ("other"), so a
# client cannot grow the label set.
QTYPE_NAMES: Final = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
    33: "SRV", 35: "NAPTR", 43: "DS", 46: "RRSIG", 48: "DNSKEY", 64: "SVCB", 65: "HTTPS",
    99: "SPF", 251: "IXFR", 252: "AXFR", 255: "ANY", 257: "CAA",
}  # fmt: skip
RCODE_NAMES: Final = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    16: "BADVERS",
}  # fmt: skip
TIMING_SAMPLE: Final = 16  # one query in this many has its processing time measured
NO_REPLY: Final = -1  # the rcode of a query that got no reply (dropped)


# What one query is counted under: wide IP ("" for other names), qtype (0 for
# other types), the extended rcode bits (BADVERS), the pool and deciding method
# of a wide IP decision ("" otherwise), and the (pool, method) fall-throughs.
Labels = tuple[str, int, int, str, str, tuple[tuple[str, str], ...]]


@dataclass(slots=True)
class QueryCounters:
    """What `Responder.answer()` counts: one dict entry per query, keyed by
    (labels, rcode, transport), and the processing time of one query in
    TIMING_SAMPLE. Names, not indices,
    so the counts stay right across reloads. Queries, decisions and
    fall-throughs are sums over these keys, made at scrape time."""

    queries: dict[tuple[Labels, int, str], list[int]] = field(default_factory=dict)  # [count]
    duration: Histogram = field(default_factory=lambda: Histogram(QUERY_BUCKETS))

    def by_query(self) -> Counter[tuple[str, int, int, str]]:
        """(wide IP, qtype, rcode, transport) -> queries."""
        out: Counter[tuple[str, int, int, str]] = Counter()
        for (labels, rcode, transport), (n,) in list(self.queries.items()):
            out[labels[0], labels[1], rcode, transport] += n
        return out

    def by_decision(self) -> Counter[tuple[str, str, str]]:
        """(wide IP, pool, deciding method) -> decisions."""
        out: Counter[tuple[str, str, str]] = Counter()
        for (labels, _, _), (n,) in list(self.queries.items()):
            if labels[4]:
                out[labels[0], labels[3], labels[4]] += n
        return out

    def by_fallthrough(self) -> Counter[tuple[str, str]]:
        """(pool, method) -> times the method was unsuccessful."""
        out: Counter[tuple[str, str]] = Counter()
        for (labels, _, _), (n,) in list(self.queries.items()):
            for step in labels[5]:
                out[step] += n
        return out
