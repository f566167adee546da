"""gslbd's stop gives each step that waits on others (clients, the bus) a
bounded time: a step that never ends is left, with a warning naming it."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from gslb.server.app import bounded


async def test_a_step_that_never_ends_is_left_after_its_limit(caplog: pytest.LogCaptureFixture):
    never = asyncio.Event()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="gslb.server"):
        await bounded("sync", never.wait(), 0.2)
    assert 0.2 <= time.monotonic() - started < 5.0
    assert [r.getMessage() for r in caplog.records] == [
        "stopping: step=sync not done within 0.2 s, left"
    ]


async def test_a_step_that_ends_in_time_is_awaited_whole(caplog: pytest.LogCaptureFixture):
    done: list[str] = []

    async def step() -> None:
        await asyncio.sleep(0.05)
        done.append("closed")

    with caplog.at_level(logging.WARNING, logger="gslb.server"):
        await bounded("listeners", step(), 2.0)
    assert done == ["closed"]
    assert caplog.records == []
