"""A real gslbd process on 127.0.0.1 (port chosen by the kernel), for tests.

`gslbd` starts `python -m gslb` on a copy of `etc/` whose listen address is
rewritten to port 0; the log's `listening:` line tells the port. Tests talk to
it with dnspython, an independent client.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.query
import pytest

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening: proto=(\w+) address=(\S+) port=(\d+)")


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

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_gslbd(config_dir: Path, timeout: float = 15.0) -> Gslbd:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gslb", "--config", str(config_dir)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=config_dir.parent,
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
    return Gslbd(proc, "127.0.0.1", port, config_dir, log)


def copy_config(dest: Path) -> Path:
    """A copy of the default etc/ listening on 127.0.0.1, port 0."""
    shutil.copytree(ROOT / "etc", dest)
    toml = dest / "wideips.toml"
    text = toml.read_text()
    toml.write_text(text.replace('listen = ["127.0.0.1:5300"]', 'listen = ["127.0.0.1:0"]'))
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
def shared_gslbd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gslbd]:
    """One server for a whole module of read-only DNS tests."""
    server = start_gslbd(copy_config(tmp_path_factory.mktemp("shared") / "etc"))
    try:
        yield server
    finally:
        server.stop()
