"""What gslbd and its gate tell each other through files, one writer each.

gslbd -> gate, the stopping marker (`[anycast] stopping_file`): on SIGTERM
gslbd writes {"pid", "until"} and answers for `shutdown_drain` seconds, so
the gate withdraws its prefixes before the listeners close; gslbd removes
the marker when it has stopped (and a stale one at start). The gate honours
a marker only while its pid lives and `until` (+ a grace) has not passed, so
a gslbd killed mid-drain leaves nothing that blocks the next one.

gate -> gslbd, the gate's report (`[anycast] state_file`): per prefix its
state, reason and since when, rewritten on every change and every second;
`gslbctl status` shows it, with the report's age, so a dead gate shows.

Both are written whole to a temporary file and renamed into place, so a
reader sees the old content or the new, never half.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from gslb.leftovers import alive, replacing
from gslb.model import AnycastSettings

log = logging.getLogger(__name__)
GRACE = 5.0  # seconds past `until` a marker is still believed (slow stop)
STALE = 5.0  # seconds after which the gate's report is shown as old


def write_json(path: str | Path, data: Any) -> None:
    """Replace `path` with `data` as JSON, atomically; OSError is the caller's."""
    with replacing(Path(path), sync=False) as out:  # state of the moment: no fsync
        json.dump(data, out, indent=1)


def read_json(path: str | Path) -> Any:
    """The JSON in `path`; None when it is absent or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def mark_stopping(path: str | Path, pid: int, until: float) -> None:
    write_json(path, {"pid": pid, "until": until})


def unmark_stopping(path: str | Path, pid: int) -> None:
    """Remove the marker if it is `pid`'s, stale or unreadable: never a living
    other gslbd's."""
    data = read_json(path)
    owner = data.get("pid") if isinstance(data, dict) else None
    if owner == pid or not isinstance(owner, int) or not alive(owner):
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()


def stopping(path: str | Path, now: float) -> bool:
    """Does a living gslbd say, at wall-clock `now`, that it is stopping?"""
    data = read_json(path)
    if not isinstance(data, dict):
        return False
    pid, until = data.get("pid"), data.get("until")
    if not isinstance(pid, int) or not isinstance(until, int | float):
        return False
    return now <= until + GRACE and alive(pid)


async def drain(settings: AnycastSettings | None, pid: int, signalled: asyncio.Event) -> None:
    """gslbd on SIGTERM: mark itself stopping and go on answering for
    `shutdown_drain` seconds while its gate withdraws (a second signal ends it)."""
    if settings is None or settings.shutdown_drain <= 0:
        return
    seconds = settings.shutdown_drain
    try:
        mark_stopping(settings.stopping_file, pid, time.time() + seconds)
    except OSError as exc:
        log.error("stopping: marker not written file=%s error=%s", settings.stopping_file, exc)
    log.info("stopping: draining seconds=%g marker=%s", seconds, settings.stopping_file)
    signalled.clear()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await signalled.wait()


def gate_status(settings: AnycastSettings, now: float) -> list[str]:
    """The gate's report as `gslbctl status` lines, one per prefix."""
    data = read_json(settings.state_file)
    if not isinstance(data, dict) or not isinstance(data.get("prefixes"), list):
        return [f"no report from gslb-anycast in {settings.state_file}"]
    age = now - float(data.get("updated", 0.0))
    stale = f" (report {age:.0f} s old: is gslb-anycast running?)" if age > STALE else ""
    lines = []
    for row in data["prefixes"]:
        detail = f": {row['detail']}" if row.get("detail") else ""
        since = now - float(row.get("since", now))
        # The gate decided, but its command failed: the routing daemon may say otherwise.
        untold = (
            " (not yet told to the routing daemon)" if row.get("told") != row.get("state") else ""
        )
        lines.append(
            f"{row.get('prefix')} {row.get('state')} ({row.get('reason')}{detail})"
            f" for {since:.1f} s{untold}{stale}"
        )
    return lines
