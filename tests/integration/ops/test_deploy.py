"""The deployment recipes in contrib/, run as written as far as this machine
allows: the systemd unit's ExecStart, environment (NOTIFY_SOCKET, the
watchdog) and capabilities, as an unprivileged user on port 53; the
container recipe's configuration steps and command. Each runs in a network
namespace of its own (tests/integration/ops/deploy_driver.py)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, why_not_as_nobody

CONTRIB = ROOT / "contrib"
BIN = Path(sys.executable).parent


def unit() -> dict[str, list[str]]:
    """contrib/systemd/gslbd.service: key -> values, in order."""
    out: dict[str, list[str]] = {}
    for line in (CONTRIB / "systemd" / "gslbd.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory user nobody can use (pytest's tmp_path is root's alone)."""
    if (reason := why_not_as_nobody()) is not None:
        pytest.skip(reason)
    base = Path(tempfile.mkdtemp(prefix="gslb-deploy-"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base)


def drive(spec: dict[str, object]) -> dict[str, object]:
    done = subprocess.run(
        ["unshare", "--net", sys.executable, "-m", "tests.integration.ops.deploy_driver",
         json.dumps(spec)],
        capture_output=True, text=True, timeout=90, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def give_to_nobody(base: Path) -> None:
    for path in [base, *base.rglob("*")]:
        os.chown(path, 65534, 65534)


def test_the_systemd_unit(shared_dir: Path):
    service = unit()
    assert service["Type"] == ["notify"]
    (exec_start,) = service["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0] == "/opt/gslb/bin/gslbd"
    # The unit's directories, here under shared_dir: StateDirectory= and
    # RuntimeDirectory= are made by systemd for the service's user.
    etc, state, run = shared_dir / "etc", shared_dir / "lib", shared_dir / "run"
    for d in (state, run):
        d.mkdir()
    subprocess.run([BIN / "gslbd", "--write-sample-config", etc], check=True, capture_output=True)
    # What the unit's comment says to put in the config.
    toml = etc / "wideips.toml"
    text = re.sub(r"(?m)^listen = .*$", 'listen = ["127.0.0.1:53", "127.0.0.5:53"]',
                  toml.read_text())  # fmt: skip
    toml.write_text(
        text + f'\n[control]\nsocket = "{run}/gslb.sock"\nstate_dir = "{state}"\n'
        f'http = ""\n[probes]\nstate_file = "{state}/ldns.json"\n'
    )
    give_to_nobody(shared_dir)
    os.chmod(etc, 0o755)
    argv = [str(BIN / "gslbd"), *[str(etc) if a == "/etc/gslb" else a for a in argv[1:]]]
    caps = [c.removeprefix("CAP_").lower() for c in service["AmbientCapabilities"][0].split()]
    (watchdog,) = service["WatchdogSec"]
    result = drive({
        "argv": argv, "caps": ",".join(caps), "notify": str(shared_dir / "notify"),
        "watchdog_usec": str(int(watchdog) * 1_000_000), "query": ["127.0.0.5", 53],
    })  # fmt: skip
    messages = result["messages"]
    assert isinstance(messages, list) and messages[0].startswith("READY=1\n"), result
    assert messages[-1] == "WATCHDOG=1"
    assert result["answer"] == ["127.0.0.25"]
    assert result["code"] == 0, result["stderr"]
    assert (state / "health.json").exists() and (state / "ldns.json").exists()
    assert not (etc / "var").exists()  # nothing written beside the config
    # --no-log-timestamps: lines start with the level, journald adds the time.
    stderr = str(result["stderr"])
    assert stderr and all(line.split()[0] in {"INFO", "WARNING"} for line in stderr.splitlines())

    # Without the unit's capabilities: one line that says what to do.
    failed = drive({"argv": argv, "caps": "", "notify": None, "query": ["127.0.0.1", 53]})
    assert failed["code"] == 1
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in str(failed["messages"])


def test_systemd_analyze_accepts_the_unit(tmp_path: Path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    text = (CONTRIB / "systemd" / "gslbd.service").read_text()
    unit_file = tmp_path / "gslbd.service"
    unit_file.write_text(text.replace("/opt/gslb/bin/gslbd", str(BIN / "gslbd")))
    done = subprocess.run([analyze, "verify", str(unit_file)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    problems = [line for line in done.stderr.splitlines() if "gslbd.service" in line]
    assert problems == [], done.stderr


def containerfile_steps() -> tuple[str, list[str]]:
    """The container recipe's configuration step (a shell command) and CMD."""
    text = (CONTRIB / "Containerfile").read_text().replace("\\\n", " ")
    run = next(line for line in text.splitlines() if line.startswith("RUN useradd"))
    steps = [s.strip() for s in run.removeprefix("RUN ").split("&&")]
    config = " && ".join(s for s in steps if not s.startswith(("useradd", "chown")))
    (cmd,) = re.findall(r"(?m)^CMD (\[.*\])$", text)
    (entry,) = re.findall(r"(?m)^ENTRYPOINT (\[.*\])$", text)
    return config, json.loads(entry) + json.loads(cmd)


def test_the_container_recipe(shared_dir: Path):
    config, argv = containerfile_steps()
    etc = shared_dir / "etc"
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    subprocess.run(["sh", "-c", config.replace("/etc/gslb", str(etc))], check=True, env=env,
                   capture_output=True)  # fmt: skip
    text = (etc / "wideips.toml").read_text()
    assert 'listen = ["0.0.0.0:5300"]' in text and 'http = "0.0.0.0:9300"' in text
    give_to_nobody(shared_dir)
    assert argv[0] == "gslbd"
    argv = [str(BIN / "gslbd"), *[str(etc) if a == "/etc/gslb" else a for a in argv[1:]]]
    result = drive({"argv": argv, "caps": "", "notify": None, "query": ["127.0.0.5", 5300]})
    assert result["answer"] == ["127.0.0.25"], result
    assert result["code"] == 0, result["stderr"]
    # JSON lines without timestamps, for the engine's log driver.
    lines = [json.loads(line) for line in str(result["stderr"]).splitlines()]
    assert lines and all("time" not in line for line in lines)
