"""gslbd under a service manager: sd_notify over a real Unix datagram socket
(READY, WATCHDOG from the event loop, STOPPING), and log lines for journald
(JSON, no timestamps) from the parent and its workers."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import copy_config, edit_config, start_gslbd


def received(sock: socket.socket, until: str, timeout: float = 10.0) -> list[str]:
    """Notifications (one datagram each) until one holds the line `until`."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while not any(until in message.split("\n") for message in got):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            raise AssertionError(f"no {until} in {got}") from None
    return got


@pytest.mark.parametrize("abstract", [False, True])
def test_ready_watchdog_stopping(tmp_path: Path, abstract: bool):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"gslb-test-{secrets.token_hex(6)}"
        sock.bind("\0" + name)
        address = "@" + name
    else:
        address = str(tmp_path / "notify")
        sock.bind(address)
    with sock:
        # WatchdogSec=0.4: a keep-alive every 0.2 s from the event loop.
        server = start_gslbd(
            copy_config(tmp_path / "etc"),
            env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"},
        )
        try:
            ready = received(sock, "READY=1")
            assert ready[-1].split("\n") == [
                "READY=1",
                f"STATUS=serving generation 1 on udp 127.0.0.1:{server.port}, "
                f"tcp 127.0.0.1:{server.port}",
                f"MAINPID={server.proc.pid}",
            ]
            started = time.monotonic()
            beats = 0
            while beats < 4:
                beats += received(sock, "WATCHDOG=1").count("WATCHDOG=1")
            # Four beats take 0.6 s or more at one per 0.2 s; the loop keeps time.
            assert 0.5 < time.monotonic() - started < 5
            server.proc.send_signal(signal.SIGTERM)
            assert received(sock, "STOPPING=1")[-1] == "STOPPING=1\nSTATUS=stopping"
            assert server.proc.wait(10) == 0
        finally:
            server.stop()


def test_no_watchdog_for_another_pid(tmp_path: Path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = str(tmp_path / "notify")
    sock.bind(address)
    with sock:
        server = start_gslbd(
            copy_config(tmp_path / "etc"),
            env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"},
        )
        try:
            assert received(sock, "READY=1")[0].startswith("READY=1\n")
            time.sleep(0.5)
            sock.settimeout(0.01)
            with pytest.raises(TimeoutError):
                sock.recv(4096)  # WATCHDOG_PID names another process: no keep-alives
        finally:
            server.stop()


def json_lines(text: list[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in text]


@pytest.mark.parametrize("how", ["config", "command line"])
def test_json_logs_without_timestamps(tmp_path: Path, how: str):
    config = copy_config(tmp_path / "etc")
    edit_config(config, toml=(("[server]\n", "[server]\nworkers = 2\n"),))
    if how == "config":
        text = (config / "wideips.toml").read_text()
        (config / "wideips.toml").write_text(
            text + '\n[log]\nformat = "json"\ntimestamps = false\nlevel = "info"\n'
        )
        args: tuple[str, ...] = ()
    else:
        args = ("--log-format", "json", "--no-log-timestamps")
    server = start_gslbd(config, args=args)
    try:
        assert server.logged('"event": "ready"')
        assert server.stop() == 0
    finally:
        server.stop()
    lines = json_lines(server.log)  # every line, the workers' too, is one JSON object
    assert all("time" not in line and {"level", "logger", "message"} <= line.keys()
               for line in lines)  # fmt: skip
    events = [line.get("event") for line in lines]
    assert events.count("listening") == 4  # udp, tcp, http, control socket
    worker = [line for line in lines if str(line["message"]).startswith("worker: started")]
    assert len(worker) == 2
    assert worker[0]["logger"] == "gslb.server" and worker[0]["level"] == "INFO"


def test_log_level_in_the_config(tmp_path: Path):
    config = copy_config(tmp_path / "etc")
    (config / "wideips.toml").write_text(
        (config / "wideips.toml").read_text() + '\n[log]\nlevel = "warning"\n'
    )
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    with sock:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gslb", "--config", str(config)],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            env={**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify")},
        )  # fmt: skip
        try:
            received(sock, "READY=1")  # no log line says it: INFO is below the level
        finally:
            proc.terminate()
            _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert stderr == ""
