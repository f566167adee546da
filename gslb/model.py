"""Frozen data: the compiled objects of a configuration.

Names are resolved to indices at load time; the hot path only ever sees
indices into the tuples of `Config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from socket import AF_INET, AF_INET6, inet_pton
from typing import Final, Literal

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# An LDNS (or ECS subnet) on the query path is an int key, not an address
# object: an IPv4 address is its int, an IPv6 address its int with bit 128 set
# (so ::a and 0.0.0.10 differ). Making an IPv4Address from text costs as much
# as a whole decision; ints hash and compare in C.
V6: Final = 1 << 128


def key_of(address: IPAddress) -> int:
    return int(address) | V6 if address.version == 6 else int(address)


def address_of(key: int) -> IPAddress:
    return IPv6Address(key ^ V6) if key & V6 else IPv4Address(key)


def key_of_text(text: str) -> int:
    """The key of an address as a socket reports it ("192.0.2.1", "2001:db8::1")."""
    try:
        if ":" in text:
            return int.from_bytes(inet_pton(AF_INET6, text), "big") | V6
        return int.from_bytes(inet_pton(AF_INET, text), "big")
    except OSError:  # a scoped address (fe80::1%eth0); anything else raises ValueError
        return key_of(ip_address(text))


A: Final = 1
AAAA: Final = 28


@dataclass(frozen=True, slots=True)
class DataCenter:
    name: str
    probe_source: IPAddress | None = None
    enabled: bool = True
    link_monitor: str | None = None  # a Config.monitors name: checks link_address
    link_address: IPAddress | None = None  # e.g. the ISP gateway of this link


@dataclass(frozen=True, slots=True)
class VirtualServer:
    name: str
    address: IPAddress
    port: int
    datacenter: int  # index into Config.datacenters
    monitors: tuple[str, ...] = ()  # Config.monitors names
    ratio: int = 1
    enabled: bool = True
    monitor_quorum: int = 0  # monitors that must say up; 0 = all of them


@dataclass(frozen=True, slots=True)
class PoolMember:
    vs: int  # index into Config.virtual_servers
    ratio: int = 1
    order: int = 0
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Pool:
    name: str
    members: tuple[PoolMember, ...]  # sorted by order, then as written
    methods: tuple[str, ...] = ("global_availability",)
    ttl: int = 30
    max_answers: int = 1
    fallback_ip: IPAddress | None = None
    rtype: int = A  # A or AAAA
    fail_closed: bool = False
    ratio: int = 1  # weight when the wide IP's pool_method is `ratio`
    persist_cidr_v4: int = 32  # static_persist: how much of the LDNS is hashed
    persist_cidr_v6: int = 128
    qos: tuple[tuple[str, float], ...] = ()  # qos coefficient overrides
    # A member whose monitors have not concluded yet (state unknown) is
    # handed out only when this is true.
    available_when_unknown: bool = False


@dataclass(frozen=True, slots=True)
class Persistence:
    ttl: int
    cidr_v4: int = 32
    cidr_v6: int = 128


@dataclass(frozen=True, slots=True)
class WideIP:
    name: str  # absolute, lower case, trailing dot
    aliases: tuple[str, ...] = ()  # absolute names; may start with "*."
    pools: tuple[int, ...] = ()  # indices into Config.pools, in configured order
    pool_method: str = "global_availability"
    persistence: Persistence | None = None
    last_resort_pool: int | None = None
    ecs: bool = True


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    subnets: tuple[IPNetwork, ...] = ()
    regions: tuple[str, ...] = ()  # nested region names (no cycles)
    # Server-side members, used when the region stands on the server side of
    # a topology record.
    datacenters: tuple[int, ...] = ()
    pools: tuple[int, ...] = ()
    virtual_servers: tuple[int, ...] = ()


ServerKind = Literal["dc", "pool", "vs", "region"]
LdnsKind = Literal["subnet", "region", "any"]


@dataclass(frozen=True, slots=True)
class TopologyRecord:
    server_kind: ServerKind
    server: str  # object name
    ldns_kind: LdnsKind
    ldns: str  # subnet text, region name, or "" for any
    negate: bool
    score: int
    line: int = 0


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record of a static zone; rdata is uncompressed wire."""

    name: str  # absolute, lower case, trailing dot
    rtype: int
    ttl: int
    rdata: bytes
    line: int = 0
    file: str = ""  # the zone file, or the file it $INCLUDEs, the record is written in


@dataclass(frozen=True, slots=True)
class Zone:
    origin: str  # absolute, lower case, trailing dot
    file: str
    records: tuple[Record, ...]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    listen: tuple[tuple[str, int], ...] = (("127.0.0.1", 5300),)
    edns_buffer_size: int = 1232
    tcp_idle_timeout: float = 10.0
    tcp_max_connections: int = 256
    tcp_max_connections_per_client: int = 16  # open TCP connections of one client address
    udp_receive_buffer: int = 4 * 1024 * 1024  # SO_RCVBUF of UDP sockets; 0 = kernel default
    max_file_size: int = 64 * 1024 * 1024  # bytes; topology.csv and zone files
    nsid: bytes | None = None
    workers: int = 1  # > 1: worker processes share the listeners (gslb/server/supervisor.py)
    worker_report_interval: float = 1.0  # seconds between a worker's counts to the parent
    persistence_max_entries: int = 100_000
    rrl_responses_per_second: int = 0  # 0 = response rate limiting off
    rrl_slip: int = 2


LOOPBACK: tuple[IPNetwork, ...] = (ip_network("127.0.0.0/8"), ip_network("::1/128"))


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """`[probes]`: how the LDNS table is filled (see gslb/probes/scheduler.py)."""

    # Tried in order, the last that worked first; () = every prober of
    # gslb.probes.REGISTRY in its order (what the config schema defaults to).
    protocols: tuple[str, ...] = ()
    timeout: float = 2.0  # seconds per probe
    interval: float = 600.0  # re-probe an LDNS that keeps querying this often
    path_ttl: float = 2400.0  # a path older than this is stale for the dynamic methods
    ldns_ttl: float = 2_419_200.0  # forget an LDNS after this long without a query
    max_entries: int = 100_000  # LDNS table size; the least recently seen is evicted
    concurrency: int = 128  # LDNS probed at once (each from every vantage point)
    # probes (packets) per second, paced: 1,000 LDNS x 3 data centers in ~10 s
    rate: float = 300.0
    queue_size: int = 10_000  # LDNS waiting to be probed; more are dropped and counted
    backoff_max: float = 3600.0  # cap of the exponential back-off of an LDNS that fails
    # LDNS table entries one probe target (a resolver, for ECS subnets) may
    # create per `interval`; more are dropped, so it cannot evict the others
    keys_per_target: int = 256
    allow: tuple[IPNetwork, ...] = LOOPBACK  # only these may be probed
    deny: tuple[IPNetwork, ...] = ()  # never these, even when allowed
    port: int = 53  # target port of every protocol (a resolver listens on 53)
    ports: tuple[tuple[str, int], ...] = ()  # per-protocol overrides: (("udp", 33434),)
    datacenters: tuple[int, ...] | None = None  # probe for these; None: every probe_source
    state_file: str = "var/ldns.json"  # relative to the config directory; "" = not saved
    save_interval: float = 300.0  # seconds between saves of the table (and one on stop)

    def port_for(self, protocol: str) -> int:
        return dict(self.ports).get(protocol, self.port)


@dataclass(frozen=True, slots=True)
class Monitor:
    """`[[monitor]]`: a health check, run by gslb.monitors.REGISTRY[type]."""

    name: str
    type: str
    interval: float = 10.0  # seconds between checks
    timeout: float = 5.0  # seconds a check may take
    rise: int = 2  # consecutive successes that bring a down target up
    fall: int = 2  # consecutive failures that bring an up target down
    port: int | None = None  # None: the member's port
    spec: object = None  # the type's own fields, validated by its `settings` model


@dataclass(frozen=True, slots=True)
class ControlSettings:
    """`[control]`: the operator's side. Paths are relative to the config directory."""

    socket: str = "run/gslb.sock"  # gslbctl's Unix socket
    socket_mode: int = 0o600
    http: tuple[str, int] | None = ("127.0.0.1", 9300)  # /metrics /healthz /readyz
    state_dir: str = "var"  # saved health and admin state
    monitor_concurrency: int = 32  # checks in flight at once


ROUTINGS = ("shell", "frr_ospf", "bird", "exabgp")


@dataclass(frozen=True, slots=True)
class AnycastPrefix:
    """One announced prefix and where the gate asks gslbd (a `[server] listen` inside it)."""

    prefix: IPNetwork
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class AnycastSettings:
    """`[anycast]`: the gate beside gslbd (gslb/anycast/). Paths are relative to
    the config directory, like `[control]`'s."""

    prefixes: tuple[AnycastPrefix, ...]
    routing: str = "shell"  # one of ROUTINGS: how a prefix is announced and withdrawn
    announce: str = ""  # routing = "shell": commands run by `sh -c`, {prefix} replaced
    withdraw: str = ""
    ospf_area: str = "0.0.0.0"  # routing = "frr_ospf"
    vtysh: tuple[str, ...] = ("vtysh",)  # its argv, e.g. ("vtysh", "--vty_socket", DIR)
    bird_protocol: str = ""  # routing = "bird": the protocol enabled and disabled
    birdc: tuple[str, ...] = ("birdc",)  # its argv, e.g. ("birdc", "-s", SOCKET)
    check_zone: str = ""  # the zone whose SOA the gate asks; the first [[zone]] by default
    interval: float = 0.25  # seconds between checks of one prefix
    timeout: float = 0.25  # seconds a check may take
    rise: int = 2  # consecutive answers before announcing
    fall: int = 2  # consecutive failures before withdrawing
    command_timeout: float = 5.0  # seconds an announce/withdraw command may take
    # re-run the current command this often (the routing daemon may have restarted); 0 = never
    reassert: float = 10.0
    drain_file: str = ""  # while it exists: withdraw, go on answering
    shutdown_drain: float = 2.0  # gslbd answers this long after SIGTERM, its prefixes withdrawn
    stopping_file: str = "run/gslbd.stopping"  # gslbd -> gate: "I am stopping" (pid, until)
    state_file: str = "run/anycast.json"  # gate -> gslbd: the gate's state, for `gslbctl status`
    http: tuple[str, int] | None = ("127.0.0.1", 9301)  # the gate's /metrics


@dataclass(frozen=True, slots=True)
class SyncSettings:
    """`[sync]`: this node's place in a sync group (see gslb/sync/)."""

    servers: tuple[str, ...]  # NATS server URLs
    node: str  # unique in the group; default: the host name
    replicas: int = 1  # JetStream replicas of the group's buckets (a NATS cluster: 3)
    publish_interval: float = 0.2  # seconds between batches sent to the bus
    heartbeat: float = 1.0  # seconds between this node's reports
    stale_after: float = 10.0  # a peer not heard of for this long is down, its view unknown
    # A checkpoint of the group's paths (gslb/sync/checkpoint.py) is written
    # after this many paths written to the bucket (or as many as the table holds LDNS,
    # if more), or this many seconds after the last one with any.
    checkpoint_changes: int = 20_000
    checkpoint_age: float = 3600.0


@dataclass(frozen=True, slots=True)
class LogSettings:
    """`[log]`: what gslbd logs and how (gslb/server/runtime.py); read at start-up."""

    level: str = "info"  # debug | info | warning | error
    format: str = "text"  # text: `time LEVEL logger event: key=value`; json: one object a line
    timestamps: bool = True  # off under journald, which stamps every line itself


@dataclass(frozen=True, slots=True)
class Config:
    source: str  # the directory it was loaded from
    server: ServerSettings
    datacenters: tuple[DataCenter, ...]
    virtual_servers: tuple[VirtualServer, ...]
    pools: tuple[Pool, ...]
    wideips: tuple[WideIP, ...]
    regions: tuple[Region, ...]
    topology: tuple[TopologyRecord, ...]
    zones: tuple[Zone, ...]
    warnings: tuple[str, ...] = field(default=())
    monitors: tuple[Monitor, ...] = ()
    control: ControlSettings = field(default_factory=ControlSettings)
    probes: ProbeSettings = field(default_factory=ProbeSettings)
    sync: SyncSettings | None = None  # None: a standalone node
    log: LogSettings = field(default_factory=LogSettings)
    anycast: AnycastSettings | None = None  # no `[anycast]`: no gate
    # Per data center, the id its paths carry in the LDNS table
    # (gslb/proximity.py, LdnsTable.configure; gslbd sets it); (): its index.
    datacenter_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pool (pool tier) or a pool member (member tier) offered to a method."""

    index: int  # pool index (pool tier) or virtual-server index (member tier)
    name: str
    ratio: int
    datacenter: int  # -1 on the pool tier
    pool: int
    # Its data center's id in the LDNS table's paths (Config.datacenter_ids);
    # -1: the data center's index.
    path_id: int = -1
    # What topology records on the server side can name this candidate by,
    # most specific first; made once here rather than on every query.
    keys: tuple[tuple[str, int], ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.datacenter < 0:  # pool tier
            keys: tuple[tuple[str, int], ...] = (("pool", self.index),)
        else:
            keys = (("vs", self.index), ("pool", self.pool), ("dc", self.datacenter))
        object.__setattr__(self, "keys", keys)
        if self.path_id < 0:
            object.__setattr__(self, "path_id", self.datacenter)
