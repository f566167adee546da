"""The query path compiled with mypyc, or run from its Python sources.

`setup.py` (`pip install -e .`, `make venv`) compiles the modules in
`MODULES` with mypyc when it can: the same typed Python, no second source.
Each gets an extension module beside its `.py` (`gslb/dns/answer.cpython-
311-x86_64-linux-gnu.so`, sharing `gslb/_compiled__mypyc...so`), and
Python's import prefers an extension module to a `.py` in the same
directory. Without mypy or a C compiler the build goes on without them.

gslb imports the sources instead (`pure()`), through a finder put first on
`sys.meta_path` by `gslb/__init__.py` before any of them is imported:

- with `GSLB_PURE=1` in the environment (the UDP loop follows it too:
  gslb/server/batchio.py); CI runs the query path's tests both ways;
- when a source has changed since the build (`STAMP` holds each compiled
  source's SHA-256 as it was built): stale compiled code never runs, a
  warning says to build again;
- when there is no stamp (not built, or extension modules left from
  another build).

Only the standard library here: `setup.py` reads `MODULES` from this file.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from collections.abc import Sequence
from importlib.machinery import SOURCE_SUFFIXES, FileFinder, ModuleSpec, SourceFileLoader
from pathlib import Path
from types import ModuleType

# What mypyc compiles (bench/README.md "The query path compiled" says what
# each bought). Not gslb/snapshot.py: SnapshotHolder is subclassed in Python,
# which a compiled class forbids.
MODULES = (
    "gslb/dns/wire.py",
    "gslb/dns/answer.py",
    "gslb/dns/replycache.py",
    "gslb/dns/ldns.py",
    "gslb/dns/zone.py",
    "gslb/decide/plan.py",
    "gslb/decide/pipeline.py",
    "gslb/decide/memo.py",
    "gslb/decide/decision.py",
    "gslb/decide/persistence.py",
    "gslb/decide/topology.py",
    "gslb/algorithms/__init__.py",
    "gslb/algorithms/base.py",
    "gslb/algorithms/completion_rate.py",
    "gslb/algorithms/global_availability.py",
    "gslb/algorithms/hops.py",
    "gslb/algorithms/qos.py",
    "gslb/algorithms/random.py",
    "gslb/algorithms/ratio.py",
    "gslb/algorithms/round_robin.py",
    "gslb/algorithms/rtt.py",
    "gslb/algorithms/static_persist.py",
    "gslb/algorithms/terminal.py",
    "gslb/algorithms/topology.py",
    "gslb/proximity.py",
    "gslb/counters.py",
)
GROUP = "gslb._compiled"  # mypyc's shared library: gslb/_compiled__mypyc.*.so
STAMP = "_compiled.txt"  # in the package: "<source path> <sha256>" per compiled module
_ROOT = Path(__file__).resolve().parent  # the gslb package


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stamp(root: Path) -> str:
    """What `STAMP` holds for the sources under `root` (the directory holding gslb/)."""
    return "".join(f"{m} {digest(root / m)}\n" for m in MODULES)


def built() -> bool:
    """Whether a mypyc build is installed (whether or not it is used)."""
    return (_ROOT / STAMP).is_file()


def stale() -> list[str]:
    """The compiled modules whose source changed since the build (none if none was built)."""
    try:
        lines = (_ROOT / STAMP).read_text().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        source, _, sha = line.partition(" ")
        path = _ROOT.parent / source
        if not path.is_file() or digest(path) != sha:
            out.append(source)
    return out


def forced() -> bool:
    """Whether `GSLB_PURE` asks for the Python sources."""
    return os.environ.get("GSLB_PURE", "") not in ("", "0")


class SourcesFirst:
    """A meta-path finder: gslb's submodules from their `.py` files, never an
    extension module (packages and anything without a `.py` as usual)."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if not name.startswith("gslb.") or not path:
            return None
        for entry in path:
            spec = FileFinder(entry, (SourceFileLoader, SOURCE_SUFFIXES)).find_spec(name)
            if spec is not None and spec.loader is not None:
                return spec
        return None


_SOURCES_FIRST = SourcesFirst()


def choose() -> None:
    """Make gslb import its sources when it should: called by gslb/__init__.py
    before any other gslb module is imported. Extension modules without a
    stamp (left from another build) are never run either."""
    if forced() or not built():
        sys.meta_path.insert(0, _SOURCES_FIRST)
        return
    changed = stale()
    if changed:
        warnings.warn(
            f"gslb: {', '.join(changed)} changed since mypyc compiled it: running the"
            " Python sources; build again with `make venv` or `pip install -e .`",
            stacklevel=2,
        )
        sys.meta_path.insert(0, _SOURCES_FIRST)


def pure() -> bool:
    """Whether gslb runs from its sources (GSLB_PURE, a stale build or none)."""
    return _SOURCES_FIRST in sys.meta_path


def module_name(source: str) -> str:
    """gslb/dns/wire.py -> gslb.dns.wire; gslb/algorithms/__init__.py -> gslb.algorithms."""
    return source.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def running() -> list[str]:
    """Those of `MODULES` imported so far that run compiled."""
    names = (module_name(m) for m in MODULES)
    return [n for n in names if not getattr(sys.modules.get(n), "__file__", ".py").endswith(".py")]


def describe() -> str:
    """How the query path runs, for the start-up log."""
    if not built():
        return "python (not compiled: mypyc or a C compiler was missing at install)"
    if forced():
        return "python (GSLB_PURE is set)"
    if _SOURCES_FIRST in sys.meta_path:
        return "python (the compiled build is older than its sources)"
    return f"mypyc ({len(MODULES)} modules)"
