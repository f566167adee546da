"""One gslbd per configuration: an exclusive lock in its state directory.

gslbd takes `flock(LOCK_EX | LOCK_NB)` on `[control] state_dir`/gslbd.lock
before it touches anything another gslbd of the same configuration owns (the
control socket, the saved state, the listen addresses), writes its PID in
it, and holds it until it exits: the kernel lets go of the lock when the
process dies, however it dies, so a stale file never blocks a start. A
second gslbd finds the lock taken and stops with one line naming the first.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from gslb.errors import GslbError

FILE_NAME = "gslbd.lock"


class AlreadyRunning(GslbError):
    """Another gslbd holds the lock of this configuration."""


class InstanceLock:
    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning (or GslbError: cannot create it)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise GslbError(f"cannot create the lock {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise AlreadyRunning(
                f"another gslbd (pid {holder}) runs with this configuration "
                f"(it holds {self.path}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
