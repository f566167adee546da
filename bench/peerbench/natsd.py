"""A nats-server with JetStream on loopback for the sync benchmarks.

Debian's `nats-server`; free ports for the clients and the monitoring
endpoint (`varz`: messages and bytes in and out); ended by its PID.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

SBIN = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Nats:
    def __init__(self, store: Path, core: int | None = None) -> None:
        """`core`: pinned to it (taskset), off the server's core: woken by the
        peer's messages while the client's core is busy, its threads would
        otherwise take turns on the server's idle one, before the server."""
        self.port, self.monitor = free_port(), free_port()
        exe = shutil.which("nats-server", path=SBIN)
        if exe is None:
            raise SystemExit("nats-server is not installed (Debian: apt-get install nats-server)")
        args = ["-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor)]
        pin = [] if core is None else ["taskset", "-c", str(core)]
        self.proc = subprocess.Popen(
            [*pin, exe, *args, "-js", "-sd", str(store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("nats-server did not start")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def varz(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor}/varz", timeout=5) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
