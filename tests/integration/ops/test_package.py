"""`pip install .` as a user gets it: a wheel with gslbd and gslbctl that run
on their own, and a sample configuration to start from."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import dns.message
import dns.query
import pytest

from gslb import __version__
from tests.integration.conftest import ROOT, free_port

SAMPLE = sorted(p.name for p in (ROOT / "etc").iterdir() if p.is_file())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel and installed (without dependencies, which
    the test's environment has) into a directory of its own."""
    base = tmp_path_factory.mktemp("package")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(base / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    (wheel,) = (base / "dist").glob("gslb-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n.removeprefix("gslb/sample/") for n in names
                  if n.startswith("gslb/sample/")) == SAMPLE  # fmt: skip
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    target = base / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    return target


def run(target: Path, script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("GSLB_SOCKET", None)
    return subprocess.run([str(target / "bin" / script), *args], capture_output=True, text=True,
                          timeout=30, cwd=cwd, env=env)  # fmt: skip


def test_the_scripts_run_from_the_installed_package(installed: Path, tmp_path: Path):
    for script in ("gslbd", "gslbctl"):
        done = run(installed, script, "--version", cwd=tmp_path)
        assert (done.returncode, done.stdout) == (0, f"{script} {__version__}\n")
    where = subprocess.run(
        [sys.executable, "-c", "import gslb; print(gslb.__file__)"],
        env={**os.environ, "PYTHONPATH": str(installed)}, cwd=tmp_path,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(installed))  # not the source tree


def test_the_sample_config_serves(installed: Path, tmp_path: Path):
    config = tmp_path / "gslb"
    written = run(installed, "gslbd", "--write-sample-config", str(config), cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert written.stdout.splitlines() == [str(config / name) for name in SAMPLE]
    assert (config / "wideips.toml").read_bytes() == (ROOT / "etc" / "wideips.toml").read_bytes()
    again = run(installed, "gslbd", "--write-sample-config", str(config), cwd=tmp_path)
    assert again.returncode == 1
    assert again.stderr == f"gslbd: {config / SAMPLE[0]} exists; not overwriting\n"
    check = run(installed, "gslbctl", "check", str(config), cwd=tmp_path)
    assert check.returncode == 0 and check.stdout.startswith("ok: "), check.stderr

    port = free_port()
    toml = config / "wideips.toml"
    text = toml.read_text().replace('listen = ["127.0.0.1:5300"]', f'listen = ["127.0.0.1:{port}"]')
    toml.write_text(text + '\n[probes]\ndatacenters = []\n[control]\nhttp = ""\n')
    env = {**os.environ, "PYTHONPATH": str(installed)}
    proc = subprocess.Popen([str(installed / "bin" / "gslbd"), "--config", str(config)],
                            cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "ready:" in line:
                break
        reply = dns.query.udp(dns.message.make_query("mail.gslb.example.", "A"), "127.0.0.1",
                              port=port, timeout=2)  # fmt: skip
        assert [str(r) for rrset in reply.answer for r in rrset] == ["127.0.0.25"]
        status = run(installed, "gslbctl", "--config", str(config), "status", cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        assert f"pid:              {proc.pid}\n" in status.stdout
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
