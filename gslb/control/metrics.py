"""Prometheus metrics, built at scrape time from the server's current state.

Nothing here runs per query: the responder, the monitor runner and the probe
scheduler keep plain counters, and `GslbCollector.collect()` turns them into
metric families when /metrics is scraped. Label values are object names
(the same words as in the config and `gslbctl`), never client addresses.

    gslb_queries_total{wideip,qtype,rcode,transport}     "" wideip: not a wide IP name
    gslb_decisions_total{wideip,pool,method}             the method that decided
    gslb_fallthroughs_total{pool,method,reason}          a method was unsuccessful
    gslb_query_duration_seconds                          one query in 16 is timed
    gslb_transport_events_total{transport,event}         lost UDP replies, TCP limits
    gslb_member_state{member,datacenter,state}           1 for the current state
    gslb_member_available{member,datacenter}             may it be handed out
    gslb_datacenter_state{datacenter,state}              link state
    gslb_state_transitions_total{object,from,to}
    gslb_monitor_checks_total{monitor,type,result}
    gslb_monitor_check_duration_seconds{monitor,type}
    gslb_probes_total{protocol,datacenter,outcome}       from the probe scheduler
    gslb_probe_rtt_seconds{protocol,datacenter}          when the scheduler keeps one
    gslb_probe_events_total{event}                       the scheduler's other counts
    gslb_ldns_table_entries, gslb_persistence_records
    gslb_reloads_total{outcome}, gslb_config_generation, gslb_start_time_seconds
    gslb_build_info, process_*, gslb_worker_*    gslb/control/process.py
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sized
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from gslb.algorithms import REGISTRY
from gslb.control.process import ProcessMetrics
from gslb.control.served import Served
from gslb.counters import NO_REPLY, QTYPE_NAMES, RCODE_NAMES, Histogram
from gslb.snapshot import Snapshot

STATES = ("up", "down", "unknown", "disabled")
PROBE_OUTCOMES = ("ok", "failed")


def fallthrough_reason(method: str) -> str:
    """Why a method is unsuccessful, by its kind (DESIGN §3): its class says."""
    algorithm = REGISTRY.get(method)
    return algorithm.fallthrough if algorithm is not None else "no_available_member"


def qtype_name(qtype: int) -> str:
    return QTYPE_NAMES.get(qtype, "other")


def rcode_name(rcode: int) -> str:
    return "no_reply" if rcode == NO_REPLY else RCODE_NAMES.get(rcode, str(rcode))


def histogram(
    name: str, doc: str, labels: list[str], data: Mapping[Any, Histogram]
) -> HistogramMetricFamily:
    """`data`: label values (a tuple) -> Histogram."""
    family = HistogramMetricFamily(name, doc, labels=labels)
    for values, h in sorted(data.items()):
        family.add_metric(list(values), h.cumulative(), h.sum)
    return family


class GslbCollector:
    def __init__(self, server: Served) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        yield from self._queries()
        yield from self._health()
        yield from self._monitors()
        yield from self._probes()
        yield from self._process()
        sync = self.server.sync
        if sync is not None:
            yield from sync.metrics()

    def _queries(self) -> Iterable[Metric]:
        counters = self.server.query_counters()
        queries = CounterMetricFamily(
            "gslb_queries",
            "DNS queries answered, by wide IP (empty: other names), type, rcode and transport.",
            labels=["wideip", "qtype", "rcode", "transport"],
        )
        for (wideip, qtype, rcode, transport), n in sorted(counters.by_query().items()):
            queries.add_metric([wideip, qtype_name(qtype), rcode_name(rcode), transport], n)
        decisions = CounterMetricFamily(
            "gslb_decisions",
            "Wide IP decisions, by pool and the method that decided.",
            labels=["wideip", "pool", "method"],
        )
        for (wideip, pool, method), n in sorted(counters.by_decision().items()):
            decisions.add_metric([wideip, pool, method], n)
        fallthroughs = CounterMetricFamily(
            "gslb_fallthroughs",
            "Methods that were unsuccessful, so the next method of the chain decided.",
            labels=["pool", "method", "reason"],
        )
        for (pool, method), n in sorted(counters.by_fallthrough().items()):
            fallthroughs.add_metric([pool, method, fallthrough_reason(method)], n)
        duration = histogram(
            "gslb_query_duration_seconds",
            "Time to answer one query in the responder (one query in 16 is timed).",
            [],
            {(): counters.duration},
        )
        events = CounterMetricFamily(
            "gslb_transport_events",
            "UDP replies the kernel did not take (send_failed); TCP connections refused"
            " at tcp_max_connections (refused) or tcp_max_connections_per_client"
            " (refused_client), closed after tcp_idle_timeout"
            " (idle_timeout), or aborted for too much unanswered input (input_overflow).",
            labels=["transport", "event"],
        )
        for (transport, event), n in sorted(self.server.transport_events().items()):
            events.add_metric([transport, event], n)
        return (queries, decisions, fallthroughs, duration, events)

    def _health(self) -> Iterable[Metric]:
        snap = self.server.holder.current
        config = snap.config
        runner = self.server.monitors
        member = GaugeMetricFamily(
            "gslb_member_state",
            "Member (virtual server) state: 1 for the current one.",
            labels=["member", "datacenter", "state"],
        )
        available = GaugeMetricFamily(
            "gslb_member_available",
            "1 when the member may be handed out (state, data center and admin state).",
            labels=["member", "datacenter"],
        )
        for i, vs in enumerate(config.virtual_servers):
            dc_name = config.datacenters[vs.datacenter].name
            state = runner.member_status(config, vs)[0]
            for s in STATES:
                member.add_metric([vs.name, dc_name, s], float(s == state))
            available.add_metric([vs.name, dc_name], float(snap.available[i]))
        datacenter = GaugeMetricFamily(
            "gslb_datacenter_state",
            "Data center (link) state: 1 for the current one.",
            labels=["datacenter", "state"],
        )
        for dc in config.datacenters:
            state = runner.datacenter_status(dc)[0]
            for s in STATES:
                datacenter.add_metric([dc.name, s], float(s == state))
        transitions = CounterMetricFamily(
            "gslb_state_transitions",
            "Member and data-center state changes.",
            labels=["object", "from", "to"],
        )
        for (kind, before, after), n in sorted(runner.counters.transitions.items()):
            transitions.add_metric([kind, before, after], n)
        return (member, available, datacenter, transitions)

    def _monitors(self) -> Iterable[Metric]:
        counters = self.server.monitors.counters
        checks = CounterMetricFamily(
            "gslb_monitor_checks",
            "Health checks run, by monitor, type and result.",
            labels=["monitor", "type", "result"],
        )
        for (monitor, kind, result), n in sorted(counters.results.items()):
            checks.add_metric([monitor, kind, result], n)
        duration = histogram(
            "gslb_monitor_check_duration_seconds",
            "Time a health check took.",
            ["monitor", "type"],
            counters.durations,
        )
        return (checks, duration)

    def _probes(self) -> Iterable[Metric]:
        """The scheduler's counters: per (protocol, data center, outcome), an
        RTT histogram, and its other counts as events."""
        scheduler = self.server.probe_scheduler
        probes = CounterMetricFamily(
            "gslb_probes",
            "Proximity probes sent, by protocol, data center and outcome.",
            labels=["protocol", "datacenter", "outcome"],
        )
        events = CounterMetricFamily(
            "gslb_probe_events",
            "Other probe scheduler counts (queue full, refused, expired ...).",
            labels=["event"],
        )
        for (protocol, dc, outcome), n in sorted(scheduler.probe_results.items()):
            probes.add_metric([protocol, dc, outcome], n)
        for key, n in sorted(scheduler.counts.items()):
            protocol, _, outcome = key.rpartition("_")
            if not (outcome in PROBE_OUTCOMES and protocol):  # those are in probe_results
                events.add_metric([key], n)
        rtt = histogram(
            "gslb_probe_rtt_seconds",
            "Round-trip time of answered probes.",
            ["protocol", "datacenter"],
            scheduler.probe_rtt,
        )
        return (probes, events, rtt)

    def _process(self) -> Iterable[Metric]:
        server = self.server
        snap = server.holder.current
        yield GaugeMetricFamily(
            "gslb_ldns_table_entries", "LDNS in the proximity table.", value=table_size(snap)
        )
        yield GaugeMetricFamily(
            "gslb_persistence_records",
            "Persistence records held.",
            value=server.persistence_records(),
        )
        reloads = CounterMetricFamily(
            "gslb_reloads", "Configuration reloads, by outcome.", labels=["outcome"]
        )
        for outcome in ("ok", "failed"):
            reloads.add_metric([outcome], server.reloads[outcome])
        yield reloads
        yield GaugeMetricFamily(
            "gslb_config_generation", "Generation of the configuration serving.", snap.generation
        )
        yield GaugeMetricFamily(
            "gslb_start_time_seconds", "When gslbd started (Unix time).", server.started_at
        )


def table_size(snap: Snapshot) -> int:
    """Entries of the published LDNS view (0 when the view cannot tell)."""
    return len(snap.proximity) if isinstance(snap.proximity, Sized) else 0


def registry(server: Served) -> CollectorRegistry:
    """A registry of its own: gslb's metrics and its processes', nothing else
    that happens to be registered in prometheus_client's global one."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(GslbCollector(server))  # type: ignore[arg-type]
    reg.register(ProcessMetrics(server.worker_pids))  # type: ignore[arg-type]
    return reg
