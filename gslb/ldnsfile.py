"""The LDNS table's file: written atomically, a slice at a time.

`gslbd` saves the table every `[probes] save_interval` seconds and on stop
(temporary file `.NAME.PID.tmp`, fsync, rename), so a restart keeps what
was learned. Turning a million entries into JSON is seconds of pure Python,
and with `workers = 1` the process that does it also answers the queries.
Measured at 1,000,000 entries with queries arriving meanwhile
(bench/save_stall.py, bench/README.md): `json.dump` in a thread holds the
GIL in 5 ms slices and the rows are built on the loop first, so replies
waited for seconds; a slice of at most `SLICE` seconds of work on the event
loop, then a turn of the loop for whatever arrived, keeps every reply within
a few milliseconds for a save a little longer overall. Entries added after
the save began wait for the next one; entries that went meanwhile are left
out; each row is read whole within one slice.

A save killed half-way leaves its temporary file behind: `remove_leftovers`
deletes those of processes that are gone (gslbd calls it at start-up).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from gslb.proximity import FILE_VERSION, LdnsTable

log = logging.getLogger(__name__)

SLICE = 0.002  # seconds of serialising before the event loop gets a turn
_CHECK_EVERY = 64  # rows between looks at the clock


def temporary(target: Path, pid: int | None = None) -> Path:
    return target.with_name(f".{target.name}.{os.getpid() if pid is None else pid}.tmp")


@contextmanager
def _replacing(target: Path) -> Iterator[TextIO]:
    """A temporary file that replaces `target` if the block completes, and is
    removed if it does not (an error, a cancelled save)."""
    tmp = temporary(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tmp.open("w", encoding="utf-8") as out:
            yield out
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def _header(now: float) -> str:
    return json.dumps({"version": FILE_VERSION, "saved_at": now, "entries": []})[:-2]


def save(path: str | os.PathLike[str], rows: list[list[object]], now: float) -> None:
    """Write `LdnsTable.rows()` at once (tests, benchmarks); errors are logged."""
    target = Path(path)
    try:
        with _replacing(target) as out:
            out.write(_header(now))
            out.write(json.dumps(rows)[1:])
            out.write("}")
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        log.error("ldns_table: not saved file=%s error=%s", target, exc)


async def save_in_slices(
    path: str | os.PathLike[str],
    table: LdnsTable,
    datacenters: Sequence[str],
    now: float,
    *,
    slice_seconds: float = SLICE,
) -> int:
    """Write `table` without holding the event loop for more than about
    `slice_seconds` at a time; how many entries were written (-1: not saved,
    logged)."""
    target = Path(path)
    clock = time.perf_counter
    started = clock()
    written = 0
    try:
        with _replacing(target) as out:
            out.write(_header(now))
            keys = table.keys()
            batch: list[list[object]] = []
            deadline = clock() + slice_seconds
            for i, key in enumerate(keys, start=1):
                row = table.row(key, datacenters)
                if row is not None:
                    batch.append(row)
                if i % _CHECK_EVERY == 0 and clock() >= deadline:
                    written += _write_rows(out, batch, written)
                    batch = []
                    await asyncio.sleep(0)
                    deadline = clock() + slice_seconds
            written += _write_rows(out, batch, written)
            out.write("]}")
            out.flush()
            await asyncio.to_thread(os.fsync, out.fileno())
    except OSError as exc:
        log.error("ldns_table: not saved file=%s error=%s", target, exc)
        return -1
    log.info(
        "ldns_table: saved entries=%d seconds=%.2f file=%s", written, clock() - started, target
    )
    return written


def _write_rows(out: TextIO, rows: list[list[object]], before: int) -> int:
    if rows:
        text = json.dumps(rows)[1:-1]
        out.write("," + text if before else text)
    return len(rows)


def remove_leftovers(path: str | os.PathLike[str]) -> int:
    """Delete the temporary files of saves killed half-way (by processes that
    are gone); how many."""
    target = Path(path)
    removed = 0
    for tmp in target.parent.glob(f".{target.name}.*.tmp"):
        pid = tmp.name[len(target.name) + 2 : -4]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            tmp.unlink()
            removed += 1
        except OSError as exc:
            log.warning("ldns_table: leftover not removed file=%s error=%s", tmp, exc)
    if removed:
        log.info("ldns_table: removed leftover temporary files=%d", removed)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
