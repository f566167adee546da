"""Run dnsperf (2.x) once and read its statistics.

Full load: no rate limit, `-q` queries outstanding. Fixed rate: `-Q rate`
with `-v`, which prints one line per response, `> RCODE name type latency`
(`> T ...` on timeout, `> I ...` when interrupted); this dnsperf (2.10) has
no latency histogram option, so the percentiles are computed here from those
lines. The client is pinned
to its own core with taskset and its CPU time is taken from the kernel's
accounting of reaped children, to tell when dnsperf, not the server, was the
bottleneck.
"""

from __future__ import annotations

import re
import resource
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_STAT = {
    "sent": re.compile(r"Queries sent:\s+(\d+)"),
    "completed": re.compile(r"Queries completed:\s+(\d+)"),
    "lost": re.compile(r"Queries lost:\s+(\d+)"),
    "run_time": re.compile(r"Run time \(s\):\s+([\d.]+)"),
    "qps": re.compile(r"Queries per second:\s+([\d.]+)"),
}
_RCODES = re.compile(r"Response codes:\s+(.*)")
_RCODE_ITEM = re.compile(r"([A-Z]+) (\d+) \(")


class DnsperfError(Exception):
    """dnsperf failed or printed no statistics."""


@dataclass(frozen=True, slots=True)
class Load:
    """How to drive one run."""

    port: int
    queries: Path
    duration: float
    rate: int | None = None  # None: full load
    clients: int = 4
    # dnsperf's default; 200 overflowed gslbd's socket buffer (drops, not answers).
    outstanding: int = 100
    timeout: float = 1.0
    core: int | None = 1  # None: not pinned
    nice: int = 0
    binary: bool = False  # -B: `queries` is a pre-built stream (peerbench.ecsload)
    passes: int | None = None  # -n: stop after this many passes over `queries`

    def argv(self) -> list[str]:
        cmd = ["nice", "-n", str(self.nice)] if self.nice else []
        if self.core is not None:
            cmd += ["taskset", "-c", str(self.core)]
        cmd += ["dnsperf"]
        cmd += ["-s", "127.0.0.1", "-p", str(self.port), "-d", str(self.queries)]
        cmd += ["-l", f"{self.duration:g}", "-c", str(self.clients), "-q", str(self.outstanding)]
        cmd += ["-t", f"{self.timeout:g}", "-T", "1"]
        if self.binary:
            cmd += ["-B"]
        if self.passes is not None:
            cmd += ["-n", str(self.passes)]
        if self.rate is not None:
            cmd += ["-Q", str(self.rate), "-v"]
        return cmd


@dataclass(frozen=True, slots=True)
class Run:
    """One dnsperf run as dnsperf reported it."""

    argv: list[str]
    sent: int
    completed: int
    lost: int
    run_time: float
    qps: float
    rcodes: dict[str, int]
    client_cpu: float  # seconds dnsperf spent on its core
    latencies: list[float] = field(default_factory=list, repr=False)  # seconds, -v only


def run(load: Load, log: Path) -> Run:
    """Run dnsperf to completion (bounded by -l plus a margin) and parse it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("w") as out:
        proc = subprocess.run(
            load.argv(),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=load.duration + load.timeout + 30,
            check=False,
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = log.read_text()
    if proc.returncode != 0:
        raise DnsperfError(f"dnsperf exited {proc.returncode}: {text[-2000:]}")
    return parse(text, load.argv(), client_cpu)


def parse(text: str, argv: list[str], client_cpu: float = 0.0) -> Run:
    values: dict[str, float] = {}
    for key, pattern in _STAT.items():
        m = pattern.search(text)
        if m is None:
            raise DnsperfError(f"no {key!r} in dnsperf output: {text[-2000:]}")
        values[key] = float(m.group(1))
    rcodes: dict[str, int] = {}
    m = _RCODES.search(text)
    if m:
        rcodes = {code: int(n) for code, n in _RCODE_ITEM.findall(m.group(1))}
    latencies = [
        float(parts[-1])
        for line in text.splitlines()
        if line.startswith("> ") and (parts := line.split())[1] not in ("T", "I")
    ]
    return Run(
        argv=argv,
        sent=int(values["sent"]),
        completed=int(values["completed"]),
        lost=int(values["lost"]),
        run_time=values["run_time"],
        qps=values["qps"],
        rcodes=rcodes,
        client_cpu=client_cpu,
        latencies=latencies,
    )


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100)
    return sorted_values[int(rank) - 1]
