"""Probers, one module each, registered by config name.

`[probes] protocols` names entries of `REGISTRY` (`PROBE_PROTOCOLS`), tried in order (the one
that last worked for an LDNS first). The scheduler (`scheduler.py`) decides
what is probed, when, and how much.
"""

from __future__ import annotations

from gslb.probes.base import Prober, ProbeResult
from gslb.probes.dns_dot import DnsDot
from gslb.probes.dns_rev import DnsRev
from gslb.probes.icmp import Icmp
from gslb.probes.tcp import Tcp
from gslb.probes.udp import Udp

REGISTRY: dict[str, Prober] = {p.name: p for p in (DnsDot(), DnsRev(), Udp(), Tcp(), Icmp())}
# What `[probes] protocols` may name, in registry order (also its default).
PROBE_PROTOCOLS = tuple(REGISTRY)

__all__ = ["PROBE_PROTOCOLS", "REGISTRY", "ProbeResult", "Prober"]
