"""The temporary files of atomic saves, and those a killed save left behind.

A file saved atomically (`replacing`) is written to `.NAME.PID.tmp` beside
it, synced and renamed over `NAME`. A process killed between the two leaves the temporary
file: `remove_leftovers` deletes those whose PID is gone (gslbd calls it at
start-up for the LDNS table, gslb/ldnsfile.py, and for the health state,
gslb/statefile.py); a living process's save is left alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)


def temporary(target: Path, pid: int | None = None) -> Path:
    """Where process `pid` (this one by default) writes `target` before the rename."""
    return target.with_name(f".{target.name}.{os.getpid() if pid is None else pid}.tmp")


@contextlib.contextmanager
def replacing(target: Path, *, sync: bool = True) -> Iterator[TextIO]:
    """A temporary file that replaces `target` when the block completes (made
    durable first with `sync`), and is removed if it does not (an error, a
    cancelled save): a reader sees the old content or the new, never half."""
    tmp = temporary(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tmp.open("w", encoding="utf-8") as out:
            yield out
            if sync:
                out.flush()
                os.fsync(out.fileno())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def remove_leftovers(path: str | os.PathLike[str], area: str) -> int:
    """Delete the temporary files of saves of `path` killed half-way (by
    processes that are gone), logged as `area`; how many."""
    target = Path(path)
    removed = 0
    for tmp in target.parent.glob(f".{target.name}.*.tmp"):
        pid = tmp.name[len(target.name) + 2 : -4]
        if not pid.isdigit() or alive(int(pid)):
            continue
        try:
            tmp.unlink()
            removed += 1
        except OSError as exc:
            log.warning("%s: leftover not removed file=%s error=%s", area, tmp, exc)
    if removed:
        log.info("%s: removed leftover temporary files=%d", area, removed)
    return removed


def alive(pid: int) -> bool:
    """Does process `pid` exist (ours or someone else's)?"""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
