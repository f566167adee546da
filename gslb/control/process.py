"""The process side of /metrics: what runs, and what it costs.

    gslb_build_info{version,python}          1
    process_cpu_seconds_total, process_resident_memory_bytes,
    process_open_fds, process_max_fds, ...   gslbd's main process (prometheus_client)
    gslb_worker_cpu_seconds_total{worker}
    gslb_worker_resident_memory_bytes{worker}
    gslb_worker_open_fds{worker}             each worker process (`[server] workers` > 1)

Read from /proc at scrape time, like the rest of /metrics. A worker is
labelled by its slot (0..N-1), not its PID, so a restarted worker continues
its series (its CPU counter starts again from zero, as counters may).
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from gslb import __version__

# What a worker's ProcessCollector family becomes, and its help text.
WORKER_FAMILIES = {
    "process_cpu_seconds": ("gslb_worker_cpu_seconds", "CPU time of a worker process."),
    "process_resident_memory_bytes": (
        "gslb_worker_resident_memory_bytes",
        "Resident memory of a worker process.",
    ),
    "process_open_fds": ("gslb_worker_open_fds", "Open file descriptors of a worker process."),
}


def _fixed(pid: int) -> Callable[[], int]:
    return lambda: pid


class ProcessMetrics:
    """A prometheus_client collector; `workers()`: slot -> PID of the live workers."""

    def __init__(self, workers: Callable[[], Mapping[int, int]]) -> None:
        self.workers = workers
        self.own = ProcessCollector(registry=None)

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "gslb_build_info", "gslb's version and the Python it runs on.",
            labels=["version", "python"],
        )  # fmt: skip
        info.add_metric([__version__, platform.python_version()], 1)
        yield info
        yield from self.own.collect()
        yield from self._workers()

    def _workers(self) -> Iterator[Metric]:
        out: dict[str, Metric] = {}
        for slot, pid in sorted(self.workers().items()):
            for family in ProcessCollector(pid=_fixed(pid), registry=None).collect():
                if family.name not in WORKER_FAMILIES:
                    continue
                name, help_text = WORKER_FAMILIES[family.name]
                if name not in out:
                    kind = CounterMetricFamily if family.type == "counter" else GaugeMetricFamily
                    out[name] = kind(name, help_text, labels=["worker"])
                for sample in family.samples:
                    out[name].add_metric([str(slot)], sample.value)  # type: ignore[attr-defined]
        yield from out.values()
