"""Hand-built inputs for the unit tests: configs, candidates, contexts, fakes.

`ConfigBuilder` makes a `gslb.model.Config` by name without going through
`gslb.config.load()`, so these tests pin the hot path alone. Topology records
are written as the CSV line an operator would write (`dc:CNC,10.0.0.0/8,100`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import ip_address, ip_network
from random import Random

import pytest

from gslb.algorithms.base import Context
from gslb.model import (
    Candidate,
    Config,
    DataCenter,
    IPAddress,
    Persistence,
    Pool,
    PoolMember,
    Region,
    ServerSettings,
    TopologyRecord,
    VirtualServer,
    WideIP,
    address_of,
)
from gslb.proximity import Path

NOW = 1_000_000.0
LDNS = ip_address("198.51.100.7")


class FakeProximity(dict[IPAddress, dict[int, Path]]):
    """A `ProximityView`: LDNS address -> {data-center index: Path}."""

    def paths(self, key: int) -> Mapping[int, Path]:
        return self.get(address_of(key), {})

    def fresh(self, key: int, since: float, field: str) -> Mapping[int, float]:
        paths = self.paths(key)
        return {dc: getattr(p, field) for dc, p in paths.items() if p.measured_at >= since}

    def measured(self, key: int, since: float) -> bool:
        return any(p.measured_at >= since for p in self.paths(key).values())

    def best(
        self, key: int, since: float, field: str, first: Mapping[int, int], highest_first: bool
    ) -> int | None:
        values = self.fresh(key, since, field)
        ranked = sorted(
            (-v if highest_first else v, first[dc]) for dc, v in values.items() if dc in first
        )
        return ranked[0][1] if ranked else None


class FakeCursors:
    """A `Cursors` that counts per key and remembers the keys it was asked for."""

    def __init__(self) -> None:
        self.positions: dict[tuple[object, ...], int] = {}

    def advance(self, key: tuple[object, ...]) -> int:
        n = self.positions.get(key, 0)
        self.positions[key] = n + 1
        return n


def path(rtt_us: int = 10_000, hops: int = 10, completion_rate: int = 10_000, age: float = 0.0):
    """A path measured `age` seconds before NOW."""
    return Path(rtt_us, hops, completion_rate, NOW - age)


def candidates(*names: str, ratios: Iterable[int] = (), pool: int = 0) -> tuple[Candidate, ...]:
    """Member-tier candidates; the i-th stands in data center i (index i)."""
    rs = list(ratios) or [1] * len(names)
    return tuple(
        Candidate(i, n, r, i, pool) for i, (n, r) in enumerate(zip(names, rs, strict=True))
    )


def context(
    *,
    ldns: str | IPAddress = LDNS,
    scores: Mapping[str, int] | None = None,
    paths: Mapping[int, Path] | None = None,
    now: float = NOW,
    seed: int = 1,
    cursors: FakeCursors | None = None,
    pool: Pool | None = None,
    path_ttl: float = 2400.0,
) -> Context:
    """A member-tier context; `scores` is the topology score by candidate name."""
    addr = ip_address(ldns) if isinstance(ldns, str) else ldns
    table = dict(scores or {})
    return Context(
        ldns=addr,
        topology=lambda c: table.get(c.name, 0),
        proximity=FakeProximity({addr: dict(paths or {})}),
        now=now,
        rng=Random(seed),
        cursors=cursors if cursors is not None else FakeCursors(),
        path_ttl=path_ttl,
        pool=pool,
    )


def names(members: Iterable[Candidate]) -> tuple[str, ...]:
    return tuple(c.name for c in members)


def topology_record(line: str, position: int = 0) -> TopologyRecord:
    """Parse one `server,ldns,score` line of etc/topology.csv."""
    server, ldns, score = line.split(",")
    kind, _, name = server.partition(":")
    negate = ldns.startswith("!")
    ldns = ldns.removeprefix("!")
    if ldns == "any":
        ldns_kind, ldns_value = "any", ""
    elif ldns.startswith("region:"):
        ldns_kind, ldns_value = "region", ldns.removeprefix("region:")
    else:
        ldns_kind, ldns_value = "subnet", ldns
    return TopologyRecord(kind, name, ldns_kind, ldns_value, negate, int(score), position + 2)  # type: ignore[arg-type]


class ConfigBuilder:
    """Objects are named as in etc/wideips.toml and resolved to indices at build()."""

    def __init__(self) -> None:
        self._dcs: list[DataCenter] = []
        self._vs: list[tuple[str, str, str, int, bool]] = []
        self._pools: list[tuple[str, list[tuple[str, int, bool]], dict[str, object]]] = []
        self._wideips: list[tuple[str, list[str], str | None, dict[str, object]]] = []
        self._regions: list[tuple[str, dict[str, tuple[str, ...]]]] = []
        self._topology: list[str] = []

    def dc(self, *names: str, enabled: bool = True) -> ConfigBuilder:
        self._dcs.extend(DataCenter(n, enabled=enabled) for n in names)
        return self

    def vs(
        self, name: str, address: str, dc: str, *, ratio: int = 1, enabled: bool = True
    ) -> ConfigBuilder:
        self._vs.append((name, address, dc, ratio, enabled))
        return self

    def pool(
        self,
        name: str,
        members: Iterable[str | tuple[str, int] | tuple[str, int, bool]],
        **fields: object,
    ) -> ConfigBuilder:
        """members: "vs", ("vs", ratio) or ("vs", ratio, enabled); fields: Pool's."""
        ms = []
        for m in members:
            t = (m,) if isinstance(m, str) else m
            ms.append((t[0], t[1] if len(t) > 1 else 1, t[2] if len(t) > 2 else True))
        self._pools.append((name, ms, fields))
        return self

    def wideip(
        self,
        name: str,
        pools: Iterable[str],
        *,
        last_resort_pool: str | None = None,
        persistence: Persistence | None = None,
        **fields: object,
    ) -> ConfigBuilder:
        fields["persistence"] = persistence
        self._wideips.append((name, list(pools), last_resort_pool, fields))
        return self

    def region(self, name: str, **members: tuple[str, ...]) -> ConfigBuilder:
        """members: subnets, regions, datacenters, pools, virtual_servers (by name)."""
        self._regions.append((name, members))
        return self

    def topology(self, *lines: str) -> ConfigBuilder:
        self._topology.extend(lines)
        return self

    def build(self) -> Config:
        dc = {d.name: i for i, d in enumerate(self._dcs)}
        vs = {v[0]: i for i, v in enumerate(self._vs)}
        pool = {p[0]: i for i, p in enumerate(self._pools)}
        return Config(
            source="<tests>",
            server=ServerSettings(),
            datacenters=tuple(self._dcs),
            virtual_servers=tuple(
                VirtualServer(n, ip_address(a), 80, dc[d], (), r, e) for n, a, d, r, e in self._vs
            ),
            pools=tuple(
                Pool(
                    name,
                    tuple(PoolMember(vs[m], r, i, e) for i, (m, r, e) in enumerate(ms)),
                    **fields,  # type: ignore[arg-type]
                )
                for name, ms, fields in self._pools
            ),
            wideips=tuple(
                WideIP(
                    name,
                    pools=tuple(pool[p] for p in ps),
                    last_resort_pool=None if last is None else pool[last],
                    **fields,  # type: ignore[arg-type]
                )
                for name, ps, last, fields in self._wideips
            ),
            regions=tuple(
                Region(
                    name,
                    subnets=tuple(ip_network(s) for s in m.get("subnets", ())),
                    regions=tuple(m.get("regions", ())),
                    datacenters=tuple(dc[d] for d in m.get("datacenters", ())),
                    pools=tuple(pool[p] for p in m.get("pools", ())),
                    virtual_servers=tuple(vs[v] for v in m.get("virtual_servers", ())),
                )
                for name, m in self._regions
            ),
            topology=tuple(topology_record(line, i) for i, line in enumerate(self._topology)),
            zones=(),
        )


def member(config: Config, pool: str, vs: str) -> Candidate:
    """The member-tier candidate of `vs` in `pool`, as the snapshot builds it."""
    pi = next(i for i, p in enumerate(config.pools) if p.name == pool)
    vi = next(i for i, v in enumerate(config.virtual_servers) if v.name == vs)
    m = next(m for m in config.pools[pi].members if m.vs == vi)
    return Candidate(vi, vs, m.ratio, config.virtual_servers[vi].datacenter, pi)


def pool_candidate(config: Config, pool: str) -> Candidate:
    """The pool-tier candidate of `pool`."""
    pi = next(i for i, p in enumerate(config.pools) if p.name == pool)
    return Candidate(pi, pool, config.pools[pi].ratio, -1, pi)


# Path tables for which every dynamic method must be unsuccessful (with the
# candidates a, b, c in data centers 0, 1, 2 and the default path TTL of 2400 s).
NO_FRESH_PATHS = [
    pytest.param({}, id="no-path"),
    pytest.param({0: path(age=2401), 1: path(age=86_400)}, id="only-stale"),
    pytest.param({0: path(age=2400.001)}, id="just-stale"),
    pytest.param({7: path()}, id="other-datacenter"),
]
