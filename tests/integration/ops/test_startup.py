"""What stops gslbd from starting says so in one line, and it exits 1:
a second gslbd on the same configuration, an address taken, a privileged
port without the capability. The running one is left alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dns.message
import pytest

from tests.integration.conftest import (
    NOBODY,
    ROOT,
    Gslbd,
    copy_config,
    records,
    set_server,
    why_not_as_nobody,
)
from tests.integration.ops.helpers import ctl_json


def gslbd_fails(config: Path, *prefix: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "gslb", "--config", str(config)],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip


def mail(server: Gslbd) -> list[str]:
    return records(server.udp(dns.message.make_query("mail.gslb.example.", "A")).answer)


def errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without the log lines (`time LEVEL logger ...`)."""
    return [line for line in done.stderr.splitlines() if line.startswith("gslbd")]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_second_gslbd_on_the_same_config_refuses(make_gslbd, workers: int):
    server = make_gslbd(toml=(("[server]\n", f"[server]\nworkers = {workers}\n"),))
    member = ctl_json(server, "member", "disable", "vs_tel")
    assert member["state"] == "disabled"
    health = server.config_dir / "var" / "health.json"
    before = health.read_text()
    second = gslbd_fails(server.config_dir)
    lock = server.config_dir / "var" / "gslbd.lock"
    assert (second.returncode, second.stdout) == (1, "")
    assert errors(second) == [
        f"gslbd: another gslbd (pid {server.proc.pid}) runs with this configuration "
        f"(it holds {lock}); stop it first"
    ]
    assert len(second.stderr.splitlines()) == 1
    # The first goes on, untouched: its socket, its saved state, its answers.
    assert ctl_json(server, "status")["pid"] == server.proc.pid
    assert health.read_text() == before
    assert mail(server) == ["mail.gslb.example. 3600 IN A 127.0.0.25"]


@pytest.mark.parametrize("workers", [1, 2])
def test_an_address_in_use_is_one_line(make_gslbd, tmp_path: Path, workers: int):
    # Another configuration on the same address: with workers on both sides
    # too, though the kernel would let SO_REUSEPORT sockets of one user join.
    server = make_gslbd(toml=(("[server]\n", f"[server]\nworkers = {workers}\n"),))
    other = set_server(copy_config(tmp_path / "other"), [f"127.0.0.1:{server.port}"], workers)
    done = gslbd_fails(other)
    assert done.returncode == 1
    assert errors(done) == [
        f"gslbd: cannot listen on udp 127.0.0.1:{server.port}: address already in use "
        "(another DNS server?)"
    ]
    assert "Traceback" not in done.stderr
    assert mail(server) == ["mail.gslb.example. 3600 IN A 127.0.0.25"]  # it keeps them all


@pytest.fixture
def nobody_config() -> Iterator[Path]:
    """A config that user nobody can read and write (pytest's tmp_path is root's)."""
    base = Path(tempfile.mkdtemp(prefix="gslb-nobody-"))
    try:
        os.chmod(base, 0o755)
        config = copy_config(base / "etc")
        for path in [base, *base.rglob("*")]:
            os.chown(path, 65534, 65534)
        yield config
    finally:
        shutil.rmtree(base)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_privileged_port_without_the_capability(nobody_config: Path, workers: int):
    if (reason := why_not_as_nobody()) is not None:
        pytest.skip(reason)
    port = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text()) - 1
    if port < 1:
        pytest.skip("every port is unprivileged on this host")
    set_server(nobody_config, [f"127.0.0.1:{port}"], workers)
    done = gslbd_fails(nobody_config, *NOBODY)
    assert done.returncode == 1, done.stderr
    assert errors(done) == [
        f"gslbd: cannot listen on udp 127.0.0.1:{port}: permission denied; ports below "
        f"{port + 1} need the CAP_NET_BIND_SERVICE capability: run gslbd under systemd with "
        "AmbientCapabilities=CAP_NET_BIND_SERVICE (contrib/systemd/gslbd.service), or "
        "`setcap cap_net_bind_service=+ep` on its Python, or as root"
    ]
    assert "Traceback" not in done.stderr
    # It stopped before it saved anything.
    assert not (nobody_config / "var" / "health.json").exists()
    assert not (nobody_config / "var" / "ldns.json").exists()
