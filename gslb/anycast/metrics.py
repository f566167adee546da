"""The gate's /metrics, built at scrape time from the Runner's gates and counts.

    gslb_anycast_announced{prefix}                      1 announced, 0 withdrawn
    gslb_anycast_state_since_seconds{prefix}            when the state was entered (Unix time)
    gslb_anycast_transitions_total{prefix,to,reason}    state changes
    gslb_anycast_checks_total{prefix,result}            ok|timeout|refused|bad_answer|error
    gslb_anycast_commands_total{prefix,state,outcome}   routing commands, ok|failed

Served by the gate itself (`[anycast] http`, default 127.0.0.1:9301), not
by gslbd: it must be readable exactly when gslbd is down.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from gslb.anycast.gate import Gate
from gslb.model import AnycastPrefix


class Watched(Protocol):
    """What the collector reads of the gate process (gslb/anycast/runner.py)."""

    @property
    def gates(self) -> Mapping[AnycastPrefix, Gate]: ...
    @property
    def checks(self) -> Counter[tuple[str, str]]: ...  # (prefix, result)
    @property
    def commands(self) -> Counter[tuple[str, str, str]]: ...  # (prefix, state, outcome)

    def rows(self) -> list[dict[str, Any]]: ...


class AnycastCollector:
    def __init__(self, runner: Watched) -> None:
        self.runner = runner

    def collect(self) -> Iterator[Metric]:
        runner = self.runner
        announced = GaugeMetricFamily(
            "gslb_anycast_announced", "1 while the prefix is announced", labels=["prefix"]
        )
        since = GaugeMetricFamily(
            "gslb_anycast_state_since_seconds",
            "Unix time the prefix entered its current state",
            labels=["prefix"],
        )
        transitions = CounterMetricFamily(
            "gslb_anycast_transitions", "Prefix state changes", labels=["prefix", "to", "reason"]
        )
        for row in runner.rows():
            prefix = row["prefix"]
            announced.add_metric([prefix], 1.0 if row["state"] == "announced" else 0.0)
            since.add_metric([prefix], row["since"])
        for p, gate in runner.gates.items():
            for (to, reason), n in sorted(gate.transitions.items()):
                transitions.add_metric([str(p.prefix), to, reason], n)
        checks = CounterMetricFamily(
            "gslb_anycast_checks", "Questions asked to gslbd", labels=["prefix", "result"]
        )
        for labels, n in sorted(runner.checks.items()):
            checks.add_metric(list(labels), n)
        commands = CounterMetricFamily(
            "gslb_anycast_commands",
            "Announce/withdraw commands run",
            labels=["prefix", "state", "outcome"],
        )
        for labels3, n in sorted(runner.commands.items()):
            commands.add_metric(list(labels3), n)
        yield from (announced, since, transitions, checks, commands)


def registry(runner: Watched) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=True)
    reg.register(AnycastCollector(runner))
    return reg
