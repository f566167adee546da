"""`gslbctl check` as an operator runs it: a real subprocess, exit code and lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gslb.errors import Problem
from tests.unit.config.conftest import ETC, MakeConfig

OK_LINE = (
    "ok: 2 datacenters, 3 virtual servers, 2 pools, 1 wide IPs, "
    "4 topology records, 1 zones (14 records)"
)


def gslbctl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gslb.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_check_default_dir_is_etc() -> None:
    result = gslbctl("check", cwd=ETC.parent)
    assert (result.returncode, result.stdout, result.stderr) == (0, OK_LINE + "\n", "")


def test_check_good_dir_with_a_warning(make_config: MakeConfig) -> None:
    directory = make_config(("wideips.toml", 'pools = ["web", "web6"]', 'pools = ["web"]'))
    result = gslbctl("check", str(directory))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [OK_LINE]
    assert result.stderr.splitlines() == [
        f"warning: {directory / 'wideips.toml'}:57: pool[1]: pool is used by no wide IP"
        " (value: 'web6')"
    ]


def test_check_bad_dir_prints_every_problem(make_config: MakeConfig) -> None:
    directory = make_config(
        ("wideips.toml", 'datacenter = "TEL"', 'datacenter = "XX"'),
        ("wideips.toml", "ttl = 300", "ttl = -5"),
        ("topology.csv", "dc:CNC,region:north,100", "dc:CNC,region:north,-1"),
    )
    result = gslbctl("check", str(directory))
    toml, csv = directory / "wideips.toml", directory / "topology.csv"
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{csv}:2: score: must be an integer 0..2147483647 (value: '-1')",
        f"{toml}:71: wideip[0].persistence.ttl: Input should be greater than or equal to 0"
        " (value: -5)",
        "2 errors",
    ]


def test_check_reports_cross_check_problems(make_config: MakeConfig) -> None:
    directory = make_config(("wideips.toml", 'datacenter = "TEL"', 'datacenter = "XX"'))
    result = gslbctl("check", str(directory))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"{directory / 'wideips.toml'}:41: virtual_server[1].datacenter: unknown datacenter"
        " (value: 'XX')",
        "1 errors",
    ]


def test_missing_directory(tmp_path: Path) -> None:
    result = gslbctl("check", str(tmp_path / "nope"))
    assert result.returncode == 1
    # Problem.__str__ decides how a problem without a line or path reads.
    problem = Problem(
        str(tmp_path / "nope" / "wideips.toml"),
        None,
        "",
        None,
        "cannot read: No such file or directory",
    )
    assert result.stderr.splitlines() == [str(problem), "1 errors"]


def test_no_subcommand_is_a_usage_error() -> None:
    result = gslbctl()
    assert result.returncode == 2
    assert "usage: gslbctl" in result.stderr


def test_check_reports_the_first_hundred_problems_then_how_many_more(
    make_config: MakeConfig,
) -> None:
    bad = "".join(f"dc:CNC,10.0.0.{n}/8,1\n" for n in range(1, 301))  # host bits set
    directory = make_config(("topology.csv", "", bad))
    result = gslbctl("check", str(directory))
    lines = result.stderr.splitlines()
    assert result.returncode == 1
    assert len(lines) == 100 + 2
    assert lines[0] == f"{directory}/topology.csv:6: ldns: 10.0.0.1/8 has host bits set" + (
        " (value: '10.0.0.1/8')"
    )
    assert lines[-2:] == ["... and 200 more", "300 errors"]


def test_check_of_a_deeply_nested_array_is_one_error(make_config: MakeConfig) -> None:
    directory = make_config(("wideips.toml", "", "x = " + "[" * 5000 + "]" * 5000 + "\n"))
    result = gslbctl("check", str(directory))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"{directory}/wideips.toml: arrays or tables nested too deep",
        "1 errors",
    ]


def test_check_reports_zone_file_problems_in_every_included_file(make_config: MakeConfig) -> None:
    # $INCLUDE, $GENERATE and native rdata: each problem with its own file and
    # line, all of them in one run.
    zone = "gslb.example.zone"
    directory = make_config(
        (zone, "", "$INCLUDE bad.zone\n$GENERATE 250-300 h$ A 127.0.0.$\n"),
        (zone, "", "$INCLUDE missing.zone\nx LOC 1 2\nok SVCB 1 . alpn=h2\n"),
        ("bad.zone", "", "y SVCB 1 . alpn=h2 alpn=h3\n$INCLUDE gslb.example.zone\n"),
        ("bad.zone", "", "z DNAME a\nq.z A 127.0.0.1\n"),
    )
    top, inc = directory / zone, directory / "bad.zone"
    result = gslbctl("check", str(directory))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"{inc}:1: y.gslb.example. SVCB: bad SVCB rdata: alpn is given twice"
        " (value: '1 . alpn=h2 alpn=h3')",
        f"{inc}:2: $INCLUDE: include loop: {top} -> {inc} -> {top} (value: 'gslb.example.zone')",
        f"{inc}:4: q.z.gslb.example. A: below the DNAME at z.gslb.example.: never answered",
        f"{top}:25: h256.gslb.example. A: not an A address: '127.0.0.256' ($ = 256)"
        " (value: '127.0.0.256')",
        f"{top}:26: $INCLUDE: cannot read {directory / 'missing.zone'}: No such file or directory"
        " (value: 'missing.zone')",
        f"{top}:27: x.gslb.example. LOC: bad LOC rdata: too few fields (value: '1 2')",
        "6 errors",
    ]
