"""A child process started without stalling the event loop, and awaited on it.

asyncio's own (uvloop's) subprocess support forks gslbd and waits for the
child to exec: the fork copies the page tables and the child then faults
in the pages it touches before exec, proportional to gslbd's memory (230-280
ms for a gslbd holding a million LDNS entries, measured: bench/README.md),
all of it with no query answered. `subprocess.Popen` starts the child with
vfork: under a millisecond at any size. Its output is read as it comes
(the pipe watched by the event loop) and its exit polled.

Used for every process gslbd starts while it answers: the reload's
validating child (gslb/config/isolated.py) and external monitors.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

POLL = 0.01  # seconds between looks at whether the child has exited, after its output ended


@dataclass(frozen=True, slots=True)
class Finished:
    returncode: int
    output: bytes  # stdout (with stderr, when merged)
    errors: bytes  # stderr (empty when merged)


async def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    merge_errors: bool = False,
    new_session: bool = False,
    nice: int = 0,
) -> Finished:
    """Run `argv` to its end, `nice` steps below gslbd's priority (so that
    on a busy machine the child waits, not the answers); cancelled, the child
    (and with `new_session` its whole process group) is killed and reaped."""
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_errors else errors,
            env=None if env is None else dict(env),
            start_new_session=new_session,
        )
        assert child.stdout is not None
        try:
            if nice:  # set from here: a preexec_fn would rule out vfork
                lower = os.getpriority(os.PRIO_PROCESS, 0) + nice
                with contextlib.suppress(ProcessLookupError):  # gone already
                    os.setpriority(os.PRIO_PROCESS, child.pid, lower)
            output = await _read_all(child.stdout.fileno())
            while child.poll() is None:
                await asyncio.sleep(POLL)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                if new_session:
                    os.killpg(child.pid, signal.SIGKILL)
                else:
                    child.kill()
            child.wait()
            raise
        finally:
            child.stdout.close()
        errors.seek(0)
        return Finished(child.returncode, output, errors.read())


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
