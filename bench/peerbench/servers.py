"""The servers under test: how each is configured, started, checked, stopped.

Every server gets a directory of its own under the run's temp dir, with its
config rendered from bench/gslbd/ or bench/peers/<name>/ (`$port` and
`$workdir` substituted) and the same static zone, bench/gslbd/gslb.example.zone,
plus the peer's own line for `www` (bench/peers/<name>/www.rr). Each listens
on 127.0.0.1 on a free high port and is pinned to core 0 with taskset; it is
stopped by its PID.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from string import Template

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from gslb.config import load
from gslb.ldnsfile import save
from gslb.proximity import LdnsTable
from peerbench.install import Package

BENCH = Path(__file__).resolve().parents[1]
GSLBD_CONFIG = BENCH / "gslbd"
PEERS = BENCH / "peers"
ZONE = GSLBD_CONFIG / "gslb.example.zone"
SERVER_CORE = 0

# The wide IP's possible answers, and what every server must say to the probes.
WWW = "www.gslb.example."
WWW_ADDRESSES = frozenset({"127.0.10.1", "127.0.20.1"})
STATIC = ("mail.gslb.example.", "127.0.0.25")
NXDOMAIN = "nx000.gslb.example."


class ServerError(Exception):
    """A server did not start or did not answer as configured."""


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    record: str  # what answers www, for the report
    prepare: Callable[[Path, int], list[str]]  # (own dir, port) -> argv
    package: Package | None = None  # None: comes with the venv
    notes: tuple[str, ...] = ()  # caveats printed under the table
    env: tuple[tuple[str, str], ...] = ()  # set in the server's environment


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1, in the high range."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        if port >= 20000:
            return port
    raise ServerError("no free high port on 127.0.0.1")


def _render(template: Path, dest: Path, workdir: Path, port: int) -> None:
    text = Template(template.read_text()).substitute(workdir=str(workdir), port=port)
    dest.write_text(text)


def _zone(dest: Path, www: Path) -> None:
    dest.write_text(ZONE.read_text() + "; the benchmark's www\n" + www.read_text())


# The LDNS table pre-fill: gslbd loads its [probes] state_file at start-up
# (bench/gslbd/wideips.toml: "ldns.json", relative to the rendered
# configuration directory, `workdir`/config). One entry, 127.0.0.1 (dnsperf's
# address), with a fresh path to each data center, CNC the nearer: `rtt`
# decides on every query and answers CNC, where `topology` would say TEL, so
# `check()` can tell which method answered. Since `rtt` succeeds, no query
# queues a probe; gslbd's own start-up round is the only one (the bench
# config's probe interval is a day).
LDNS = ip_address("127.0.0.1")
# Far apart: the start-up probe round moves each a third of the way to loopback.
RTT_US = {"CNC": 900, "TEL": 5_000}
RTT_ANSWER = "127.0.10.1"  # vs_cnc


def prefill_proximity(
    config: Path, workdir: Path, subnets: Sequence[int] = (), own: Sequence[int] = ()
) -> None:
    """The state file: 127.0.0.1, and each of `subnets` (ECS /24s, as ints) with
    127.0.0.1 as its probe target, the same fresh paths for all; and each of
    `own` (LDNS, as ints; 127.0.0.1 their probe target too) with a path from
    the first data center (CNC) alone, as a node there holds its own paths to
    the LDNS the sync group's stand-in peer writes (`peers.py --sync`)."""
    compiled = load(config)
    table = LdnsTable(max_entries=compiled.probes.max_entries, ldns_ttl=compiled.probes.ldns_ttl)
    now = time.time()
    names = [dc.name for dc in compiled.datacenters]
    for ldns in (*(IPv4Address(n) for n in subnets), LDNS):
        table.add(ldns, LDNS, now)
        for index, name in enumerate(names):
            table.record(ldns, index, rtt_us=RTT_US[name], protocol="dns_dot", now=now)
    for ldns in (IPv4Address(n) for n in own):
        table.add(ldns, LDNS, now)
        table.record(ldns, 0, rtt_us=RTT_US[names[0]], protocol="dns_dot", now=now)
    save(Path(compiled.probes.state_file), table.rows(names), now)


def gslbd_config(
    workdir: Path, port: int, workers: int = 1, subnets: Sequence[int] = (), own: Sequence[int] = ()
) -> list[str]:
    config = workdir / "config"
    shutil.copytree(GSLBD_CONFIG, config)
    toml = config / "wideips.toml"
    listen = f'listen = ["127.0.0.1:{port}"]' + (f"\nworkers = {workers}" if workers > 1 else "")
    text, n = re.subn(r'listen = \["127\.0\.0\.1:\d+"\]', listen, toml.read_text())
    if n != 1:
        raise ServerError(f"{toml}: no single listen line to rewrite")
    toml.write_text(text)
    prefill_proximity(config, workdir, subnets, own)
    return [sys.executable, "-m", "gslb", "--config", str(config), "--log-level", "WARNING"]


def gslbd_sync_config(
    workdir: Path,
    port: int,
    url: str,
    workers: int = 1,
    subnets: Sequence[int] = (),
    own: Sequence[int] = (),
) -> list[str]:
    """gslbd as `gslbd_config` makes it, in a sync group on the NATS server `url`."""
    argv = gslbd_config(workdir, port, workers, subnets, own)
    toml = workdir / "config" / "wideips.toml"
    toml.write_text(toml.read_text() + f'\n[sync]\nservers = ["{url}"]\nnode = "bench-a"\n')
    return argv


def _gdnsd(workdir: Path, port: int) -> list[str]:
    (workdir / "zones").mkdir()
    _render(PEERS / "gdnsd" / "config", workdir / "config", workdir, port)
    _zone(workdir / "zones" / "gslb.example", PEERS / "gdnsd" / "www.rr")
    return ["gdnsd", "-c", str(workdir), "start"]


def _pdns(workdir: Path, port: int) -> list[str]:
    _render(PEERS / "pdns" / "pdns.conf", workdir / "pdns.conf", workdir, port)
    _render(PEERS / "pdns" / "named.conf", workdir / "named.conf", workdir, port)
    _zone(workdir / "gslb.example.zone", PEERS / "pdns" / "www.rr")
    return ["pdns_server", f"--config-dir={workdir}"]


def _knot(workdir: Path, port: int) -> list[str]:
    _render(PEERS / "knot" / "knot.conf", workdir / "knot.conf", workdir, port)
    _zone(workdir / "gslb.example.zone", PEERS / "knot" / "www.rr")
    return ["knotd", "-c", str(workdir / "knot.conf")]


SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec(
            "gslbd",
            "wide IP, chain rtt -> topology -> global_availability, 104 topology records",
            gslbd_config,
            notes=("LDNS table pre-filled: rtt decides",),
        ),
        Spec(
            "gslbd-pure",
            "gslbd as above, all in Python (GSLB_PURE=1: recvfrom/sendto, query path not compiled)",
            gslbd_config,
            notes=("LDNS table pre-filled: rtt decides",),
            env=(("GSLB_PURE", "1"),),
        ),
        Spec(
            "gdnsd",
            "DYNA geoip!www: static nets map, DCs in order, first up answers",
            _gdnsd,
            Package("gdnsd", ("gdnsd",), "gdnsd", ("/run/gdnsd/gdnsd.pid",)),
        ),
        Spec(
            "pdns",
            "LUA A view() of the gdnsd nets map, ECS processing on, bind backend",
            _pdns,
            Package(
                "pdns_server", ("pdns-server", "pdns-backend-bind"), "pdns", ("/run/pdns/pdns.pid",)
            ),
            notes=(
                "enable-lua-records is yes/no in 4.7; the shared Lua state mode of later"
                " releases is not available",
                "view() rather than pickclosest(): pickclosest needs a GeoIP city database",
            ),
        ),
        Spec(
            "knot",
            "static A (no GSLB: the fast-path baseline)",
            _knot,
            Package("knotd", ("knot",), "knot", ("/run/knot/knot.pid",)),
        ),
    )
}


# What `make bench` runs; gslbd-pure (the UDP loop without its C part) on request.
DEFAULT = ("gslbd", "gdnsd", "pdns", "knot")


@dataclass
class Running:
    spec: Spec
    port: int
    workdir: Path
    argv: list[str]
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        return self.proc.returncode


def start(
    spec: Spec, root: Path, nice: int = 0, ready_timeout: float = 120.0, pin: bool = True
) -> Running:
    """Render the config, start the server (pinned to SERVER_CORE), wait for answers."""
    workdir = root / spec.name
    workdir.mkdir()
    port = free_port()
    argv = spec.prepare(workdir, port)
    if pin:
        argv = ["taskset", "-c", str(SERVER_CORE), *argv]
    if nice:
        argv = ["nice", "-n", str(nice), *argv]
    log = workdir / "server.log"
    with log.open("wb") as out:
        # nice and taskset exec the server, so this PID is the server's own.
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env={**os.environ, **dict(spec.env)} if spec.env else None,
        )
    running = Running(spec, port, workdir, argv, proc, log)
    deadline = time.monotonic() + ready_timeout
    while True:
        if proc.poll() is not None:
            raise ServerError(f"{spec.name} exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            _ask(port, "gslb.example.", "SOA", timeout=0.5)
            return running
        except (dns.exception.Timeout, OSError):
            if time.monotonic() > deadline:
                running.stop()
                raise ServerError(f"{spec.name} gave no answer in {ready_timeout:g}s") from None


def _ask(port: int, name: str, rtype: str, timeout: float = 2.0) -> dns.message.Message:
    query = dns.message.make_query(name, rtype)
    return dns.query.udp(query, "127.0.0.1", port=port, timeout=timeout)


def check(server: Running) -> dict[str, str]:
    """Ask the three kinds of name of the mix once; raise unless each answers right."""
    seen: dict[str, str] = {}
    www = _ask(server.port, WWW, "A")
    addresses = {r.address for rrset in www.answer for r in rrset if r.rdtype == dns.rdatatype.A}
    seen["www"] = ",".join(sorted(addresses))
    if not addresses or not addresses <= WWW_ADDRESSES:
        raise ServerError(f"{server.spec.name}: www answered {www}")
    if server.spec.name.startswith("gslbd") and addresses != {RTT_ANSWER}:
        raise ServerError(f"gslbd: www answered {seen['www']}, not rtt's {RTT_ANSWER}")
    static = _ask(server.port, STATIC[0], "A")
    seen["static"] = ",".join(str(r) for rrset in static.answer for r in rrset)
    if seen["static"] != STATIC[1]:
        raise ServerError(f"{server.spec.name}: {STATIC[0]} answered {static}")
    nx = _ask(server.port, NXDOMAIN, "A")
    seen["nxdomain"] = dns.rcode.to_text(nx.rcode())
    if nx.rcode() != dns.rcode.NXDOMAIN:
        raise ServerError(f"{server.spec.name}: {NXDOMAIN} answered {nx}")
    return seen
