"""Driving a running gslbd the way an operator does: gslbctl, /metrics, signals."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Gslbd

HTTP = re.compile(r"listening: proto=http address=(\S+) port=(\d+)")


def socket_of(server: Gslbd) -> Path:
    """The default `[control] socket`, relative to the configuration directory."""
    return server.config_dir / "run" / "gslb.sock"


def ctl(
    server: Gslbd | None, *args: str, socket: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run gslbctl against `server`; stdout, stderr and the exit status."""
    path = socket if socket is not None else socket_of(server)  # type: ignore[arg-type]
    return subprocess.run(
        [sys.executable, "-m", "gslb.cli", *args, "--socket", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def ctl_json(server: Gslbd, *args: str) -> Any:
    done = ctl(server, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def http_port(server: Gslbd) -> int:
    for line in server.log:
        m = HTTP.search(line)
        if m:
            return int(m.group(2))
    raise AssertionError("no http listener in the log:\n" + "".join(server.log))


def get(server: Gslbd, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{http_port(server)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def metric(server: Gslbd, name: str, **labels: str) -> float:
    """The sum of /metrics samples named `name` whose labels include `labels`."""
    status, text = get(server, "/metrics")
    assert status == 200
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
