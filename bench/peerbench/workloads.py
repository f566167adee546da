"""What dnsperf asks, per workload.

- `mix`: bench/queries.txt from one address (half the wide IP, 30 % static
  names, 20 % NXDOMAIN): after its first query each second a wide-IP answer
  comes from gslbd's reply cache.
- `cold`: the wide IP only, each query with a distinct EDNS Client Subnet
  /24 (`ecsload`) that gslbd has never seen: `rtt` has no path and falls
  through, `topology` decides, and the subnet is offered to the probe
  scheduler (which admits at most `keys_per_target` of them per interval:
  they all name 127.0.0.1 as their resolver).
- `warm`: the same stream, every subnet already in gslbd's LDNS table (the
  state file pre-filled) with fresh paths: `rtt` decides.

The peers have no state to warm: for them cold and warm are one load, run
twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    queries: Path  # dnsperf's input
    binary: bool = False  # dnsperf -B: a pre-built query stream
    nxdomain_share: float = 0.0  # expected, checked on every run
    warm_subnets: Sequence[int] = ()  # pre-loaded into gslbd's LDNS table


NAMES = ("mix", "cold", "warm")
