"""The compiler: a schema-valid document -> `gslb.model.Config`.

Everything that needs more than one table is checked here: unique names,
references between objects, address families, method names, region cycles,
and where wide IPs sit in the zones. Names become indices as they are
checked, so the hot path never looks a name up. Every problem is collected;
the caller raises them together.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from ipaddress import IPv4Address

from gslb.algorithms import REGISTRY as METHODS
from gslb.config import schema
from gslb.config.anycast import compile_anycast
from gslb.config.group import TOKEN, TOKEN_RULE, bad_server_url, default_node
from gslb.config.monitors import check_link, compile_monitors, quorum
from gslb.config.source import FieldPath, TomlSource, dotted
from gslb.config.topology_csv import parse_subnet
from gslb.config.zonefile import CNAME, DNAME, NS, absolute_name, check_name, in_zone
from gslb.errors import Problem, Problems
from gslb.model import (
    AAAA,
    A,
    Config,
    ControlSettings,
    DataCenter,
    IPAddress,
    IPNetwork,
    LogSettings,
    Persistence,
    Pool,
    PoolMember,
    ProbeSettings,
    Region,
    ServerSettings,
    SyncSettings,
    TopologyRecord,
    VirtualServer,
    WideIP,
    Zone,
)
from gslb.probes import REGISTRY as PROBERS

_RTYPES = {"A": A, "AAAA": AAAA}
_FAMILY = {A: 4, AAAA: 6}
_MISSING = -1  # index of an unknown name; the config is never returned then
_KIND_WORDS = {"dc": "datacenter", "pool": "pool", "vs": "virtual_server", "region": "region"}
_REGION_MEMBERS = "a subnet, region:NAME, dc:NAME, pool:NAME or vs:NAME"


def under(directory: str, path: str) -> str:
    """A configured path: relative ones are relative to the config directory,
    so gslbd finds its files wherever it is started from; "" stays "" (off)."""
    return path if not path or os.path.isabs(path) else os.path.join(directory, path)


class Compiler:
    def __init__(self, source: TomlSource, doc: schema.Document) -> None:
        self.source = source
        self.doc = doc
        self.problems = Problems()
        self.warnings: list[str] = []

    def problem(self, path: FieldPath, value: object, message: str) -> None:
        self.problems.append(self.source.problem(path, value, message))

    def index(self, kind: str, names: Sequence[str]) -> dict[str, int]:
        """Name -> index for one kind of object; duplicates are problems."""
        found: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in found:
                first = self.source.line((kind, found[name], "name"))
                self.problem(
                    (kind, i, "name"), name, f"duplicate {kind} name (first at line {first})"
                )
            else:
                found[name] = i
        return found

    def ref(self, names: dict[str, int], kind: str, name: str, path: FieldPath) -> int:
        if name in names:
            return names[name]
        self.problem(path, name, f"unknown {kind}")
        return _MISSING

    def compile(
        self,
        directory: str,
        topology_file: str,
        topology: Sequence[TopologyRecord],
        zones: Sequence[Zone],
    ) -> Config:
        doc = self.doc
        self.index("zone", [z.origin for z in zones])
        dcs = self.index("datacenter", [d.name for d in doc.datacenter])
        vss = self.index("virtual_server", [v.name for v in doc.virtual_server])
        pools = self.index("pool", [p.name for p in doc.pool])
        regions = self.index("region", [r.name for r in doc.region])
        monitor_names = set(self.index("monitor", [m.name for m in doc.monitor]))
        monitors = compile_monitors(doc.monitor, self.problem)
        for i, d in enumerate(doc.datacenter):
            check_link(i, d, monitor_names, self.problem)
        virtual_servers = tuple(
            self.virtual_server(i, v, dcs, quorum(i, v, monitor_names, self.problem))
            for i, v in enumerate(doc.virtual_server)
        )
        compiled_pools = tuple(
            self.pool(i, p, vss, virtual_servers) for i, p in enumerate(doc.pool)
        )
        wideips = tuple(self.wideip(i, w, pools) for i, w in enumerate(doc.wideip))
        self.check_wideip_names(wideips, zones)
        self.warn_unused_pools(wideips)
        tables = {"dc": dcs, "pool": pools, "vs": vss, "region": regions}
        compiled_regions = tuple(self.region(i, r, tables) for i, r in enumerate(doc.region))
        self.check_region_cycles(compiled_regions, regions)
        self.check_topology(topology_file, topology, tables)
        return Config(
            source=directory,
            server=self.server(doc.server),
            datacenters=tuple(
                DataCenter(d.name, d.probe_source, d.enabled, d.link_monitor, d.link_address)
                for d in doc.datacenter
            ),
            virtual_servers=virtual_servers,
            pools=compiled_pools,
            wideips=wideips,
            regions=compiled_regions,
            topology=tuple(topology),
            zones=tuple(zones),
            warnings=tuple(self.warnings),
            monitors=monitors,
            control=self.control(doc.control, directory),
            probes=self.probes(doc.probes, dcs, directory),
            log=LogSettings(doc.log.level, doc.log.format, doc.log.timestamps),
            sync=None if doc.sync is None else self.sync(doc.sync),
            anycast=compile_anycast(
                doc.anycast, doc.server.listen, zones, self.problem, partial(under, directory)
            ),
        )

    @staticmethod
    def server(s: schema.Server) -> ServerSettings:
        return ServerSettings(
            listen=tuple(s.listen),
            edns_buffer_size=s.edns_buffer_size,
            tcp_idle_timeout=s.tcp_idle_timeout,
            tcp_max_connections=s.tcp_max_connections,
            tcp_max_connections_per_client=s.tcp_max_connections_per_client,
            udp_receive_buffer=s.udp_receive_buffer,
            max_file_size=s.max_file_size,
            nsid=s.nsid.encode() if s.nsid is not None else None,
            workers=s.workers,
            worker_report_interval=s.worker_report_interval,
            persistence_max_entries=s.persistence_max_entries,
            rrl_responses_per_second=s.rrl.responses_per_second,
            rrl_slip=s.rrl.slip,
        )

    def probes(self, p: schema.Probes, dcs: dict[str, int], directory: str) -> ProbeSettings:
        known = frozenset(PROBERS)
        listed = ", ".join(sorted(known))
        for k, name in enumerate(p.protocols):
            if name not in known:
                self.problem(("probes", "protocols", k), name, f"unknown protocol; known: {listed}")
        for name in p.ports:
            if name not in known:
                self.problem(("probes", "ports", name), name, f"unknown protocol; known: {listed}")
        datacenters = None
        if p.datacenters is not None:
            datacenters = tuple(
                self.ref(dcs, "datacenter", name, ("probes", "datacenters", k))
                for k, name in enumerate(p.datacenters)
            )
        return ProbeSettings(
            protocols=tuple(p.protocols),
            timeout=p.timeout,
            interval=p.interval,
            path_ttl=p.path_ttl,
            ldns_ttl=p.ldns_ttl,
            max_entries=p.max_entries,
            concurrency=p.concurrency,
            rate=p.rate,
            queue_size=p.queue_size,
            backoff_max=p.backoff_max,
            keys_per_target=p.keys_per_target,
            allow=self.networks("allow", p.allow),
            deny=self.networks("deny", p.deny),
            port=p.port,
            ports=tuple(p.ports.items()),
            datacenters=datacenters,
            state_file=under(directory, p.state_file),
            save_interval=p.save_interval,
        )

    def sync(self, s: schema.Sync) -> SyncSettings:
        # Node and data-center names become NATS subject tokens (gslb/sync/).
        for k, url in enumerate(s.servers):
            reason = bad_server_url(url)
            if reason:
                self.problem(("sync", "servers", k), url, reason)
        node = s.node if s.node is not None else default_node()
        if not TOKEN.fullmatch(node):
            self.problem(("sync", "node"), node, TOKEN_RULE)
        for i, d in enumerate(self.doc.datacenter):
            if not TOKEN.fullmatch(d.name):
                self.problem(("datacenter", i, "name"), d.name, f"with [sync]: {TOKEN_RULE}")
        return SyncSettings(
            servers=tuple(s.servers),
            node=node,
            replicas=s.replicas,
            publish_interval=s.publish_interval,
            heartbeat=s.heartbeat,
            stale_after=s.stale_after,
            checkpoint_changes=s.checkpoint_changes,
            checkpoint_age=s.checkpoint_age,
        )

    def networks(self, key: str, texts: Sequence[str]) -> tuple[IPNetwork, ...]:
        found: list[IPNetwork] = []
        for k, text in enumerate(texts):
            try:
                found.append(parse_subnet(text))
            except ValueError as exc:
                self.problem(("probes", key, k), text, str(exc))
        return tuple(found)

    @staticmethod
    def control(c: schema.Control, directory: str) -> ControlSettings:
        return ControlSettings(
            under(directory, c.socket),
            c.socket_mode,
            c.http,
            under(directory, c.state_dir),
            c.monitor_concurrency,
        )

    def virtual_server(
        self, i: int, v: schema.VirtualServer, dcs: dict[str, int], quorum: int = 0
    ) -> VirtualServer:
        dc = self.ref(dcs, "datacenter", v.datacenter, ("virtual_server", i, "datacenter"))
        return VirtualServer(
            v.name, v.address, v.port, dc, tuple(v.monitors), v.ratio, v.enabled, quorum
        )

    def pool(
        self,
        i: int,
        p: schema.Pool,
        vss: dict[str, int],
        virtual_servers: Sequence[VirtualServer],
    ) -> Pool:
        rtype = _RTYPES[p.rtype]
        members: list[PoolMember] = []
        for j, m in enumerate(p.members):
            path = ("pool", i, "members", j)
            vs = self.ref(vss, "virtual_server", m.vs, path)
            if vs != _MISSING and any(seen.vs == vs for seen in members):
                self.problem(path, m.vs, "virtual server listed twice in the pool")
            elif vs != _MISSING:
                self.check_family(path, m.vs, virtual_servers[vs].address, p.rtype)
            members.append(PoolMember(vs, m.ratio, m.order, m.enabled))
        self.check_methods(i, p)
        if p.fallback_ip is not None:
            self.check_family(
                ("pool", i, "fallback_ip"), str(p.fallback_ip), p.fallback_ip, p.rtype
            )
        return Pool(
            name=p.name,
            # sorted() is stable: equal orders keep the written order.
            members=tuple(sorted(members, key=lambda m: m.order)),
            methods=tuple(p.methods),
            ttl=p.ttl,
            max_answers=p.max_answers,
            fallback_ip=p.fallback_ip,
            rtype=rtype,
            fail_closed=p.fail_closed,
            ratio=p.ratio,
            persist_cidr_v4=p.persist_cidr_v4,
            persist_cidr_v6=p.persist_cidr_v6,
            qos=tuple(p.qos.items()),
            available_when_unknown=p.available_when_unknown,
        )

    def check_family(self, path: FieldPath, value: str, address: IPAddress, rtype: str) -> None:
        family = 4 if isinstance(address, IPv4Address) else 6
        if family != _FAMILY[_RTYPES[rtype]]:
            self.problem(path, value, f"IPv{family} address {address} in a pool of type {rtype}")

    def check_methods(self, i: int, p: schema.Pool) -> None:
        known = frozenset(METHODS)
        for k, method in enumerate(p.methods):
            path = ("pool", i, "methods", k)
            if method not in known:
                self.problem(path, method, f"unknown method; known: {', '.join(sorted(known))}")
            elif METHODS[method].needs_fallback_ip and p.fallback_ip is None:
                self.problem(path, method, f"method {method} needs the pool's fallback_ip")

    def wideip(self, i: int, w: schema.WideIP, pools: dict[str, int]) -> WideIP:
        indices = tuple(
            self.ref(pools, "pool", name, ("wideip", i, "pools", k))
            for k, name in enumerate(w.pools)
        )
        last_resort = None
        if w.last_resort_pool is not None:
            last_resort = self.ref(
                pools, "pool", w.last_resort_pool, ("wideip", i, "last_resort_pool")
            )
        persistence = None
        if w.persistence is not None:
            p = w.persistence
            persistence = Persistence(p.ttl, p.cidr_v4, p.cidr_v6)
        return WideIP(
            name=absolute_name(w.name),
            aliases=tuple(absolute_name(a) for a in w.aliases),
            pools=indices,
            pool_method=w.pool_method,
            persistence=persistence,
            last_resort_pool=last_resort,
            ecs=w.ecs,
        )

    def check_wideip_names(self, wideips: Sequence[WideIP], zones: Sequence[Zone]) -> None:
        first: dict[str, FieldPath] = {}
        for i, w in enumerate(wideips):
            named: list[tuple[FieldPath, str]] = [(("wideip", i, "name"), w.name)]
            named += [(("wideip", i, "aliases", k), a) for k, a in enumerate(w.aliases)]
            for path, name in named:
                if name in first:
                    where = dotted(first[name])
                    self.problem(path, name, f"name already used by {where}")
                    continue
                first[name] = path
                self.check_wideip_name(path, name, zones)

    def check_wideip_name(self, path: FieldPath, name: str, zones: Sequence[Zone]) -> None:
        problem = check_name(name)
        if problem is not None:
            self.problem(path, name, f"bad name: {problem}")
            return
        containing = [z for z in zones if in_zone(name, z.origin)]
        if not containing:
            self.problem(path, name, "name is in no configured zone")
            return
        zone = max(containing, key=lambda z: len(z.origin))
        for record in zone.records:
            if record.name == name and record.rtype == CNAME:
                self.problem(
                    path, name, f"the zone has a CNAME at this name ({record.file}:{record.line})"
                )
            elif record.rtype == NS and record.name != zone.origin and in_zone(name, record.name):
                self.problem(path, name, f"name is below the delegation {record.name}")
                return
            elif record.rtype == DNAME and record.name != name and in_zone(name, record.name):
                self.problem(path, name, f"name is below the DNAME at {record.name}")
                return

    def warn_unused_pools(self, wideips: Sequence[WideIP]) -> None:
        used = {i for w in wideips for i in w.pools}
        used |= {w.last_resort_pool for w in wideips if w.last_resort_pool is not None}
        for i, p in enumerate(self.doc.pool):
            if i not in used:
                problem = self.source.problem(("pool", i), p.name, "pool is used by no wide IP")
                self.warnings.append(str(problem))

    def region(self, i: int, r: schema.Region, tables: dict[str, dict[str, int]]) -> Region:
        subnets: list[IPNetwork] = []
        nested: list[str] = []
        members: dict[str, list[int]] = {"dc": [], "pool": [], "vs": []}
        for k, member in enumerate(r.members):
            path = ("region", i, "members", k)
            kind, _, name = member.partition(":")
            if kind == "region":
                self.ref(tables[kind], _KIND_WORDS[kind], name, path)
                nested.append(name)
            elif kind in members:
                members[kind].append(self.ref(tables[kind], _KIND_WORDS[kind], name, path))
            else:
                try:
                    subnets.append(parse_subnet(member, _REGION_MEMBERS))
                except ValueError as exc:
                    self.problem(path, member, str(exc))
        return Region(
            name=r.name,
            subnets=tuple(subnets),
            regions=tuple(nested),
            datacenters=tuple(members["dc"]),
            pools=tuple(members["pool"]),
            virtual_servers=tuple(members["vs"]),
        )

    def check_topology(
        self, file: str, records: Sequence[TopologyRecord], tables: dict[str, dict[str, int]]
    ) -> None:
        for r in records:
            if r.server not in tables[r.server_kind]:
                value = f"{r.server_kind}:{r.server}"
                message = f"unknown {_KIND_WORDS[r.server_kind]}"
                self.problems.append(Problem(file, r.line, "server", value, message))
            if r.ldns_kind == "region" and r.ldns not in tables["region"]:
                value = f"region:{r.ldns}"
                self.problems.append(Problem(file, r.line, "ldns", value, "unknown region"))

    def check_region_cycles(self, regions: Sequence[Region], names: dict[str, int]) -> None:
        reported: set[frozenset[str]] = set()

        def visit(name: str, stack: list[str]) -> None:
            if name in stack:
                cycle = [*stack[stack.index(name) :], name]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    i = names[cycle[0]]
                    self.problem(
                        ("region", i, "members"), None, "region cycle: " + " -> ".join(cycle)
                    )
                return
            for nested in regions[names[name]].regions:
                if nested in names:
                    visit(nested, [*stack, name])

        for region in regions:
            visit(region.name, [])
