"""What the configuration reads: regular files, up to a size.

`wideips.toml`, `topology.csv` and the zone files are opened without waiting
(a FIFO has no writer to wait for), must be regular files (not a FIFO, a
device such as /dev/zero, or a directory) and at most `max_file_size` bytes
(`[server] max_file_size`, 64 MiB by default; `wideips.toml` itself, read
before that setting is known, always at most the default), and UTF-8. Any
other file is one clear problem, never a hang or a MemoryError.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from gslb.model import ServerSettings

DEFAULT_MAX_FILE_SIZE = ServerSettings().max_file_size


class FileRejected(ValueError):
    """A file that cannot be read as configuration; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot read: {reason}")
        self.reason = reason


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading if it is a regular file; FileRejected if it
    is not, FileNotFoundError if it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FileRejected(str(exc.strerror)) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise FileRejected(f"not a regular file ({_kind(mode)})")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_text(path: Path, limit: int = DEFAULT_MAX_FILE_SIZE) -> str:
    """The text of the regular file `path`, of at most `limit` bytes."""
    try:
        opened = open_regular(path)
    except FileNotFoundError as exc:
        raise FileRejected(str(exc.strerror)) from None
    with opened as file:
        try:
            data = file.read(limit + 1)
        except OSError as exc:
            raise FileRejected(str(exc.strerror)) from None
    if len(data) > limit:
        raise FileRejected(f"larger than max_file_size ({limit} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileRejected("not UTF-8 text") from None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"
