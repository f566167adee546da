"""`load()` in a child process: what a reload of a running gslbd calls.

Validating a configuration is pure Python proportional to its files (a 50 MB
topology.csv of bad lines: tens of seconds and hundreds of MB), and with
`workers = 1` the process that reloads is the one that answers. So gslbd
runs `python -m gslb.config.isolated DIR` and awaits it, answering
meanwhile: the child reads, validates and compiles, and writes back on its
stdout, pickled, either the compiled `Config` or the `ConfigError` (at most
MAX_PROBLEMS problems and how many more). Its memory goes when it exits; a
child that takes longer than `timeout` seconds is killed and the reload
rejected. Starting the interpreter costs about half a second per reload,
none of it in gslbd; a thread would have shared the GIL with the answers,
in 5 ms turns (bench/README.md, "Answers while the control plane works").
"""

from __future__ import annotations

import asyncio
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from gslb.config.loader import load
from gslb.errors import ConfigError, Problem
from gslb.model import Config

TIMEOUT = 300.0  # seconds a reload may spend reading and validating


async def load_isolated(directory: str | Path, timeout: float = TIMEOUT) -> Config:
    """What `load(directory)` returns or raises, computed in a child process."""
    where = str(directory)
    with tempfile.TemporaryFile() as errors:
        # subprocess.Popen starts the child with vfork: well under a
        # millisecond, where asyncio's (uvloop's) fork of a gslbd holding a
        # million LDNS entries stopped answers for a quarter of a second.
        child = subprocess.Popen(
            [sys.executable, "-m", __name__, where],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert child.stdout is not None
        try:
            out = await asyncio.wait_for(_read_all(child.stdout.fileno()), timeout)
            while child.poll() is None:  # it exits once it has written
                await asyncio.sleep(0.01)
        except BaseException as exc:  # too slow, or cancelled: the child goes too
            child.kill()
            child.wait()
            if isinstance(exc, TimeoutError):
                raise _failed(where, f"not validated within {timeout:g} s") from None
            raise
        finally:
            child.stdout.close()
        try:
            result = pickle.loads(out)
        except Exception:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            last = lines[-1][:200] if lines else f"exit status {child.returncode}"
            raise _failed(where, f"validation failed: {last}") from None
    if isinstance(result, ConfigError):
        raise result
    if not isinstance(result, Config):
        raise _failed(where, f"validation returned {type(result).__name__}")
    return result


async def _read_all(fd: int) -> bytes:
    """Everything until end of file on the pipe `fd`, read as it comes."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        while True:
            try:
                data = os.read(fd, 1 << 16)
            except BlockingIOError:
                return
            if not data:
                if not done.done():
                    done.set_result(None)
                return
            chunks.append(data)

    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
    return b"".join(chunks)


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
