"""Health monitors, one module per type, registered by their `type` word.

A `[[monitor]]` table's `type` names an entry of `REGISTRY`; its other
fields beyond the common ones (interval, timeout, rise, fall, port) are
validated by that monitor's `settings` model.
"""

from __future__ import annotations

from gslb.monitors.base import Monitor
from gslb.monitors.dns import DnsMonitor
from gslb.monitors.external import ExternalMonitor
from gslb.monitors.http import HttpMonitor, HttpsMonitor
from gslb.monitors.icmp import IcmpMonitor
from gslb.monitors.tcp import TcpMonitor
from gslb.monitors.udp import UdpMonitor

REGISTRY: dict[str, Monitor] = {
    m.name: m
    for m in (
        TcpMonitor(),
        HttpMonitor(),
        HttpsMonitor(),
        UdpMonitor(),
        IcmpMonitor(),
        DnsMonitor(),
        ExternalMonitor(),
    )
}
