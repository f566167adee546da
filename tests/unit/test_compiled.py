"""The query path compiled by mypyc (gslb/compiled.py, setup.py), or run from
its sources: what a process imports in each mode, in a process of its own
(the mode is chosen when gslb is first imported)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gslb import compiled

ROOT = Path(__file__).resolve().parents[2]
# Imports the whole query path, then says where each compiled module came from.
PROBE = """
import json, sys, warnings
warnings.simplefilter("error")  # a stale build warns: fail instead
import gslb.dns.answer, gslb.algorithms, gslb.proximity
from gslb import compiled
names = [compiled.module_name(m) for m in compiled.MODULES]
print(json.dumps({
    "files": {n: sys.modules[n].__file__ for n in names},
    "describe": compiled.describe(),
}))
"""


def imported(pure: bool) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "GSLB_PURE"}
    if pure:
        env["GSLB_PURE"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_the_built_query_path_runs_compiled():
    if not compiled.built():
        # CI installs a compiler (.ci/run), so there this fails rather than skips.
        if shutil.which("cc") is None:
            pytest.skip("no C compiler: the query path is not compiled")
        pytest.fail("the query path is not compiled: run pip install -e . (make venv)")
    assert not compiled.stale(), "sources changed since the build: make venv"
    got = imported(pure=False)
    files = got["files"]
    assert isinstance(files, dict) and len(files) == len(compiled.MODULES) > 20
    not_compiled = {n: f for n, f in files.items() if not f.endswith(".so")}
    assert not_compiled == {}
    assert got["describe"] == f"mypyc ({len(compiled.MODULES)} modules)"


def test_gslb_pure_runs_every_module_from_its_source():
    got = imported(pure=True)
    files = got["files"]
    assert isinstance(files, dict) and len(files) == len(compiled.MODULES)
    assert list(files.values()) == [str(ROOT / source) for source in compiled.MODULES]
    assert got["describe"] in (
        "python (GSLB_PURE is set)",
        "python (not compiled: mypyc or a C compiler was missing at install)",
    )


def test_this_process_runs_as_gslb_pure_says():
    # The CI's second pass (make test) sets GSLB_PURE=1 for the query path's tests.
    from gslb.dns import answer

    if compiled.forced() or not compiled.built():
        assert answer.__file__.endswith("answer.py")
        assert compiled.running() == []
    else:
        assert answer.__file__.endswith(".so")
        assert "gslb.dns.answer" in compiled.running()


def test_module_names():
    assert compiled.module_name("gslb/dns/wire.py") == "gslb.dns.wire"
    assert compiled.module_name("gslb/algorithms/__init__.py") == "gslb.algorithms"


def test_a_changed_source_is_never_run_compiled(tmp_path):
    # A copy of the package with a stamp that no longer matches one source:
    # gslb warns and imports the sources (here: no extension modules at all,
    # so what is checked is the finder being put first and the warning).
    package = tmp_path / "gslb"
    shutil.copytree(ROOT / "gslb", package, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    (package / compiled.STAMP).write_text(compiled.stamp(ROOT))
    (package / "dns" / "wire.py").write_text((package / "dns" / "wire.py").read_text() + "\n")
    probe = "import sys, gslb; print(type(sys.meta_path[0]).__name__)"
    env = {k: v for k, v in os.environ.items() if k != "GSLB_PURE"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "SourcesFirst"
    assert "gslb/dns/wire.py changed since mypyc compiled it" in out.stderr


def test_without_a_stamp_the_sources_run(tmp_path):
    # Extension modules left without the build's stamp could be of any
    # source: never run (here the package is copied without either).
    shutil.copytree(
        ROOT / "gslb",
        tmp_path / "gslb",
        ignore=shutil.ignore_patterns("*.so", "_compiled.txt", "__pycache__"),
    )
    probe = "import sys, gslb; print(type(sys.meta_path[0]).__name__, gslb.compiled.describe())"
    env = {k: v for k, v in os.environ.items() if k != "GSLB_PURE"}
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", probe],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(" ", 1) == [
        "SourcesFirst",
        "python (not compiled: mypyc or a C compiler was missing at install)\n",
    ]
