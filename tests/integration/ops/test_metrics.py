"""/metrics after a known set of queries: exact counter values; /healthz, /readyz."""

from __future__ import annotations

import dns.message
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Gslbd
from tests.integration.ops.helpers import get


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[s.name, tuple(sorted(s.labels.items()))] = s.value
    return out


def test_metrics_count_exactly(gslbd: Gslbd):
    # Distinct letter case: distinct query bytes, so the reply cache does not
    # replay the first decision and each query is decided.
    for name in ("www", "Www", "wWw", "wwW", "WWW"):
        gslbd.udp(dns.message.make_query(f"{name}.gslb.example.", "A"))
    for _ in range(2):
        gslbd.tcp(dns.message.make_query("gslb.example.", "SOA"))
    for i in range(3):
        gslbd.udp(dns.message.make_query(f"nx{i}.gslb.example.", "A"))
    gslbd.udp(dns.message.make_query("example.com.", "TXT"))

    status, text = get(gslbd, "/metrics")
    assert status == 200
    got = samples(text)

    def value(name: str, **labels: str) -> float:
        return got[name, tuple(sorted(labels.items()))]

    q = "gslb_queries_total"
    assert value(q, wideip="www.gslb.example.", qtype="A", rcode="NOERROR", transport="udp") == 5
    assert value(q, wideip="", qtype="SOA", rcode="NOERROR", transport="tcp") == 2
    assert value(q, wideip="", qtype="A", rcode="NXDOMAIN", transport="udp") == 3
    assert value(q, wideip="", qtype="TXT", rcode="REFUSED", transport="udp") == 1
    assert sum(v for (n, _), v in got.items() if n == q) == 11
    # The first query: rtt had no path, topology decided; then persistence.
    d = "gslb_decisions_total"
    assert value(d, wideip="www.gslb.example.", pool="web", method="topology") == 1
    assert value(d, wideip="www.gslb.example.", pool="web", method="persistence") == 4
    assert value("gslb_fallthroughs_total", pool="web", method="rtt", reason="no_path") == 1
    assert value("gslb_member_state", member="vs_tel", datacenter="TEL", state="up") == 1
    assert value("gslb_member_state", member="vs_tel", datacenter="TEL", state="down") == 0
    assert value("gslb_member_available", member="vs_cnc", datacenter="CNC") == 1
    assert value("gslb_datacenter_state", datacenter="CNC", state="up") == 1
    assert value("gslb_reloads_total", outcome="ok") == 0
    assert value("gslb_config_generation") == 1
    assert value("gslb_persistence_records") == 1
    assert value("gslb_query_duration_seconds_count") <= 11
    assert not any("127.0.0.1" in dict(labels).values() for _, labels in got)


def test_health_and_readiness(gslbd: Gslbd):
    assert get(gslbd, "/healthz") == (200, "ok\n")
    assert get(gslbd, "/readyz") == (200, "ready\n")
    assert get(gslbd, "/nosuch")[0] == 404
    assert any("listening: proto=http address=127.0.0.1 port=" in line for line in gslbd.log)
