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
# Each protocol's stable number: a path's protocol byte in the LDNS table and
# in the sync group's messages (gslb/sync/paths.py), read by nodes of other
# versions. Never renumber one; a new prober takes the next free number.
PROTOCOL_CODES = {"dns_dot": 1, "dns_rev": 2, "udp": 3, "tcp": 4, "icmp": 5}
# Code -> name; 0: none yet.
_BY_CODE = {code: name for name, code in PROTOCOL_CODES.items()}
PROTOCOL_NAMES = tuple(_BY_CODE.get(code, "") for code in range(max(_BY_CODE) + 1))

__all__ = [
    "PROBE_PROTOCOLS",
    "PROTOCOL_CODES",
    "PROTOCOL_NAMES",
    "REGISTRY",
    "ProbeResult",
    "Prober",
]
