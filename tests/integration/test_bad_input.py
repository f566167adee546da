"""gslbd given files it must not read: one clear line and exit 1 at start-up,
never a hang, a traceback or a MemoryError."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import copy_config, start_gslbd


def start(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gslb", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=config.parent,
    )


def test_start_up_rejects_a_deep_array_a_fifo_and_dev_zero(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "etc")
    toml = config / "wideips.toml"
    toml.write_text(toml.read_text() + "x = " + "[" * 5000 + "]" * 5000 + "\n")
    result = start(config)
    assert (result.returncode, result.stderr) == (
        1,
        f"{toml}: arrays or tables nested too deep\n",
    )
    toml.rename(config / "wideips.toml.bak")
    os.mkfifo(toml)
    result = start(config)
    assert (result.returncode, result.stderr) == (
        1,
        f"{toml}: cannot read: not a regular file (a FIFO)\n",
    )
    toml.unlink()
    (config / "wideips.toml.bak").rename(toml)
    text = toml.read_text()
    toml.write_text(text[: text.index("x = [")])
    zone = config / "gslb.example.zone"
    zone.unlink()
    zone.symlink_to("/dev/zero")
    result = start(config)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{toml}:21: zone[0].file: cannot read {zone}: not a regular file (a device)"
        " (value: 'gslb.example.zone')"
    ]


def test_start_up_removes_what_killed_saves_left(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "etc")
    var = config / "var"
    var.mkdir(exist_ok=True)
    dead = [
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                       capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(3)
    ]  # fmt: skip
    for pid in dead:
        (var / f".ldns.json.{pid}.tmp").write_text('{"version": 1, "entries": [["1.2.')
    for pid in dead[:2]:
        (var / f".health.json.{pid}.tmp").write_text('{"version": 1, "disab')
    (var / "keep.txt").write_text("")
    server = start_gslbd(config)
    try:
        assert server.logged("ldns_table: removed leftover temporary files=3")
        assert server.logged("state: removed leftover temporary files=2")
        assert [p.name for p in var.iterdir() if p.name.endswith(".tmp")] == []
        assert (var / "keep.txt").exists()
    finally:
        assert server.stop() == 0
    assert {"health.json", "keep.txt", "ldns.json"} <= {p.name for p in var.iterdir()}
    assert [p.name for p in var.iterdir() if p.name.endswith(".tmp")] == []
