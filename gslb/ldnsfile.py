"""The LDNS table's file: written atomically, by a forked child process.

`gslbd` saves the table every `[probes] save_interval` seconds and on stop
(temporary file `.NAME.PID.tmp`, fsync, rename), so a restart keeps what
was learned. Turning a million entries into JSON is seconds of pure Python,
and with `workers = 1` the process that does it also answers the queries.
Measured (bench/README.md, "Answers while the control plane works"):

- `json.dump` in a thread (as before): the rows are built on the event loop
  first, then the thread holds the GIL in 5 ms turns; at 100k entries and
  1000 q/s, 844 queries lost and a p99 of 1.06 s;
- slices of 2 ms on the event loop (`save_in_slices`), a turn of the loop
  between them: nothing lost, but a process busy without pause is the one a
  loaded machine's scheduler makes wait: loop lag p99 15-27 ms, max 50-90
  ms, at 100k entries on the shared 2-core machine;
- a forked child (`save_forked`): the fork copies the page tables (2.5 ms
  at 100k entries), the child, at the lowest priority (SCHED_IDLE), writes the
  table as it was at the fork while the parent answers: loop lag p99 6-9
  ms on the same machine, and every row from one instant.

The child is in the SCHED_IDLE class (`yield_cpu`): at nice 19 it still
had a share of the CPU of its own, and on 2 busy cores a reply could wait
for it; an idle-class process runs almost only on CPU time nothing else
wants and gives way at once to gslbd woken by a query. Its disk writes go to the page
cache and the one fsync at the end, which no reply waits for, so its I/O
priority is left alone. The save when gslbd stops answers nothing any more
and is not idle.

So gslbd forks, and slices when it cannot fork. The child touches every
entry (reference counts), so the pages holding the table are copied while
it runs: up to the table's size again, for the seconds of a save. It uses
no lock another thread may hold (no logging: it reports on a pipe) and
leaves by `os._exit`.

The file (version 2) is a header line, `{"version": 2, "saved_at": T}`,
then one JSON row a line, least recently seen first (the row:
gslb/proximity.py), so loading reads a line at a time: a whole document of
a million rows parsed at once (version 1, still read) took gslbd to 1.6 GB
at start-up, where the table itself is 0.3 GB, and every fork for a save
copies the page tables of all of it.

A save killed half-way leaves its temporary file behind: `remove_leftovers`
deletes those of processes that are gone (gslbd calls it at start-up;
gslb/leftovers.py).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TextIO

from gslb import leftovers
from gslb.config.files import FileRejected, open_regular
from gslb.leftovers import replacing, temporary
from gslb.probes import PROTOCOL_NAMES
from gslb.proximity import PATH, LdnsTable

log = logging.getLogger(__name__)

VERSION = 2
SLICE = 0.002  # seconds of serialising before the event loop gets a turn
CHILD_NICE = 19  # the saving child's priority where SCHED_IDLE is refused
BATCH = 4096  # lines the saving child joins into one write
POLL = 0.02  # seconds between looks at whether the child has finished
_CHECK_EVERY = 64  # rows between looks at the clock
_PROTOCOLS = [json.dumps(p) for p in PROTOCOL_NAMES]  # by PATH's protocol byte (a stable code)


def _header(now: float) -> str:
    return json.dumps({"version": VERSION, "saved_at": now}) + "\n"


def _lines(rows: list[list[object]]) -> str:
    return "".join(f"{json.dumps(row, separators=(',', ':'))}\n" for row in rows)


def lines(table: LdnsTable, datacenters: Sequence[str]) -> Iterator[str]:
    """Every entry's row as a line of JSON, the text `_lines(table.rows())`
    gives (tests/unit/test_ldnsfile.py holds them equal), in about half the
    time: the saving child's CPU is taken from the answering parent on a
    machine of few cores. Names and protocols are encoded once; the rest
    are numbers and addresses, which need no escaping."""
    names = [json.dumps(name) if name else "" for name in datacenters]
    known = len(names)
    dumps = json.dumps
    for address, e in table.items():
        paths = ",".join(
            [
                f"[{names[dc]},{rtt},{rate},{measured},{probed},{failures},{hops},"
                f"{_PROTOCOLS[protocol]},{pending}]"
                for dc, rtt, rate, measured, probed, failures, hops, protocol, pending in (
                    PATH.iter_unpack(e.paths)
                )
                if dc < known and names[dc]
            ]
        )
        target = "null" if e.target is None else f'"{e.target}"'
        yield (
            f'["{address}",{target},{dumps(e.first_seen)},{dumps(e.last_seen)},{e.queries},'
            f"{dumps(e.protocol)},{e.failures},[{paths}]]\n"
        )


def _write(target: Path, rows: list[list[object]], now: float) -> None:
    with replacing(target) as out:
        out.write(_header(now))
        out.write(_lines(rows))


def load(
    path: str | os.PathLike[str], table: LdnsTable, datacenters: Sequence[str], now: float
) -> int:
    """Add the saved entries not expired by `now` to `table`; how many. A
    missing file is an empty table; an unreadable one is logged and ignored."""
    try:
        with open_regular(Path(path)) as file:
            header = json.loads(file.readline())
            if not isinstance(header, dict):
                raise ValueError("no header")
            if header.get("version") == 1:  # one JSON document, rows in any order
                rows = sorted(header["entries"], key=lambda row: row[3])
                return table.restore(rows, datacenters, now)
            if header.get("version") != VERSION:
                raise ValueError(f"version {header.get('version')!r}")
            return table.restore(map(json.loads, file), datacenters, now)
    except FileNotFoundError:
        return 0
    except (FileRejected, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("ldns_table: unreadable file=%s error=%s", path, exc)
        return 0


def save(path: str | os.PathLike[str], rows: list[list[object]], now: float) -> None:
    """Write `LdnsTable.rows()` at once (tests, benchmarks); errors are logged."""
    target = Path(path)
    try:
        _write(target, rows, now)
    except OSError as exc:
        log.error("ldns_table: not saved file=%s error=%s", target, exc)


async def save_forked(
    path: str | os.PathLike[str],
    table: LdnsTable,
    datacenters: Sequence[str],
    now: float,
    *,
    idle: bool = True,
) -> int:
    """Write `table` from a forked child while this process goes on; how many
    entries were written (-1: not saved, logged). Slices on the event loop
    when the process cannot fork. `idle`: the child runs almost only on CPU
    time nothing else wants (`yield_cpu`); false for the save at stop, when
    nothing is answered any more and the save should not wait."""
    target = Path(path)
    started = time.perf_counter()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        report, into = os.pipe()
    except OSError as exc:
        log.error("ldns_table: not saved file=%s error=%s", target, exc)
        return -1
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(report)
        os.close(into)
        log.warning("ldns_table: cannot fork, saving in slices error=%s", exc)
        return await save_in_slices(path, table, datacenters, now)
    if pid == 0:  # the child: no logging, no event loop, out by os._exit
        _child(report, into, target, table, datacenters, now, idle)
    os.close(into)
    try:
        while not os.waitpid(pid, os.WNOHANG)[0]:
            await asyncio.sleep(POLL)
    except BaseException:  # cancelled (gslbd stops): the child goes with its file
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        temporary(target, pid).unlink(missing_ok=True)
        raise
    finally:
        with os.fdopen(report, "rb") as reader:
            said = reader.read(4096).decode(errors="replace")
    if not said.startswith("saved "):
        log.error("ldns_table: not saved file=%s error=%s", target, said or "child died")
        return -1
    written = int(said.split()[1])
    log.info(
        "ldns_table: saved entries=%d seconds=%.2f file=%s",
        written,
        time.perf_counter() - started,
        target,
    )
    return written


def _child(
    report: int,
    into: int,
    target: Path,
    table: LdnsTable,
    datacenters: Sequence[str],
    now: float,
    idle: bool,
) -> None:
    status = 1
    try:
        os.close(report)
        gc.disable()  # a collection would walk (and copy) every page of the parent's heap
        if idle:
            yield_cpu()
        written = 0
        with replacing(target) as out:
            out.write(_header(now))
            batch: list[str] = []
            for line in lines(table, datacenters):
                batch.append(line)
                if len(batch) == BATCH:
                    out.write("".join(batch))
                    written += BATCH
                    batch = []
            out.write("".join(batch))
            written += len(batch)
        os.write(into, f"saved {written}".encode())
        status = 0
    except BaseException as exc:  # whatever it is, the parent hears of it
        with suppress(BaseException):
            os.write(into, f"{type(exc).__name__}: {exc}".encode()[:4000])
    finally:
        os._exit(status)


def yield_cpu() -> None:
    """Put this process in the SCHED_IDLE class: it runs almost only when no
    other process wants the CPU (a weight of 3 where nice 0 has 1024 and
    nice 19 15), and one that wakes (gslbd with a query) takes the CPU from
    it at once. At nice 19 it kept a share of its own, and on 2 busy
    cores the answering parent waited for it (bench/README.md,
    "Answers while the control plane works"). Where the class is refused,
    nice 19."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or refused by a sandbox
        os.nice(CHILD_NICE)


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
        with replacing(target, sync=False) as out:  # synced below, off the loop
            out.write(_header(now))
            keys = table.keys()
            batch: list[list[object]] = []
            deadline = clock() + slice_seconds
            for i, key in enumerate(keys, start=1):
                row = table.row(key, datacenters)
                if row is not None:
                    batch.append(row)
                if i % _CHECK_EVERY == 0 and clock() >= deadline:
                    written += _write_rows(out, batch)
                    batch = []
                    await asyncio.sleep(0)
                    deadline = clock() + slice_seconds
            written += _write_rows(out, batch)
            out.flush()
            await asyncio.to_thread(os.fsync, out.fileno())
    except OSError as exc:
        log.error("ldns_table: not saved file=%s error=%s", target, exc)
        return -1
    log.info(
        "ldns_table: saved entries=%d seconds=%.2f file=%s", written, clock() - started, target
    )
    return written


def _write_rows(out: TextIO, rows: list[list[object]]) -> int:
    out.write(_lines(rows))
    return len(rows)


def remove_leftovers(path: str | os.PathLike[str]) -> int:
    """Delete the temporary files of saves killed half-way (gslb/leftovers.py); how many."""
    return leftovers.remove_leftovers(path, "ldns_table")
