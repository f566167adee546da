"""What the configuration reads: regular files up to a size, and whatever is
wrong with one is one clear problem (gslb/config/files.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gslb.config import load
from gslb.config.files import FileRejected, read_text
from gslb.errors import ConfigError
from tests.unit.config.conftest import MakeConfig


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("héllo\n")
    assert read_text(tmp_path / "f", 7) == "héllo\n"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: os.mkfifo(p), "cannot read: not a regular file (a FIFO)"),
        (lambda p: os.symlink("/dev/zero", p), "cannot read: not a regular file (a device)"),
        (lambda p: p.mkdir(), "cannot read: not a regular file (a directory)"),
        (lambda p: None, "cannot read: No such file or directory"),
        (lambda p: p.write_text("12345678"), "cannot read: larger than max_file_size (7 bytes)"),
        (lambda p: p.write_bytes(b"\xff\xfe"), "cannot read: not UTF-8 text"),
    ],
    ids=["fifo", "dev-zero", "directory", "missing", "too-large", "not-utf8"],
)
def test_anything_else_is_rejected_at_once(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "f"
    make(path)
    with pytest.raises(FileRejected) as caught:
        read_text(path, 7)
    assert str(caught.value) == message


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(directory)
    return caught.value.report().splitlines()


def test_a_zone_file_that_is_dev_zero_and_a_fifo_topology(make_config: MakeConfig) -> None:
    directory = make_config()
    zone = directory / "gslb.example.zone"
    zone.unlink()
    zone.symlink_to("/dev/zero")
    (directory / "topology.csv").unlink()
    os.mkfifo(directory / "topology.csv")
    assert problems(directory) == [
        f"{directory}/topology.csv: cannot read: not a regular file (a FIFO)",
        f"{directory}/wideips.toml:21: zone[0].file: cannot read {zone}: not a regular file"
        " (a device) (value: 'gslb.example.zone')",
    ]


def test_a_wideips_toml_that_is_a_fifo(make_config: MakeConfig) -> None:
    directory = make_config()
    (directory / "wideips.toml").unlink()
    os.mkfifo(directory / "wideips.toml")
    assert problems(directory) == [
        f"{directory}/wideips.toml: cannot read: not a regular file (a FIFO)"
    ]


def test_max_file_size_bounds_topology_and_zones(make_config: MakeConfig) -> None:
    directory = make_config(("wideips.toml", "[server]\n", "[server]\nmax_file_size = 200\n"))
    zone = directory / "gslb.example.zone"
    assert zone.stat().st_size > 200 >= (directory / "topology.csv").stat().st_size
    assert problems(directory) == [
        f"{directory}/wideips.toml:22: zone[0].file: cannot read {zone}: larger than max_file_size"
        " (200 bytes) (value: 'gslb.example.zone')",
    ]


@pytest.mark.parametrize("depth", [5000, 900])
def test_arrays_nested_too_deep_are_one_problem(make_config: MakeConfig, depth: int) -> None:
    directory = make_config(("wideips.toml", "", "x = " + "[" * depth + "]" * depth + "\n"))
    assert problems(directory) == [f"{directory}/wideips.toml: arrays or tables nested too deep"]
