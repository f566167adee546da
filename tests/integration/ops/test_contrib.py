"""contrib/'s dashboard and alert rules use only metrics a real gslbd exports:
a renamed metric must not leave a chart empty or an alert silent."""

from __future__ import annotations

import json
import platform
import re

from prometheus_client.parser import text_string_to_metric_families

from gslb import __version__
from tests.integration.conftest import ROOT
from tests.integration.ops.helpers import get

CONTRIB = ROOT / "contrib"
# Our metric names in PromQL (`up` is Prometheus's own, per scrape job).
NAME = re.compile(r"\b((?:gslb|process)_[a-z_]+)\b")
SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def expressions() -> dict[str, list[str]]:
    dashboard = json.loads((CONTRIB / "grafana-dashboard.json").read_text())
    charts = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    rules = (CONTRIB / "prometheus-alerts.yml").read_text()
    alerts = [m.group(1) for m in re.finditer(r"expr: \|?\s*(.+?)(?=\n\s+(?:for|labels):)",
                                              rules, re.S)]  # fmt: skip
    return {"dashboard": charts, "alerts": alerts}


def exported(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names


def test_dashboard_and_alerts_match_metrics(make_gslbd):
    server = make_gslbd(toml=(("[server]\n", "[server]\nworkers = 2\n"),))
    status, text = get(server, "/metrics")
    assert status == 200
    have = exported(text)
    found = expressions()
    assert len(found["dashboard"]) >= 18 and len(found["alerts"]) >= 10
    for where, exprs in found.items():
        for expr in exprs:
            for name in NAME.findall(expr):
                base = next((name.removesuffix(s) for s in SUFFIXES if name.endswith(s)), name)
                assert name in have or base in have, f"{where}: {name} is not exported ({expr})"
    assert {"gslb_build_info", "process_open_fds", "gslb_worker_open_fds"} <= have


def test_build_info_and_processes(make_gslbd):
    server = make_gslbd(toml=(("[server]\n", "[server]\nworkers = 2\n"),))
    status, text = get(server, "/metrics")
    assert status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    info = ("gslb_build_info", (("python", platform.python_version()), ("version", __version__)))
    assert samples[info] == 1
    assert samples["process_open_fds", ()] > 5
    assert samples["process_resident_memory_bytes", ()] > 10e6
    for worker in ("0", "1"):
        assert samples["gslb_worker_open_fds", (("worker", worker),)] > 5
        assert samples["gslb_worker_resident_memory_bytes", (("worker", worker),)] > 10e6
        assert samples["gslb_worker_cpu_seconds_total", (("worker", worker),)] > 0
