"""The compiled parts, both optional: everything else is in pyproject.toml.

- gslb/server/_batchio.c (recvmmsg/sendmmsg for UDP): without a C compiler
  or Python's headers gslbd serves UDP through the pure-Python loop
  (gslb/server/batchio.py).
- The query path compiled with mypyc (the modules in gslb/compiled.py,
  `MODULES`): the same typed Python as C extension modules. Without mypy
  (a build requirement, pyproject.toml) or a C compiler, or when mypyc
  fails, the build goes on without them and gslb runs those modules from
  their sources; `GSLB_PURE=1` at build time skips them (a quicker build).
  After a build the sources' digests are written beside them
  (gslb/_compiled.txt), so a source changed since is never run compiled.
"""

from __future__ import annotations

import os
import runpy
import sys
import time
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
COMPILED: dict[str, Any] = runpy.run_path(str(HERE / "gslb" / "compiled.py"))
MARK = "_gslb_mypyc"  # an Extension attribute: one of mypyc's


def say(message: str) -> None:
    print(f"gslb setup.py: {message}", file=sys.stderr, flush=True)


def mypyc_extensions() -> list[Extension]:
    """mypyc's extension modules for the query path, or none (and why)."""
    if os.environ.get("GSLB_PURE", "") not in ("", "0"):
        say("GSLB_PURE is set: the query path is not compiled")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as err:
        say(f"mypyc is not installed ({err}): the query path is not compiled")
        return []
    started = time.monotonic()
    try:
        extensions: list[Extension] = mypycify(
            list(COMPILED["MODULES"]),
            opt_level="3",
            group_name=COMPILED["GROUP"],
            target_dir=str(Path("build") / "mypyc"),
        )
    except (Exception, SystemExit) as err:  # mypyc exits on a type error
        say(f"mypyc failed ({err}): the query path is not compiled")
        return []
    say(
        f"mypyc made C for {len(COMPILED['MODULES'])} modules in {time.monotonic() - started:.0f} s"
    )
    for ext in extensions:
        ext.optional = True  # a failure is handled below, for the whole group
        setattr(ext, MARK, True)
    return extensions


class BuildExt(build_ext):
    """build_ext that adds mypyc's modules when it is set up (not whenever
    setup.py is read: pip reads it three times per install), and builds them
    all or none: their shims import one shared library."""

    def finalize_options(self) -> None:
        modules = self.distribution.ext_modules
        if not any(getattr(e, MARK, False) for e in modules):
            modules.extend(mypyc_extensions())
        super().finalize_options()

    def run(self) -> None:
        self._mypyc_failed = False
        self._forget_build()
        super().run()
        if any(getattr(e, MARK, False) for e in self.extensions) and not self._mypyc_failed:
            self._write_stamp()

    def build_extension(self, ext: Extension) -> None:
        if not getattr(ext, MARK, False):
            super().build_extension(ext)
            return
        if self._mypyc_failed:
            return
        try:
            super().build_extension(ext)
        except Exception as err:  # CompileError, LinkError: no compiler or headers
            self._mypyc_failed = True
            say(f"compiling {ext.name} failed ({err}): the query path is not compiled")
            for other in self.extensions:  # what was built of the group goes
                if getattr(other, MARK, False):
                    Path(self.get_ext_fullpath(other.name)).unlink(missing_ok=True)

    def _package_dir(self) -> Path:
        """Where gslb's files end up: the source tree (editable) or the build."""
        return HERE / "gslb" if self.inplace else Path(self.build_lib) / "gslb"

    def _forget_build(self) -> None:
        """A new build replaces the last one whole: its stamp and, in the
        source tree, its extension modules (one left from a build that now
        fails would shadow its source)."""
        (self._package_dir() / COMPILED["STAMP"]).unlink(missing_ok=True)
        if self.inplace:
            for source in COMPILED["MODULES"]:
                base = HERE / source.removesuffix(".py")
                for built in base.parent.glob(f"{base.name}.*.so"):
                    built.unlink()
            for built in (HERE / "gslb").glob("_compiled__mypyc.*.so"):
                built.unlink()

    def _write_stamp(self) -> None:
        path = self._package_dir() / COMPILED["STAMP"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(COMPILED["stamp"](HERE))


setup(
    cmdclass={"build_ext": BuildExt},
    ext_modules=[
        Extension(
            "gslb.server._batchio",
            ["gslb/server/_batchio.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
            optional=True,
        )
    ],
)
