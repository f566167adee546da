"""LDNS table entries as the operator sees them: JSON-able dicts shaped like
3-DNS's `ldns { ... }`, and that text form (`gslbctl show ldns [IP]`):

    ldns { address 61.136.178.229  ttl 2419199  probe_protocol tcp
      path { datacenter "CNC" cur_rtt 189850 cur_hops 0 cur_completion_rate 10000 }
      path { datacenter "TEL" cur_rtt 57209 cur_hops 0 cur_completion_rate 10000 } }

`ttl` is what is left of the LDNS TTL (seconds until the entry is forgotten
without another query); RTT is in microseconds, the completion rate in
hundredths of a percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gslb.model import IPAddress
from gslb.proximity import LdnsEntry, unpack


def entry_dict(
    address: IPAddress,
    entry: LdnsEntry,
    datacenters: Sequence[str],
    now: float,
    ldns_ttl: float,
    path_ttl: float,
) -> dict[str, Any]:
    return {
        "address": str(address),
        "ttl": max(0, int(entry.last_seen + ldns_ttl - now)),
        "probe_protocol": entry.protocol or "none",
        "probe_target": str(entry.target or address),
        "first_seen": entry.first_seen,
        "last_seen": entry.last_seen,
        "queries": entry.queries,
        "failures": entry.failures,
        "next_probe": entry.next_probe,
        "paths": [
            {
                "datacenter": datacenters[p.datacenter]
                if p.datacenter < len(datacenters)
                else str(p.datacenter),
                "cur_rtt": p.rtt_us,
                "cur_hops": p.hops,
                "cur_completion_rate": p.completion_rate,
                "protocol": p.protocol or "none",
                "measured_at": p.measured_at,
                "probed_at": p.probed_at,
                "failures": p.failures,
                "fresh": bool(p.measured_at) and p.measured_at >= now - path_ttl,
            }
            for p in unpack(entry.paths)
            if p.datacenter >= len(datacenters) or datacenters[p.datacenter]  # "": removed
        ],
    }


def format_entry(entry: Mapping[str, Any]) -> str:
    """One entry (as `entry_dict` makes it) in 3-DNS's text form."""
    head = (
        f"ldns {{ address {entry['address']}  ttl {entry['ttl']}  "
        f"probe_protocol {entry['probe_protocol']}"
    )
    paths = [
        f'  path {{ datacenter "{p["datacenter"]}" cur_rtt {p["cur_rtt"]} '
        f"cur_hops {p['cur_hops']} cur_completion_rate {p['cur_completion_rate']} }}"
        for p in entry["paths"]
    ]
    return "\n".join([head, *paths]) + " }"
