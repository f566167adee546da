"""FRR in a test namespace: zebra, ospfd and bfdd of one namespace, run as `frr`.

Each namespace gets its own set of daemons with their own directory for
configuration, pid files, logs and sockets (`-f`, `-i`, `-z`, `--vty_socket`,
bfdd's `--bfdctl`), no TCP vty (`-P 0`), in the foreground under the Lab, so
they are stopped by PID like every other process of the test. The directory
must be traversable by user `frr` (the daemons drop to it after start).
`vtysh` talks to this set only (`--vty_socket DIR`).
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.netns import Lab, which

DAEMONS = ("zebra", "bfdd", "ospfd")  # in start order: zebra first
FRR_LIB = Path("/usr/lib/frr")


def unavailable() -> str | None:
    """Why FRR cannot be run here, or None."""
    missing = [d for d in DAEMONS if not (FRR_LIB / d).exists()]
    if missing:
        return f"FRR is not installed ({', '.join(missing)} missing in {FRR_LIB})"
    if which("vtysh") is None:
        return "FRR's vtysh is not installed"
    try:
        pwd.getpwnam("frr")
    except KeyError:
        return "no user `frr` (FRR's daemons run as it)"
    return None


# A router's control plane comes first: on a machine shared with benchmarks,
# BFD at 300 ms detection flaps when its daemons wait for a CPU. (`nice`
# execs the daemon, so the PID stays the daemon's.)
PRIORITY = ("nice", "-n", "-10")

# Sub-second failure detection: BFD 100 ms x 3; SPF and LSA throttles at 0.
BFD_CONF = """\
bfd
 profile fast
  detect-multiplier 3
  receive-interval 100
  transmit-interval 100
 !
!
"""


@dataclass
class Frr:
    lab: Lab
    netns: str
    directory: Path
    ospfd_conf: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def setup(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        configs = {"zebra": "", "bfdd": BFD_CONF, "ospfd": self.ospfd_conf}
        user = pwd.getpwnam("frr")
        for name, text in configs.items():
            path = self.directory / f"{name}.conf"
            path.write_text(f"hostname {self.netns}\n{text}")
        for path in [self.directory, *self.directory.iterdir()]:
            os.chown(path, user.pw_uid, user.pw_gid)

    def start(self, daemons: tuple[str, ...] = DAEMONS, timeout: float = 15.0) -> None:
        d = self.directory
        for name in daemons:
            argv = [
                *PRIORITY,
                str(FRR_LIB / name),
                "-f", str(d / f"{name}.conf"),
                "-i", str(d / f"{name}.pid"),
                "-z", str(d / "zserv.api"),
                "--vty_socket", str(d),
                "-P", "0",
                "-u", "frr",
                "-g", "frr",
                "--log", f"file:{d / name}.log",
            ]  # fmt: skip
            if name == "bfdd":
                argv += ["--bfdctl", str(d / "bfdd.sock")]
            self.procs[name] = self.lab.spawn(self.netns, argv, d / f"{name}.out")
            self._wait_for(d / f"{name}.vty", timeout)

    def _wait_for(self, path: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            dead = [n for n, p in self.procs.items() if p.poll() is not None and n in path.name]
            if dead or time.monotonic() > deadline:
                logs = "".join(
                    f"--- {p.name}\n{p.read_text(errors='replace')}"
                    for p in sorted(self.directory.glob("*.out"))
                )
                raise RuntimeError(f"FRR in {self.netns}: no {path.name} (dead: {dead})\n{logs}")
            time.sleep(0.05)

    def kill(self, daemons: tuple[str, ...] = DAEMONS) -> None:
        """Routing daemons crash: SIGKILL, by PID."""
        for name in daemons:
            proc = self.procs[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=5)
            (self.directory / f"{name}.vty").unlink(missing_ok=True)

    @property
    def vtysh_argv(self) -> list[str]:
        return ["vtysh", "--vty_socket", str(self.directory)]

    def vtysh(self, *commands: str) -> str:
        argv = list(self.vtysh_argv)
        for c in commands:
            argv += ["-c", c]
        return self.lab.run_in(self.netns, argv).stdout
