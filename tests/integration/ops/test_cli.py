"""gslbd and gslbctl as commands: versions, where options go, exit codes, and
paths in the config taken relative to the config directory, not the cwd."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gslb import __version__
from tests.integration.conftest import copy_config, start_gslbd


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GSLB_SOCKET"}
    return subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, timeout=30, cwd=cwd, env=env
    )


@pytest.mark.parametrize(("module", "prog"), [("gslb", "gslbd"), ("gslb.cli", "gslbctl")])
def test_version(module: str, prog: str):
    done = run(module, "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{prog} {__version__}\n", "")


def test_usage_errors_exit_2():
    assert run("gslb.cli", "bogus").returncode == 2
    assert run("gslb.cli").returncode == 2
    assert run("gslb", "--bogus").returncode == 2


def test_paths_are_relative_to_the_config_directory(tmp_path: Path):
    config = copy_config(tmp_path / "site" / "conf")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    server = start_gslbd(config, cwd=elsewhere)
    try:
        assert (config / "run" / "gslb.sock").is_socket()
        # --config finds the socket from any directory; the global options go
        # before or after the subcommand.
        for argv in (
            ("--json", "--config", str(config), "status"),
            ("status", "--json", "--config", str(config)),
            ("--config", str(config), "status", "--json"),
        ):
            done = run("gslb.cli", *argv, cwd=elsewhere)
            assert done.returncode == 0, (argv, done.stderr)
            assert json.loads(done.stdout)["pid"] == server.proc.pid
        text = run("gslb.cli", "status", "--config", "conf", cwd=config.parent)
        assert text.returncode == 0 and text.stdout.startswith("version:")
        # --socket wins over --config, wherever it stands.
        wrong = run("gslb.cli", "--socket", str(tmp_path / "nothing.sock"), "status",
                    "--config", str(config))  # fmt: skip
        assert wrong.returncode == 1
        assert wrong.stderr == (
            f"gslbctl: gslbd is not running (no control socket at {tmp_path}/nothing.sock)\n"
        )
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(10) == 0
    finally:
        server.stop()
    assert (config / "var" / "health.json").exists()
    assert (config / "var" / "ldns.json").exists()
    assert os.listdir(elsewhere) == []  # nothing written in the working directory
