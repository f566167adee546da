"""The shape of etc/wideips.toml, as pydantic models.

Only what one table can say about itself is checked here (types, ranges,
syntax); references between objects are checked by the loader, which sees
the whole document. Strict mode: TOML has real types, so "80" for a port is a
mistake to report, not a string to coerce. Unknown keys are errors.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, IPvAnyAddress

from gslb.algorithms import POOL_METHODS
from gslb.model import ROUTINGS
from gslb.probes import PROBE_PROTOCOLS

MAX_TTL = 2**31 - 1  # RFC 2181 §8

Ttl = Annotated[int, Field(ge=0, le=MAX_TTL)]
# Bounded: ratio builds a weighted sequence as long as the sum of the ratios.
Ratio = Annotated[int, Field(ge=1, le=1000)]
Port = Annotated[int, Field(ge=1, le=65535)]
CidrV4 = Annotated[int, Field(ge=0, le=32)]
CidrV6 = Annotated[int, Field(ge=0, le=128)]
Name = Annotated[str, Field(min_length=1)]


def parse_listen(value: Any, min_port: int = 0) -> Any:
    """Turn "host:port" or "[v6]:port" into (host, port)."""
    # Port 0 lets the kernel choose (tests); the bound port is logged.
    if not isinstance(value, str):
        raise ValueError('expected a string "host:port" or "[v6]:port"')
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError('expected "host:port" or "[v6]:port"')
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError('an IPv6 listen address is written "[v6]:port"')
    try:
        host = str(ip_address(host))
    except ValueError:
        raise ValueError(f"not an IP address: {host!r}") from None
    number = int(port)
    if not min_port <= number <= 65535:
        raise ValueError(f"port must be {min_port}..65535")
    return (host, number)


def _member_table(value: Any) -> Any:
    # A bare VS name is shorthand for a member table with defaults.
    return {"vs": value} if isinstance(value, str) else value


def _http_listen(value: Any) -> Any:
    # Port 0 (the kernel picks) is fine for the metrics listener; "" turns it off.
    return None if value == "" else parse_listen(value, min_port=0)


ListenAddress = Annotated[tuple[str, int], BeforeValidator(parse_listen)]
HttpListen = Annotated[tuple[str, int] | None, BeforeValidator(_http_listen)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Rrl(Strict):
    responses_per_second: int = Field(default=0, ge=0)
    slip: int = Field(default=2, ge=0)


class Server(Strict):
    listen: list[ListenAddress] = Field(default=[("127.0.0.1", 5300)], min_length=1)
    edns_buffer_size: int = Field(default=1232, ge=512, le=65535)
    tcp_idle_timeout: float = Field(default=10.0, gt=0)
    tcp_max_connections: int = Field(default=256, ge=1)
    tcp_max_connections_per_client: int = Field(default=16, ge=1)
    udp_receive_buffer: int = Field(default=4 * 1024 * 1024, ge=0)
    max_file_size: int = Field(default=64 * 1024 * 1024, ge=1)
    nsid: str | None = None
    workers: int = Field(default=1, ge=1)
    worker_report_interval: float = Field(default=1.0, gt=0, le=60)
    persistence_max_entries: int = Field(default=100_000, ge=0)
    rrl: Rrl = Rrl()


class Zone(Strict):
    name: Name
    file: Name


class DataCenter(Strict):
    name: Name
    probe_source: IPvAnyAddress | None = None
    enabled: bool = True
    link_monitor: Name | None = None
    link_address: IPvAnyAddress | None = None


class VirtualServer(Strict):
    name: Name
    address: IPvAnyAddress
    port: Port = 80
    datacenter: Name
    monitors: list[str] = []
    monitor_rule: str = Field(default="all", pattern=r"^(all|at_least [1-9][0-9]*)$")
    ratio: Ratio = 1
    enabled: bool = True


class PoolMember(Strict):
    vs: Name
    ratio: Ratio = 1
    order: int = 0
    enabled: bool = True


class Pool(Strict):
    name: Name
    members: list[Annotated[PoolMember, BeforeValidator(_member_table)]] = []
    methods: list[str] = Field(default=["global_availability"], min_length=1)
    ttl: Ttl = 30
    max_answers: int = Field(default=1, ge=1)
    fallback_ip: IPvAnyAddress | None = None
    # "type" is the operator's word (it is the record type); Python's is taken.
    rtype: Literal["A", "AAAA"] = Field(default="A", alias="type")
    fail_closed: bool = False
    ratio: Ratio = 1
    persist_cidr_v4: CidrV4 = 32
    persist_cidr_v6: CidrV6 = 128
    qos: dict[str, float] = {}
    available_when_unknown: bool = False


class Persistence(Strict):
    ttl: Ttl
    cidr_v4: CidrV4 = 32
    cidr_v6: CidrV6 = 128


class WideIP(Strict):
    name: Name
    aliases: list[Name] = []
    pools: list[Name] = Field(min_length=1)
    pool_method: Literal[POOL_METHODS] = "global_availability"  # type: ignore[valid-type]
    last_resort_pool: Name | None = None
    ecs: bool = True
    persistence: Persistence | None = None


class Region(Strict):
    name: Name
    members: list[str] = []


class Probes(Strict):
    """`[probes]`; names and networks are checked by the compiler."""

    protocols: list[str] = Field(default=list(PROBE_PROTOCOLS), min_length=1)
    timeout: float = Field(default=2.0, gt=0)
    interval: float = Field(default=600.0, gt=0)
    path_ttl: float = Field(default=2400.0, gt=0)
    ldns_ttl: float = Field(default=2_419_200.0, gt=0)
    max_entries: int = Field(default=100_000, ge=1)
    concurrency: int = Field(default=128, ge=1)
    rate: float = Field(default=300.0, gt=0)
    queue_size: int = Field(default=10_000, ge=1)
    backoff_max: float = Field(default=3600.0, gt=0)
    keys_per_target: int = Field(default=256, ge=1)
    allow: list[str] = ["127.0.0.0/8", "::1/128"]
    deny: list[str] = []
    port: Port = 53
    ports: dict[str, Port] = {}
    datacenters: list[Name] | None = None
    state_file: str = "var/ldns.json"
    save_interval: float = Field(default=300.0, gt=0)


class Monitor(Strict):
    """`[[monitor]]`: common fields; the rest are checked by the monitor type's settings."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    name: Name
    type: Name
    interval: float = Field(default=10.0, gt=0)
    timeout: float = Field(default=5.0, gt=0)
    rise: int = Field(default=2, ge=1)
    fall: int = Field(default=2, ge=1)
    port: Port | None = None


class Control(Strict):
    socket: Name = "run/gslb.sock"
    socket_mode: int = Field(default=0o600, ge=0, le=0o777)
    http: HttpListen = ("127.0.0.1", 9300)
    state_dir: Name = "var"
    monitor_concurrency: int = Field(default=32, ge=1)


class Sync(Strict):
    """`[sync]`; URLs, names and data centers are checked by the compiler."""

    servers: list[str] = Field(min_length=1)
    node: Name | None = None
    replicas: int = Field(default=1, ge=1, le=5)
    publish_interval: float = Field(default=0.2, gt=0, le=10)
    heartbeat: float = Field(default=1.0, gt=0, le=60)
    stale_after: float = Field(default=10.0, gt=0)
    checkpoint_changes: int = Field(default=20_000, ge=1)
    checkpoint_age: float = Field(default=3600.0, gt=0)


class Anycast(Strict):
    """`[anycast]`; prefixes, the routing's fields and the check name are checked by
    gslb/config/anycast.py."""

    prefixes: list[Name] = Field(min_length=1)
    routing: Literal[ROUTINGS] = "shell"  # type: ignore[valid-type]
    announce: Name | None = None
    withdraw: Name | None = None
    ospf_area: Name | None = None
    vtysh: list[Name] | None = None
    bird_protocol: Name | None = None
    birdc: list[Name] | None = None
    check_zone: Name | None = None
    interval: float = Field(default=0.25, gt=0, le=60)
    timeout: float = Field(default=0.25, gt=0, le=60)
    rise: int = Field(default=2, ge=1, le=100)
    fall: int = Field(default=2, ge=1, le=100)
    command_timeout: float = Field(default=5.0, gt=0, le=600)
    reassert: float = Field(default=10.0, ge=0)
    drain_file: str = ""
    shutdown_drain: float = Field(default=2.0, ge=0, le=600)
    stopping_file: Name = "run/gslbd.stopping"
    state_file: Name = "run/anycast.json"
    http: HttpListen = ("127.0.0.1", 9301)


LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["text", "json"]


class Log(Strict):
    level: LogLevel = "info"
    format: LogFormat = "text"
    timestamps: bool = True


class Document(Strict):
    """The whole of wideips.toml."""

    server: Server = Server()
    zone: list[Zone] = []
    datacenter: list[DataCenter] = []
    virtual_server: list[VirtualServer] = []
    pool: list[Pool] = []
    wideip: list[WideIP] = []
    region: list[Region] = []
    monitor: list[Monitor] = []
    control: Control = Control()
    probes: Probes = Probes()
    sync: Sync | None = None
    log: Log = Log()
    anycast: Anycast | None = None
