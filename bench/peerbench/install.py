"""Install the load generator and the peer servers on Debian, when missing.

Only packages whose binary is not on PATH are installed (`apt-get update`
once, then `apt-get install --no-install-recommends`). A package may start
its daemon (on port 53, as a system service); the benchmark runs its own
instances instead, so every daemon a fresh install started is stopped and
disabled through its own service manager, or, without one, by the PID in its
own PID file. Nothing is killed by name.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Package:
    binary: str
    packages: tuple[str, ...]
    service: str | None = None  # the systemd unit / init script the package installs
    pidfiles: tuple[str, ...] = ()


DNSPERF = Package("dnsperf", ("dnsperf",))
# taskset pins server and client to their cores.
TASKSET = Package("taskset", ("util-linux",))


class InstallError(Exception):
    """A needed package could not be installed."""


def _run(argv: list[str]) -> None:
    print("+ " + " ".join(argv), file=sys.stderr, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run(argv, env=env, check=False, timeout=900)
    if result.returncode != 0:
        raise InstallError(f"{' '.join(argv)} exited {result.returncode}")


def missing(packages: list[Package]) -> list[Package]:
    return [p for p in packages if shutil.which(p.binary) is None]


def ensure(packages: list[Package]) -> list[str]:
    """Install what is missing; return the Debian packages installed."""
    todo = missing(packages)
    if not todo:
        return []
    names = sorted({n for p in todo for n in p.packages})
    if os.geteuid() != 0:
        raise InstallError(f"missing {', '.join(names)}: run as root or install them first")
    if shutil.which("apt-get") is None:
        raise InstallError(f"missing {', '.join(names)} and no apt-get to install them")
    _run(["apt-get", "update", "-qq"])
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *names])
    for p in todo:
        stop_service(p)
    still = missing(todo)
    if still:
        raise InstallError(f"still missing after install: {', '.join(p.binary for p in still)}")
    return names


def _systemd() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def stop_service(package: Package) -> None:
    """Stop and disable the system daemon a fresh install may have started."""
    if package.service is None:
        return
    if _systemd():
        subprocess.run(
            ["systemctl", "disable", "--now", package.service],
            check=False,
            timeout=60,
        )
        return
    # No systemd (a container, usually with a policy-rc.d that refused the
    # start): still make sure, by the daemon's own PID file.
    binary = shutil.which(package.binary)
    for pidfile in package.pidfiles:
        try:
            pid = int(Path(pidfile).read_text().split()[0])
            exe = os.readlink(f"/proc/{pid}/exe")
        except (OSError, ValueError, IndexError):
            continue
        if binary is not None and os.path.realpath(binary) == exe:
            print(f"stopping system {package.service}: pid={pid}", file=sys.stderr)
            os.kill(pid, signal.SIGTERM)
    if shutil.which("update-rc.d") and Path(f"/etc/init.d/{package.service}").exists():
        subprocess.run(["update-rc.d", package.service, "disable"], check=False, timeout=60)
