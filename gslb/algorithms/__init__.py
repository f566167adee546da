"""Load-balancing methods, one module each, registered by config name.

A pool's `methods` list names entries of `REGISTRY`; the wide IP's
`pool_method` names one of `POOL_METHODS`. What a method is (dynamic,
rotating, a pool method ...) its class says (`base.Algorithm`); the sets
below are derived from the registry, never kept by hand. Adding a method
touches its module, one line here and its tests.
"""

from __future__ import annotations

from gslb.algorithms.base import Algorithm
from gslb.algorithms.completion_rate import CompletionRate
from gslb.algorithms.global_availability import GlobalAvailability
from gslb.algorithms.hops import Hops
from gslb.algorithms.qos import Qos
from gslb.algorithms.random import RandomMethod
from gslb.algorithms.ratio import Ratio
from gslb.algorithms.round_robin import RoundRobin
from gslb.algorithms.rtt import Rtt
from gslb.algorithms.static_persist import StaticPersist
from gslb.algorithms.terminal import DropPacket, FallbackIp, NoMethod, ReturnToDns
from gslb.algorithms.topology import Topology

REGISTRY: dict[str, Algorithm] = {
    a.name: a
    for a in (
        GlobalAvailability(),
        Ratio(),
        RoundRobin(),
        Topology(),
        RandomMethod(),
        StaticPersist(),
        Rtt(),
        Hops(),
        CompletionRate(),
        Qos(),
        ReturnToDns(),
        DropPacket(),
        FallbackIp(),
        NoMethod(),
    )
}

# Methods that read proximity: unsuccessful without fresh path data.
DYNAMIC = frozenset(name for name, a in REGISTRY.items() if a.dynamic)
# Methods whose answer to the same query may change from one query to the next.
ROTATING = frozenset(name for name, a in REGISTRY.items() if a.rotating)
# What a wide IP's `pool_method` may name, in registry order.
POOL_METHODS = tuple(name for name, a in REGISTRY.items() if a.pool_method)
