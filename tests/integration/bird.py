"""BIRD 2 in a test namespace: one `bird` per namespace, run as user `bird`.

Its own configuration, control socket and pid file in its own directory
(`-c`, `-s`, `-P`), in the foreground under the Lab, so it is stopped by PID
like every other process of the test. `birdc -s SOCKET` talks to it.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.frr import PRIORITY
from tests.integration.netns import Lab, which


def unavailable() -> str | None:
    """Why BIRD 2 cannot be run here, or None."""
    if which("bird") is None or which("birdc") is None:
        return "BIRD 2 (bird, birdc) is not installed"
    try:
        pwd.getpwnam("bird")
    except KeyError:
        return "no user `bird` (BIRD drops to it)"
    return None


@dataclass
class Bird:
    lab: Lab
    netns: str
    directory: Path
    conf: str
    proc: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def socket(self) -> Path:
        return self.directory / "bird.ctl"

    def setup(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "bird.conf").write_text(self.conf)
        user = pwd.getpwnam("bird")  # it writes its pid file after dropping to it
        os.chown(self.directory, user.pw_uid, user.pw_gid)

    def start(self, timeout: float = 15.0) -> None:
        d = self.directory
        self.socket.unlink(missing_ok=True)
        files = ["-c", str(d / "bird.conf"), "-s", str(self.socket), "-P", str(d / "bird.pid")]
        argv = [*PRIORITY, which("bird") or "bird", "-f", *files, "-u", "bird", "-g", "bird"]
        self.proc = self.lab.spawn(self.netns, argv, d / "bird.out")
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = (d / "bird.out").read_text(errors="replace")
                raise RuntimeError(f"BIRD in {self.netns}: no control socket\n{out}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        status = subprocess.run(
            [*self.birdc_argv, "show", "status"], capture_output=True, timeout=10
        )
        return status.returncode == 0

    def kill(self) -> None:
        """BIRD crashes: SIGKILL, by PID."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=5)

    @property
    def birdc_argv(self) -> list[str]:
        return [which("birdc") or "birdc", "-s", str(self.socket)]
