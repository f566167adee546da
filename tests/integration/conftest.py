"""A real gslbd process on 127.0.0.1 (port chosen by the kernel), for tests.

`gslbd` starts `python -m gslb` on a copy of `etc/` whose listen address is
rewritten to a free port on 127.0.0.1 (the config rejects port 0, so the port
is found here, free for both UDP and TCP); the log's `listening:` line tells
the port. Tests talk to it with dnspython, an independent client.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rrset
import pytest

from gslb import compiled
from gslb.server import batchio

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening: proto=(\w+) address=(\S+) port=(\d+)")  # text or JSON


@dataclass
class Gslbd:
    proc: subprocess.Popen[str]
    host: str
    port: int
    config_dir: Path
    log: list[str] = field(default_factory=list)

    def udp(self, query: dns.message.Message, timeout: float = 2.0) -> dns.message.Message:
        return dns.query.udp(query, self.host, port=self.port, timeout=timeout)

    def tcp(self, query: dns.message.Message, timeout: float = 2.0) -> dns.message.Message:
        return dns.query.tcp(query, self.host, port=self.port, timeout=timeout)

    def logged(self, text: str, timeout: float = 5.0) -> bool:
        """Whether a log line contains `text`, waiting for the thread that reads
        the server's stderr to catch up (bounded)."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.log):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self) -> int:
        return stop_process(self.proc)


def stop_process(proc: subprocess.Popen[Any]) -> int:
    """SIGTERM, ten seconds' grace, then SIGKILL; the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# The two UDP loops of gslb.server.batchio: recvmmsg/sendmmsg through the C
# extension, recvfrom/sendto in Python; with them the query path compiled by
# mypyc or run from its sources (gslb/compiled.py: GSLB_PURE chooses both). A
# module runs its tests on both with
#     pytestmark = pytest.mark.parametrize("udp_io", IO_PATHS, indirect=True, scope="module")
IO_PATHS = ("compiled", "pure")
IO_LOG = {
    "compiled": ("udp_io: recvmmsg", "query_path: mypyc"),
    "pure": ("udp_io: recvfrom", "query_path: python (GSLB_PURE is set)"),
}


def io_env(path: str | None, env: dict[str, str] | None = None) -> dict[str, str] | None:
    """The environment with `env` added that makes gslbd use the UDP loop
    `path` (None: whichever is built; None returned: the environment as it is)."""
    if path is None:
        return {**os.environ, **env} if env else None
    out = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "GSLB_PURE"}
    if path == "pure":
        out["GSLB_PURE"] = "1"
    return out


@pytest.fixture(scope="module")
def udp_io(request: pytest.FixtureRequest) -> str | None:
    """The UDP loop asked for (a parameter), or None: whatever is built."""
    path: str | None = getattr(request, "param", None)
    if path == "compiled" and not (batchio.built() and compiled.built()):
        # CI installs a compiler (.ci/run), so there this fails rather than skips.
        if shutil.which("cc") is None:
            pytest.skip("no C compiler: gslb/server/_batchio.c and the query path are not built")
        pytest.fail("gslb's compiled modules are not built: run pip install -e . (make venv)")
    return path


def start_gslbd(
    config_dir: Path,
    timeout: float = 15.0,
    cwd: Path | None = None,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    udp_io: str | None = None,
) -> Gslbd:
    """Start gslbd (more `args` on its command line, `env` added to the
    environment, `udp_io` the UDP loop it must use) and wait until it is ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gslb", "--config", str(config_dir), *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=cwd or config_dir.parent,
        env=io_env(udp_io, env),
    )
    assert proc.stderr is not None
    log: list[str] = []
    port = 0
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        log.append(line)
        m = LISTENING.search(line)
        if m and m.group(1) == "udp" and not port:
            port = int(m.group(3))
        if "ready:" in line or time.monotonic() > deadline:
            break
    if not port or proc.poll() is not None:
        proc.kill()
        raise RuntimeError("gslbd did not start:\n" + "".join(log))
    stderr = proc.stderr

    def drain() -> None:
        for line in stderr:
            log.append(line)

    threading.Thread(target=drain, daemon=True).start()
    server = Gslbd(proc, "127.0.0.1", port, config_dir, log)
    for line in IO_LOG[udp_io] if udp_io is not None else ():
        if not server.logged(line):
            server.stop()
            raise RuntimeError(f"gslbd did not log {line!r}:\n" + "".join(log))
    return server


NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


@functools.cache
def why_not_as_nobody() -> str | None:
    """Why tests cannot run gslb as user nobody in a namespace of its own
    (root, setpriv, unshare, ip; this Python and checkout readable by nobody),
    or None if they can."""
    if os.geteuid() != 0:
        return "needs root"
    missing = [p for p in ("setpriv", "unshare", "ip") if shutil.which(p) is None]
    if missing:
        return f"needs {', '.join(missing)}"
    done = subprocess.run([*NOBODY, sys.executable, "-c", "import gslb, dns"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    if done.returncode != 0:
        return f"user nobody cannot run {sys.executable} on {ROOT}: {done.stderr.strip()[-200:]}"
    return None


def until(predicate: Callable[[], bool], within: float, what: str) -> float:
    """Poll `predicate` every 50 ms until true; how long it took."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < within, f"no {what} after {within} s"
        time.sleep(0.05)
    return time.monotonic() - started


def www_from(server: Gslbd, source: str) -> str:
    """The address gslbd answers for www.gslb.example A when asked from `source`."""
    query = dns.message.make_query("www.gslb.example.", "A")
    reply = dns.query.udp(query, server.host, port=server.port, source=source, timeout=2)
    (rrset,) = reply.answer
    return str(rrset[0])


def free_port() -> int:
    """A port of 127.0.0.1 free for both UDP and TCP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return int(port)
    raise RuntimeError("no free port on 127.0.0.1")


PROBES_OFF = "\n[probes]\ndatacenters = []\n"
# Metrics on a port the kernel picks, so servers side by side do not contend
# for 9300 (the log's `listening: proto=http` line tells the port).
HTTP_ANY_PORT = '\n[control]\nhttp = "127.0.0.1:0"\n'


def copy_config(dest: Path) -> Path:
    """A copy of the default etc/ listening on 127.0.0.1 at a free port."""
    shutil.copytree(ROOT / "etc", dest)
    toml = dest / "wideips.toml"
    text = toml.read_text()
    listen = f'listen = ["127.0.0.1:{free_port()}"]'
    text = text.replace('listen = ["127.0.0.1:5300"]', listen)
    # No probing: rtt would otherwise decide by the microseconds between two
    # loopback addresses, and answers would depend on timing. The probe tests
    # (test_proximity_seed.py) turn it on with their own [probes].
    toml.write_text(text + PROBES_OFF + HTTP_ANY_PORT)
    return dest


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return copy_config(tmp_path / "etc")


@pytest.fixture
def gslbd(config_dir: Path) -> Iterator[Gslbd]:
    server = start_gslbd(config_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shared_gslbd(tmp_path_factory: pytest.TempPathFactory, udp_io: str | None) -> Iterator[Gslbd]:
    """One server for a whole module of read-only DNS tests."""
    server = start_gslbd(copy_config(tmp_path_factory.mktemp("shared") / "etc"), udp_io=udp_io)
    try:
        yield server
    finally:
        server.stop()


def edit_config(
    config_dir: Path,
    *,
    toml: tuple[tuple[str, str], ...] = (),
    topology: str | None = None,
    zone_append: str = "",
) -> Path:
    """Change a copied config: exact text replacements in wideips.toml (each
    must match), a whole new topology.csv, lines appended to the zone file."""
    path = config_dir / "wideips.toml"
    text = path.read_text()
    for old, new in toml:
        assert old in text, f"not in wideips.toml: {old!r}"
        text = text.replace(old, new, 1)
    path.write_text(text)
    if topology is not None:
        (config_dir / "topology.csv").write_text(topology)
    if zone_append:
        zone = config_dir / "gslb.example.zone"
        zone.write_text(zone.read_text() + zone_append)
    return config_dir


def set_server(config_dir: Path, listen: list[str], workers: int = 1) -> Path:
    """Give a copied config these `[server] listen` addresses and `workers`."""
    path = config_dir / "wideips.toml"
    text = re.sub(r"(?m)^listen = \[.*\]$", f"listen = {json.dumps(listen)}", path.read_text())
    path.write_text(text.replace("[server]\n", f"[server]\nworkers = {workers}\n", 1))
    return config_dir


@pytest.fixture
def make_gslbd(tmp_path: Path) -> Iterator[Callable[..., Gslbd]]:
    """Start servers on edited copies of etc/ (arguments as `edit_config`)."""
    servers: list[Gslbd] = []

    def make(**edits: Any) -> Gslbd:
        directory = copy_config(tmp_path / f"etc{len(servers)}")
        server = start_gslbd(edit_config(directory, **edits))
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


# A name whose TXT RRset (8 x 113 octets) fits 1232 but not 512, and one
# (40 x 113 octets) that fits no UDP size the server allows.
BIG_TXT_ZONE = "".join(f'mid IN TXT "{i:03d}{"m" * 97}"\n' for i in range(8)) + "".join(
    f'big IN TXT "{i:03d}{"b" * 97}"\n' for i in range(40)
)


@pytest.fixture(scope="module")
def big_gslbd(tmp_path_factory: pytest.TempPathFactory, udp_io: str | None) -> Iterator[Gslbd]:
    """The default config plus the large TXT RRsets of BIG_TXT_ZONE."""
    directory = copy_config(tmp_path_factory.mktemp("big") / "etc")
    server = start_gslbd(edit_config(directory, zone_append=BIG_TXT_ZONE), udp_io=udp_io)
    try:
        yield server
    finally:
        server.stop()


def udp_exchange(server: Gslbd, payload: bytes, timeout: float = 1.0) -> bytes | None:
    """Send raw bytes over UDP; the reply, or None if none came in `timeout`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(payload, (server.host, server.port))
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None


def tcp_connect(server: Gslbd, timeout: float = 3.0, source: str = "") -> socket.socket:
    """A TCP connection to `server`, from the address `source` (default: any)."""
    sock = socket.create_connection(
        (server.host, server.port), timeout=timeout, source_address=(source, 0) if source else None
    )
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """`size` bytes from a stream; fewer only if the peer closed it."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_frame(sock: socket.socket) -> bytes | None:
    """One length-prefixed DNS message (RFC 1035 §4.2.2), None on EOF."""
    prefix = recv_exactly(sock, 2)
    if len(prefix) < 2:
        return None
    size = int.from_bytes(prefix, "big")
    body = recv_exactly(sock, size)
    assert len(body) == size, "connection closed inside a message"
    return body


def frame(wire: bytes) -> bytes:
    return len(wire).to_bytes(2, "big") + wire


def records(section: list[dns.rrset.RRset]) -> list[str]:
    """A message section as sorted one-line records: 'name ttl IN type rdata'."""
    return sorted(line for rrset in section for line in rrset.to_text().splitlines())
