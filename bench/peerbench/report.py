"""Results of one benchmark run: per-server figures, the table, the JSON.

Per server: the median q/s and the median server CPU time per answered query
over the full-load runs, and latency percentiles at each fixed rate over the
answers of all runs at that rate pooled (more samples for p99.9 than any one
run has). Ratios are gslbd ÷ peer: above 1 for CPU/query and p99 means gslbd
costs more or answers slower; below 1 for q/s means it answers fewer.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from peerbench.dnsperf import Run, percentile

REFERENCE = "gslbd"
PERCENTILES = (50.0, 99.0, 99.9)


@dataclass(frozen=True, slots=True)
class Measured:
    """One dnsperf run and the server's CPU time over it."""

    run: Run
    server_cpu: float  # seconds, utime + stime of the server process tree
    # Seconds the server's core ran other processes during the run: the noise
    # figure on a shared machine.
    core_other: float = 0.0
    # Queries the kernel dropped at a full UDP socket buffer during the run
    # (counted machine-wide, so other UDP traffic adds to it).
    rcvbuf_drops: int = 0
    # The same for dnsperf's core: other work there delays dnsperf's clock.
    client_core_other: float = 0.0
    # irq + softirq seconds on the server's core: mostly the kernel delivering
    # this run's packets, charged to no process (so not in server_cpu).
    core_interrupts: float = 0.0

    @property
    def cpu_per_query_us(self) -> float:
        return self.server_cpu / self.run.completed * 1e6 if self.run.completed else math.nan

    @property
    def nxdomain_share(self) -> float:
        return (
            self.run.rcodes.get("NXDOMAIN", 0) / self.run.completed if self.run.completed else 0.0
        )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self.run)
        del out["latencies"]
        out["server_cpu_s"] = round(self.server_cpu, 3)
        out["server_core_other_s"] = round(self.core_other, 3)
        out["client_core_other_s"] = round(self.client_core_other, 3)
        out["server_core_interrupts_s"] = round(self.core_interrupts, 3)
        out["udp_rcvbuf_drops"] = self.rcvbuf_drops
        out["cpu_per_query_us"] = round(self.cpu_per_query_us, 3)
        out["nxdomain_share"] = round(self.nxdomain_share, 4)
        if self.run.latencies:
            ordered = sorted(self.run.latencies)
            out["latency_us"] = {f"p{p:g}": percentile(ordered, p) * 1e6 for p in PERCENTILES}
        return out


@dataclass
class ServerResult:
    name: str
    record: str
    argv: list[str] = field(default_factory=list)
    check: dict[str, str] = field(default_factory=dict)
    full: list[Measured] = field(default_factory=list)
    rates: dict[int, list[Measured]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def qps(self) -> float:
        return statistics.median(m.run.qps for m in self.full) if self.full else math.nan

    def cpu_per_query_us(self) -> float:
        if not self.full:
            return math.nan
        return statistics.median(m.cpu_per_query_us for m in self.full)

    def all_runs(self) -> list[Measured]:
        return [*self.full, *(m for runs in self.rates.values() for m in runs)]

    def other_load(self, client: bool = False) -> float:
        """Median share of the server's (client's) core taken by anything else in a run."""
        runs = [m for m in self.all_runs() if m.run.run_time]
        if not runs:
            return math.nan
        return statistics.median(
            (m.client_core_other if client else m.core_other) / m.run.run_time for m in runs
        )

    def latency_us(self, rate: int) -> dict[str, float]:
        pooled = sorted(x for m in self.rates.get(rate, []) for x in m.run.latencies)
        return {f"p{p:g}": percentile(pooled, p) * 1e6 for p in PERCENTILES}

    def achieved(self, rate: int) -> tuple[float, int]:
        """Median q/s achieved at a rate, and queries lost over its runs."""
        runs = self.rates.get(rate, [])
        if not runs:
            return math.nan, 0
        return statistics.median(m.run.qps for m in runs), sum(m.run.lost for m in runs)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "record": self.record,
            "argv": self.argv,
            "check": self.check,
            "error": self.error,
            "notes": self.notes,
            "summary": {
                "qps_median": self.qps(),
                "server_core_other_load_median": self.other_load(),
                "client_core_other_load_median": self.other_load(client=True),
                "cpu_per_query_us_median": self.cpu_per_query_us(),
                "latency_us": {str(r): self.latency_us(r) for r in self.rates},
                "achieved_qps": {str(r): self.achieved(r)[0] for r in self.rates},
                "lost": {str(r): self.achieved(r)[1] for r in self.rates},
            },
            "full_load": [m.to_json() for m in self.full],
            "rates": {str(r): [m.to_json() for m in runs] for r, runs in self.rates.items()},
        }


def _ratio(a: float, b: float) -> str:
    if math.isnan(a) or math.isnan(b) or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def _num(x: float, digits: int = 0) -> str:
    return "-" if math.isnan(x) else f"{x:,.{digits}f}"


def table(results: list[ServerResult], rates: list[int]) -> str:
    """One table: each server's figures, then gslbd ÷ that server."""
    ref = next((r for r in results if r.name == REFERENCE), None)
    head = ["server", "q/s", "CPU µs/q"]
    for rate in rates:
        head.append(f"p50/p99/p99.9 µs @{rate}")
    head.append("other load srv/cli")
    head += ["÷ CPU/q", "÷ q/s"] + [f"÷ p99 @{rate}" for rate in rates]
    rows: list[list[str]] = [head]
    for r in results:
        if r.error is not None:
            rows.append([r.name, "failed: " + r.error.splitlines()[0][:60]])
            continue
        row = [r.name, _num(r.qps()), _num(r.cpu_per_query_us(), 1)]
        for rate in rates:
            lat = r.latency_us(rate)
            achieved, lost = r.achieved(rate)
            cell = "/".join(_num(lat[k]) for k in ("p50", "p99", "p99.9"))
            if not math.isnan(achieved) and achieved < 0.95 * rate:
                cell += f" (only {achieved:,.0f} q/s)"
            if lost:
                cell += f" ({lost} lost)"
            row.append(cell)
        loads = (r.other_load(), r.other_load(client=True))
        row.append("-" if math.isnan(loads[0]) else "{:.0%}/{:.0%}".format(*loads))
        if ref is None or ref is r or ref.error is not None:
            row += ["-", "-"] + ["-" for _ in rates]
        else:
            row.append(_ratio(ref.cpu_per_query_us(), r.cpu_per_query_us()))
            row.append(_ratio(ref.qps(), r.qps()))
            for rate in rates:
                row.append(_ratio(ref.latency_us(rate)["p99"], r.latency_us(rate)["p99"]))
        rows.append(row)
    width = [max(len(row[i]) for row in rows if i < len(row)) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(width[i]) if i else c.ljust(width[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in width))
    return "\n".join(lines)


def write_json(path: Path, meta: dict[str, Any], results: dict[str, list[ServerResult]]) -> None:
    """`results` per workload."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "meta": meta,
        "workloads": {w: [r.to_json() for r in servers] for w, servers in results.items()},
    }
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
