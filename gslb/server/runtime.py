"""How a gslb process runs: its log output and its event loop (uvloop).

    [log]
    level = "info"        # debug | info | warning | error; gslbd --log-level overrides
    format = "text"       # or "json": one object a line, for a log shipper
    timestamps = true     # false under journald, which stamps every line itself

Text lines read `2026-11-30 12:00:00,123 INFO gslb.server listening: proto=udp
...`; a JSON line holds the same: `{"time": ..., "level": "INFO", "logger":
"gslb.server", "event": "listening", "message": "listening: proto=udp ..."}`
(`event` is the word before the first colon of a message that starts with
one, as every message of gslbd does).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from gslb.model import LogSettings

_EVENT = re.compile(r"([a-z_]+):")


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def __init__(self, timestamps: bool) -> None:
        super().__init__()
        self.timestamps = timestamps

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        out: dict[str, Any] = {}
        if self.timestamps:
            out["time"] = self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{record.msecs:03.0f}"
        out |= {"level": record.levelname, "logger": record.name}
        event = _EVENT.match(message)
        if event:
            out["event"] = event.group(1)
        out["message"] = message
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(settings: LogSettings) -> None:
    """Send log lines to stderr as `settings` say (again, if called again)."""
    if settings.format == "json":
        formatter: logging.Formatter = JsonFormatter(settings.timestamps)
    else:
        stamp = "%(asctime)s " if settings.timestamps else ""
        formatter = logging.Formatter(stamp + "%(levelname)s %(name)s %(message)s")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    logging.basicConfig(level=settings.level.upper(), handlers=[handler], force=True)


def overridden(settings: LogSettings, overrides: dict[str, Any]) -> LogSettings:
    """`settings` with the command line's options (None: not given) in place."""
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def run(main: Coroutine[Any, Any, int], log: LogSettings) -> int:
    """Configure logging and run `main` to its exit code."""
    configure_logging(log)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(main)
    return uvloop.run(main)
