"""How a gslb process runs: its log format and its event loop (uvloop)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any


def run(main: Coroutine[Any, Any, int], log_level: str) -> int:
    """Log `event: key=value` lines to stderr and run `main` to its exit code."""
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(main)
    return uvloop.run(main)
