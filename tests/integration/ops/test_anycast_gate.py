"""gslb-anycast beside a real gslbd on loopback: every reason to withdraw, and back.

The routing daemon here is the shell contract itself: `announce` and
`withdraw` append a timestamped line to a file, so the test reads exactly
what was told and when. (The same gate against FRR's OSPF, with a client
measuring lost queries, is tests/integration/test_anycast_netns.py.)
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.message
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gslb.anycast.checker import check
from tests.integration.conftest import Gslbd, copy_config, start_gslbd
from tests.integration.ops.helpers import ctl_json, get, wait_for

# The gate acts after 2 results 0.25 s apart; a check may wait 0.25 s; the
# command and a loaded machine need the rest. Generous, and still far below
# "never", which is what gslbd without a gate gives.
ACT = 3.0
HTTP = re.compile(r"listening: proto=http address=\S+ port=(\d+)")


@dataclass
class Gate:
    proc: subprocess.Popen[bytes]
    told: Path  # the routing daemon's view: "<unix time> <state> <prefix>" lines
    log: Path

    def lines(self, prefix: str = "127.0.0.1/32") -> list[tuple[float, str]]:
        text = self.told.read_text() if self.told.exists() else ""
        split = (line.split() for line in text.splitlines())
        return [(float(t), state) for t, state, p in split if p == prefix]

    def last(self) -> str | None:
        lines = self.lines()
        return lines[-1][1] if lines else None

    def wait(
        self, state: str, after: float = 0.0, within: float = ACT, prefix: str = "127.0.0.1/32"
    ) -> float:
        """When `state` was told for `prefix` after `after` (Unix time), waiting up to `within`."""
        deadline = time.monotonic() + within
        while True:
            found = [t for t, s in self.lines(prefix) if s == state and t > after]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {state} within {within} s: {self.lines()}\n{self.log.read_text()}"
                )
            time.sleep(0.02)

    def metric(self, name: str, **labels: str) -> float:
        port = int(HTTP.findall(self.log.read_text())[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        return sum(
            s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == name and labels.items() <= s.labels.items()
        )


def anycast_table(
    told: Path, drain: Path, prefixes: str = '"127.0.0.1/32"', shutdown_drain: float = 1.5
) -> str:
    record = f'echo "$(date +%s.%N) $GSLB_ANYCAST_STATE {{prefix}}" >> {told}'
    return f"""
[anycast]
prefixes = [{prefixes}]
announce = '{record}'
withdraw = '{record}'
drain_file = "{drain}"
shutdown_drain = {shutdown_drain}
http = "127.0.0.1:0"
"""


def start_gate(
    tmp_path: Path, prefixes: str = '"127.0.0.1/32"', env: dict[str, str] | None = None
) -> tuple[Path, Gate]:
    config = copy_config(tmp_path / "etc")
    told, drain = tmp_path / "told", tmp_path / "drain"
    with (config / "wideips.toml").open("a") as f:
        f.write(anycast_table(told, drain, prefixes))
    log = tmp_path / "gate.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gslb.anycast.runner", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=out,
            cwd=tmp_path,
            env={**os.environ, **(env or {})},
        )
    return config, Gate(proc, told, log)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Gate]]:
    config, gate = start_gate(tmp_path)
    try:
        yield config, gate
    finally:
        if gate.proc.poll() is None:
            gate.proc.kill()  # by PID
            gate.proc.wait()


def ask(server: Gslbd) -> str:
    reply = server.udp(dns.message.make_query("gslb.example.", "SOA"), timeout=1.0)
    return reply.answer[0].name.to_text()


def test_the_gate_follows_gslbd_through_every_event(setup: tuple[Path, Gate], tmp_path: Path):
    config, gate = setup
    # No gslbd yet: the gate withdraws first and waits (refused, refused, ...).
    gate.wait("withdrawn", within=10.0)
    time.sleep(0.6)
    assert gate.last() == "withdrawn"
    server = start_gslbd(config)
    try:
        started = time.time()
        announced = gate.wait("announced", within=10.0)
        assert announced - started < ACT
        status = ctl_json(server, "status")
        assert status["anycast"][0].startswith("127.0.0.1/32 announced (answering) for ")
        assert gate.metric("gslb_anycast_announced", prefix="127.0.0.1/32") == 1.0

        # Drain: withdrawn at once, gslbd answers on; undrain: announced again.
        drain = tmp_path / "drain"
        t = time.time()
        drain.touch()
        assert gate.wait("withdrawn", after=t) - t < ACT
        assert ask(server) == "gslb.example."
        wait_for(lambda: "withdrawn (drain_file)" in ctl_json(server, "status")["anycast"][0])
        t = time.time()
        drain.unlink()
        assert gate.wait("announced", after=t) - t < ACT

        # Frozen: the checks time out; thawed: answers again.
        t = time.time()
        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            assert gate.wait("withdrawn", after=t) - t < ACT
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        t = time.time()
        assert gate.wait("announced", after=t) - t < ACT
        assert "reason=no_answer detail=timeout" in gate.log.read_text()

        # SIGTERM: gslbd marks itself stopping, the gate withdraws while gslbd
        # still answers, gslbd stops after its drain time; no re-announcement.
        t = time.time()
        server.proc.send_signal(signal.SIGTERM)
        withdrawn = gate.wait("withdrawn", after=t)
        assert withdrawn - t < ACT
        assert server.proc.poll() is None and ask(server) == "gslb.example."
        assert server.proc.wait(timeout=10) == 0
        stopped = time.time()
        assert stopped - t >= 1.5
        assert "reason=gslbd_stopping" in gate.log.read_text()
        time.sleep(1.0)
        assert [s for w, s in gate.lines() if w > withdrawn] == []
        assert not (config / "run" / "gslbd.stopping").exists()
    finally:
        server.stop()

    # Restarted: announced once it answers. Killed: refused, withdrawn.
    server = start_gslbd(config)
    try:
        t = time.time()
        gate.wait("announced", after=t, within=10.0)
        t = time.time()
        server.proc.kill()
        assert gate.wait("withdrawn", after=t) - t < ACT
        assert "reason=no_answer detail=refused" in gate.log.read_text()
    finally:
        server.stop()

    counts = {
        (reason, to): gate.metric("gslb_anycast_transitions_total", reason=reason, to=to)
        for reason, to in [
            ("answering", "announced"),
            ("drain_file", "withdrawn"),
            ("no_answer", "withdrawn"),
            ("gslbd_stopping", "withdrawn"),
        ]
    }
    assert counts == {
        ("answering", "announced"): 4.0,
        ("drain_file", "withdrawn"): 1.0,
        ("no_answer", "withdrawn"): 2.0,
        ("gslbd_stopping", "withdrawn"): 1.0,
    }
    # The gate's own SIGTERM: it withdraws (already withdrawn: told again) and exits 0.
    t = time.time()
    gate.proc.send_signal(signal.SIGTERM)
    assert gate.proc.wait(timeout=10) == 0
    assert gate.wait("withdrawn", after=t) - t < ACT
    assert "anycast: prefix=127.0.0.1/32 state=withdrawn reason=shutdown" in gate.log.read_text()


def test_each_prefix_is_asked_on_its_own_address_v4_and_v6(tmp_path: Path):
    config, gate = start_gate(tmp_path, '"127.0.0.1/32", "::1/128"')
    try:
        toml = config / "wideips.toml"
        text = toml.read_text()
        port = int(re.search(r'listen = \["127\.0\.0\.1:(\d+)"\]', text).group(1))  # type: ignore[union-attr]
        toml.write_text(text.replace(
            f'listen = ["127.0.0.1:{port}"]', f'listen = ["127.0.0.1:{port}", "[::1]:{port}"]'
        ))  # fmt: skip
        server = start_gslbd(config)
        try:
            for prefix in ("127.0.0.1/32", "::1/128"):
                gate.wait("announced", within=10.0, prefix=prefix)
                assert gate.metric("gslb_anycast_announced", prefix=prefix) == 1.0
            assert len(ctl_json(server, "status")["anycast"]) == 2
            t = time.time()
            server.proc.kill()
            for prefix in ("127.0.0.1/32", "::1/128"):
                assert gate.wait("withdrawn", after=t, prefix=prefix) - t < ACT
                assert (
                    gate.metric("gslb_anycast_checks_total", prefix=prefix, result="refused") >= 2
                )
        finally:
            server.stop()
    finally:
        gate.proc.kill()  # by PID
        gate.proc.wait()


def test_a_config_without_anycast_is_refused(tmp_path: Path):
    config = copy_config(tmp_path / "etc")
    done = subprocess.run(
        [sys.executable, "-m", "gslb.anycast.runner", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stderr) == (
        1,
        f"{config}: no [anycast] section: nothing to announce\n",
    )


def test_nothing_listening_is_refused_and_silence_a_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))
        port = quiet.getsockname()[1]
        silent = asyncio.run(check("127.0.0.1", port, "gslb.example.", 0.2))
        assert (silent.ok, silent.detail) == (False, "timeout")
        assert 0.2 <= silent.seconds < 2.0
    refused = asyncio.run(check("127.0.0.1", port, "gslb.example.", 0.2))
    assert (refused.ok, refused.detail) == (False, "refused")


def test_systemd_analyze_accepts_the_gate_unit(tmp_path: Path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = Path(__file__).resolve().parents[3] / "contrib" / "systemd" / "gslb-anycast.service"
    text = unit.read_text()
    assert "/opt/gslb/bin/gslb-anycast" in text
    unit_file = tmp_path / "gslb-anycast.service"
    installed = Path(sys.executable).parent / "gslb-anycast"
    unit_file.write_text(text.replace("/opt/gslb/bin/gslb-anycast", str(installed)))
    done = subprocess.run(
        [analyze, "verify", str(unit_file)], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in done.stderr.splitlines() if "gslb-anycast.service" in line]
    assert problems == [], done.stderr


def test_the_gate_tells_systemd_ready_alive_and_stopping(tmp_path: Path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(tmp_path / "notify"))
        notify.settimeout(10.0)
        env = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "400000"}
        _, gate = start_gate(tmp_path, env=env)
        try:
            ready = notify.recv(4096).decode().split("\n")
            assert ready[:2] == ["READY=1", "STATUS=gating 127.0.0.1/32 by shell"]
            assert notify.recv(4096) == b"WATCHDOG=1"  # every 0.2 s from its loop
            gate.proc.send_signal(signal.SIGTERM)
            while (message := notify.recv(4096)) == b"WATCHDOG=1":
                pass
            assert message == b"STOPPING=1\nSTATUS=stopping"
            assert gate.proc.wait(timeout=10) == 0
        finally:
            if gate.proc.poll() is None:
                gate.proc.kill()  # by PID
                gate.proc.wait()


def test_readyz_says_not_ready_while_gslbd_drains(tmp_path: Path):
    config = copy_config(tmp_path / "etc")
    with (config / "wideips.toml").open("a") as f:
        f.write(anycast_table(tmp_path / "told", tmp_path / "drain", shutdown_drain=30))
    server = start_gslbd(config)
    try:
        assert get(server, "/readyz") == (200, "ready\n")
        server.proc.send_signal(signal.SIGTERM)
        assert server.logged("stopping: draining seconds=30")
        # Draining: still answering DNS and HTTP, but a load balancer is told to go.
        assert get(server, "/readyz") == (503, "not ready\n")
        assert server.proc.poll() is None and ask(server) == "gslb.example."
        server.proc.send_signal(signal.SIGTERM)  # a second signal ends the drain
        assert server.proc.wait(timeout=10) == 0
    finally:
        server.stop()
