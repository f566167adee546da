"""A small lab of network namespaces for end-to-end tests: hosts on one router.

`Lab` creates a router namespace with IPv4 forwarding on and, per `host()`,
a namespace joined to the router by a veth pair: `eth0` in the host holds the
host's addresses, the router's end the subnet's first address, which is the
host's default route. Every name starts with `gslbe2e-<random>-`, so runs side
by side do not collide; interface names live inside the namespaces only.

Processes run in a namespace through `ip netns exec` (which execs the command,
so the PID is the daemon's own). `close()` stops the processes it started, by
PID (SIGTERM, then SIGKILL), then deletes its namespaces, veths with them;
it is safe to call after a partial set-up and more than once.

Addresses are from the documentation ranges (RFC 5737) only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


def which(program: str) -> str | None:
    """`program` on PATH or in the sbin directories (daemons live there)."""
    return shutil.which(program, path=SBIN_PATH)


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None if they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if which("ip") is None:
        return "`ip` (iproute2) is not installed"
    name = f"gslbe2e-{secrets.token_hex(4)}-check"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=10)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
    return None


@dataclass
class Host:
    role: str
    netns: str
    addresses: tuple[str, ...]
    gateway: str

    @property
    def address(self) -> str:
        return self.addresses[0]


@dataclass
class Lab:
    prefix: str = field(default_factory=lambda: f"gslbe2e-{secrets.token_hex(3)}")
    namespaces: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    hosts: dict[str, Host] = field(default_factory=dict)
    router: str = ""

    def ip(self, *args: str) -> None:
        result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")

    def _netns(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        self.ip("netns", "add", name)
        self.namespaces.append(name)
        self.ip("-n", name, "link", "set", "lo", "up")
        return name

    def start_router(self) -> str:
        self.router = self._netns("router")
        # /proc/sys/net is the namespace's own; sh rather than sysctl (procps).
        self.run_in(self.router, ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
        return self.router

    def host(
        self, role: str, subnet: str, addresses: Sequence[str], default_route: bool = True
    ) -> Host:
        """A namespace on `subnet`, holding `addresses`, routed via the router
        (unless `default_route` is false: a routing daemon brings its routes)."""
        if not self.router:
            self.start_router()
        network = IPv4Network(subnet)
        gateway = str(next(network.hosts()))
        netns = self._netns(role)
        port = f"r{len(self.hosts)}"
        veth = ("type", "veth", "peer", "name", "eth0", "netns", netns)
        self.ip("-n", self.router, "link", "add", port, *veth)
        self.ip("-n", self.router, "addr", "add", f"{gateway}/{network.prefixlen}", "dev", port)
        self.ip("-n", self.router, "link", "set", port, "up")
        for address in addresses:
            assert IPv4Interface(f"{address}/{network.prefixlen}").network == network
            self.ip("-n", netns, "addr", "add", f"{address}/{network.prefixlen}", "dev", "eth0")
        self.ip("-n", netns, "link", "set", "eth0", "up")
        if default_route:
            self.ip("-n", netns, "route", "add", "default", "via", gateway)
        host = Host(role, netns, tuple(addresses), gateway)
        self.hosts[role] = host
        return host

    def run_in(
        self, netns: str, argv: Sequence[str], timeout: float = 10.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in `netns` to completion (bounded by `timeout`)."""
        result = subprocess.run(
            ["ip", "netns", "exec", netns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PATH": SBIN_PATH},
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"in {netns}: {' '.join(argv)} exited {result.returncode}\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def spawn(
        self, netns: str, argv: Sequence[str], log: Path, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a long-running command in `netns`, stdout and stderr to `log`."""
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", netns, *argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env={**os.environ, "PATH": SBIN_PATH},
            )
        self.processes.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 5.0) -> int:
        """SIGTERM, then SIGKILL after `timeout`; the exit status."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        return proc.returncode

    def close(self) -> None:
        for proc in reversed(self.processes):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self.stop(proc, timeout=3.0)
        self.processes.clear()
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        self.namespaces.clear()


def wait_for_text(path: Path, text: str, proc: subprocess.Popen[bytes], within: float) -> str:
    """Poll the log `path` until it holds `text`; its content. Fails when
    `within` seconds pass or the process exits first."""
    deadline = time.monotonic() + within
    while True:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        if proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode} before {text!r}:\n{content}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {text!r} within {within} s:\n{content}")
        time.sleep(0.05)
