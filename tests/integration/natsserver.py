"""A real nats-server with JetStream for sync-group tests, on a free loopback port.

`NatsServer.start()` runs `nats-server -js -sd <store>` on 127.0.0.1; `stop()`
ends that process by its PID (`kill()`: SIGKILL, a crash); `start()` again
brings it back on the same port with the same store (what a restarted server
does). A server may be given more configuration (`conf`, a nats-server config
file's text): `cluster()` makes servers routed into one JetStream cluster,
`gateways()` joins clusters into a super-cluster, every port a free one of
127.0.0.1. Tests skip when no nats-server is installed (`.ci/run` installs
Debian's).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import free_port, stop_process

SBIN = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"


def binary() -> str | None:
    return shutil.which("nats-server", path=SBIN)


class NatsServer:
    def __init__(self, store: Path, port: int | None = None, conf: str = "") -> None:
        self.store = store
        self.port = port or free_port()
        self.conf = conf
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = store.with_suffix(".log")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        exe = binary()
        assert exe is not None
        self.store.mkdir(parents=True, exist_ok=True)
        command = [exe, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)]
        if self.conf:
            conf = self.store.with_suffix(".conf")
            conf.write_text(self.conf)
            command += ["-c", str(conf)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(4) == b"INFO":
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: the server crashes, closing nothing cleanly."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None


def cluster(home: Path, name: str, size: int) -> list[NatsServer]:
    """`size` servers routed into the JetStream cluster `name` (not started).
    A cluster of one routes to itself: JetStream runs clustered (as it must
    behind a gateway) only with routes configured."""
    routes = [free_port() for _ in range(size)]
    urls = ", ".join(f"nats://127.0.0.1:{port}" for port in routes)
    return [
        NatsServer(
            home / f"{name}-{i}",
            conf=f"server_name: {name}-{i}\n"
            f"cluster {{\n  name: {name}\n  listen: 127.0.0.1:{port}\n  routes: [{urls}]\n}}\n",
        )
        for i, port in enumerate(routes, 1)
    ]


def gateways(home: Path, sizes: dict[str, int]) -> dict[str, list[NatsServer]]:
    """Clusters (name -> size) joined by gateways into one super-cluster."""
    ports = {name: [free_port() for _ in range(size)] for name, size in sizes.items()}
    listed = ", ".join(
        f"{{name: {name}, urls: [{', '.join(f'nats://127.0.0.1:{p}' for p in gw)}]}}"
        for name, gw in ports.items()
    )
    clusters = {}
    for name, size in sizes.items():
        servers = cluster(home, name, size)
        for server, port in zip(servers, ports[name], strict=True):
            server.conf += (
                f"gateway {{\n  name: {name}\n  listen: 127.0.0.1:{port}\n"
                f"  gateways: [{listed}]\n}}\n"
            )
        clusters[name] = servers
    return clusters


@contextlib.contextmanager
def running(servers: list[NatsServer]) -> Iterator[list[NatsServer]]:
    """Start `servers`; stop, by PID, those still running at the end."""
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def needed() -> None:
    if binary() is None:
        pytest.skip("nats-server is not installed (Debian: apt-get install nats-server)")


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    needed()
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()
