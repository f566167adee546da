"""`load()` in a child process: what a reload of a running gslbd calls.

Validating a configuration is pure Python proportional to its files (a 50 MB
topology.csv of bad lines: tens of seconds and hundreds of MB), and with
`workers = 1` the process that reloads is the one that answers. So gslbd
runs `python -m gslb.config.isolated DIR` (gslb/childproc.py: started
without a fork of gslbd) and awaits it, answering meanwhile: the child
reads, validates and compiles, and writes back on its stdout, pickled,
either the compiled `Config` or the `ConfigError` (at most MAX_PROBLEMS
problems and how many more). Its memory goes when it exits; a
child that takes longer than `timeout` seconds is killed and the reload
rejected. Starting the interpreter costs about half a second per reload,
none of it in gslbd; a thread would have shared the GIL with the answers,
in 5 ms turns (bench/README.md, "Answers while the control plane works").
"""

from __future__ import annotations

import asyncio
import pickle
import sys
from pathlib import Path

from gslb import childproc, collector
from gslb.config.loader import load
from gslb.errors import ConfigError, Problem
from gslb.model import Config

TIMEOUT = 300.0  # seconds a reload may spend reading and validating
CHILD_NICE = 10  # the validating child yields the CPU to the answering parent


async def load_isolated(directory: str | Path, timeout: float = TIMEOUT) -> Config:
    """What `load(directory)` returns or raises, computed in a child process."""
    where = str(directory)
    argv = (sys.executable, "-m", __name__, where)
    try:
        done = await asyncio.wait_for(childproc.run(argv, nice=CHILD_NICE), timeout)
    except TimeoutError:
        raise _failed(where, f"not validated within {timeout:g} s") from None
    try:
        # In a thread: a topology of 100,000 records is a second of unpickling.
        with collector.paused():
            result = await asyncio.to_thread(pickle.loads, done.output)
    except Exception:
        lines = done.errors.decode(errors="replace").strip().splitlines()
        last = lines[-1][:200] if lines else f"exit status {done.returncode}"
        raise _failed(where, f"validation failed: {last}") from None
    if isinstance(result, ConfigError):
        raise result
    if not isinstance(result, Config):
        raise _failed(where, f"validation returned {type(result).__name__}")
    return result


def _failed(directory: str, message: str) -> ConfigError:
    return ConfigError([Problem(directory, None, "", None, message)])


def main(directory: str) -> int:
    try:
        result: Config | ConfigError = load(directory)
    except ConfigError as err:
        result = err
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
