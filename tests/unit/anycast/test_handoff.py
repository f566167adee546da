"""The files between gslbd and its gate: the stopping marker and the gate's report."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import replace
from ipaddress import ip_network
from pathlib import Path

import pytest

from gslb.anycast import handoff
from gslb.model import AnycastPrefix, AnycastSettings


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def test_a_living_gslbd_within_its_drain_is_stopping(tmp_path: Path):
    marker = tmp_path / "run" / "gslbd.stopping"
    assert not handoff.stopping(marker, 1000.0)
    handoff.mark_stopping(marker, os.getpid(), until=1002.0)
    assert [handoff.stopping(marker, t) for t in (1000.0, 1007.0, 1007.1)] == [True, True, False]


def test_a_dead_gslbd_marker_holds_nothing_and_is_cleared_by_the_next(tmp_path: Path, dead_pid):
    marker = tmp_path / "gslbd.stopping"
    handoff.mark_stopping(marker, dead_pid, until=2e9)
    assert not handoff.stopping(marker, 1e9)
    handoff.unmark_stopping(marker, os.getpid())
    assert not marker.exists()


def test_a_living_other_gslbd_marker_is_left_alone(tmp_path: Path):
    marker = tmp_path / "gslbd.stopping"
    handoff.mark_stopping(marker, os.getppid(), until=2e9)
    handoff.unmark_stopping(marker, os.getpid())
    assert marker.exists()
    handoff.unmark_stopping(marker, os.getppid())
    assert not marker.exists()


@pytest.mark.parametrize("text", ["", "{", "[]", '{"pid": "1", "until": 5}', '{"pid": 1}'])
def test_a_garbled_marker_is_no_marker(tmp_path: Path, text: str):
    marker = tmp_path / "gslbd.stopping"
    marker.write_text(text)
    assert not handoff.stopping(marker, 0.0)


SETTINGS = AnycastSettings(
    prefixes=(AnycastPrefix(ip_network("198.51.100.53/32"), "198.51.100.53", 53),),
    shutdown_drain=0.2,
)


def test_drain_marks_waits_and_a_second_signal_ends_it(tmp_path: Path):
    settings = replace(SETTINGS, stopping_file=str(tmp_path / "stopping"))

    async def drained(second_signal_after: float | None) -> float:
        signalled = asyncio.Event()
        signalled.set()  # the SIGTERM that started the stop
        loop = asyncio.get_running_loop()
        if second_signal_after is not None:
            loop.call_later(second_signal_after, signalled.set)
        start = loop.time()
        await handoff.drain(settings, os.getpid(), signalled)
        assert handoff.stopping(settings.stopping_file, time.time())
        return loop.time() - start

    assert 0.2 <= asyncio.run(drained(None)) < 2.0
    assert asyncio.run(drained(0.05)) < 0.19
    nothing = replace(settings, shutdown_drain=0.0, stopping_file=str(tmp_path / "none"))
    asyncio.run(handoff.drain(nothing, os.getpid(), asyncio.Event()))
    assert not Path(nothing.stopping_file).exists()


def test_gate_status_lines_and_a_silent_gate(tmp_path: Path):
    settings = replace(SETTINGS, state_file=str(tmp_path / "anycast.json"))
    assert handoff.gate_status(settings, 100.0) == [
        f"no report from gslb-anycast in {settings.state_file}"
    ]
    row = {"prefix": "198.51.100.53/32", "state": "withdrawn", "reason": "no_answer",
           "detail": "timeout", "since": 90.0, "told": "withdrawn"}  # fmt: skip
    handoff.write_json(settings.state_file, {"updated": 99.0, "prefixes": [row]})
    assert handoff.gate_status(settings, 100.0) == [
        "198.51.100.53/32 withdrawn (no_answer: timeout) for 10.0 s"
    ]
    assert handoff.gate_status(settings, 160.0) == [
        "198.51.100.53/32 withdrawn (no_answer: timeout) for 70.0 s"
        " (report 61 s old: is gslb-anycast running?)"
    ]
    untold = {**row, "state": "announced", "reason": "answering", "detail": "", "told": None}
    handoff.write_json(settings.state_file, {"updated": 99.0, "prefixes": [untold]})
    assert handoff.gate_status(settings, 100.0) == [
        "198.51.100.53/32 announced (answering) for 10.0 s (not yet told to the routing daemon)"
    ]
