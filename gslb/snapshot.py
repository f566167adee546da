"""The immutable snapshot the hot path reads, and the holder that publishes it.

A snapshot joins the compiled config (topology index, served names, the
candidates of every pool) with the current health and proximity view. The
control plane builds a new one whenever any of those change and swaps it in
with one attribute store; a query reads `holder.current` once and uses only
that object, so it never sees half of a change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gslb.algorithms import REGISTRY, ROTATING
from gslb.algorithms.base import Algorithm
from gslb.decide.topology import TopologyIndex
from gslb.dns.zone import ZoneIndex
from gslb.health import Health
from gslb.model import AAAA, A, Candidate, Config
from gslb.proximity import EMPTY, ProximityView


@dataclass(frozen=True, slots=True)
class Snapshot:
    config: Config
    generation: int
    topology: TopologyIndex
    zones: ZoneIndex
    health: Health
    proximity: ProximityView
    available: tuple[bool, ...]  # per virtual server
    members: tuple[tuple[Candidate, ...], ...]  # per pool, configured order
    members_up: tuple[tuple[Candidate, ...], ...]  # per pool, available only
    pools: tuple[dict[int, tuple[Candidate, ...]], ...]  # per wide IP: rtype -> pools
    pools_up: tuple[dict[int, tuple[Candidate, ...]], ...]  # the same, with a member up
    # Per pool: its methods as (algorithm, (pool name, method name)), the
    # second being how a fall-through is counted; looked up once, not per query.
    chains: tuple[tuple[tuple[Algorithm, tuple[str, str]], ...], ...]
    # Per wide IP: every method it can run gives the same answer to the same
    # LDNS under the same snapshot (no rotation, no chance), so replies may be
    # cached per LDNS.
    deterministic: tuple[bool, ...]
    address_rdata: tuple[bytes, ...]  # per virtual server, packed address
    path_ttl: float = 2400.0

    @classmethod
    def build(
        cls,
        config: Config,
        generation: int = 1,
        health: Health | None = None,
        proximity: ProximityView = EMPTY,
    ) -> Snapshot:
        health = health or Health.initial(config)
        ids = config.datacenter_ids or range(len(config.datacenters))
        members = tuple(
            tuple(
                Candidate(
                    m.vs,
                    config.virtual_servers[m.vs].name,
                    m.ratio,
                    config.virtual_servers[m.vs].datacenter,
                    pi,
                    ids[config.virtual_servers[m.vs].datacenter],
                )
                for m in pool.members
                if m.enabled
            )
            for pi, pool in enumerate(config.pools)
        )
        pools = tuple(
            {
                rtype: tuple(
                    Candidate(p, config.pools[p].name, config.pools[p].ratio, -1, p)
                    for p in w.pools
                    if config.pools[p].rtype == rtype
                )
                for rtype in (A, AAAA)
            }
            for w in config.wideips
        )
        snap = cls(
            config=config,
            generation=generation,
            topology=TopologyIndex(config),
            zones=ZoneIndex(config),
            health=health,
            proximity=proximity,
            available=(),
            members=members,
            members_up=(),
            pools=pools,
            pools_up=(),
            chains=tuple(
                tuple((REGISTRY[m], (p.name, m)) for m in p.methods) for p in config.pools
            ),
            deterministic=tuple(
                all(
                    m not in ROTATING
                    for p in (
                        *w.pools,
                        *(() if w.last_resort_pool is None else (w.last_resort_pool,)),
                    )
                    for m in config.pools[p].methods
                )
                and (w.pool_method not in ROTATING or len(w.pools) == 1)
                for w in config.wideips
            ),
            address_rdata=tuple(v.address.packed for v in config.virtual_servers),
            path_ttl=config.probes.path_ttl,
        )
        return snap.with_health(health)

    def with_health(self, health: Health) -> Snapshot:
        available = health.available(self.config)
        lenient = health.available(self.config, unknown_up=True) if health.unknown else available
        pools = self.config.pools
        members_up = tuple(
            tuple(
                c
                for c in ms
                if (lenient if pools[pi].available_when_unknown else available)[c.index]
            )
            for pi, ms in enumerate(self.members)
        )
        pools_up = tuple(
            {rtype: tuple(p for p in ps if members_up[p.index]) for rtype, ps in by_type.items()}
            for by_type in self.pools
        )
        return dataclasses.replace(
            self,
            health=health,
            available=available,
            members_up=members_up,
            pools_up=pools_up,
        )

    def with_proximity(self, proximity: ProximityView) -> Snapshot:
        return dataclasses.replace(self, proximity=proximity)


class SnapshotHolder:
    """Where the current snapshot is published; readers take `current` once."""

    __slots__ = ("current",)

    def __init__(self, snapshot: Snapshot) -> None:
        self.current = snapshot

    def publish(self, snapshot: Snapshot) -> None:
        self.current = snapshot
