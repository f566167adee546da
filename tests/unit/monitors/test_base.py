"""BaseMonitor.check: the one wrapper around every monitor type's probe."""

from __future__ import annotations

import asyncio
import errno
import time
from ipaddress import ip_address
from typing import ClassVar

import pytest

from gslb.monitors import REGISTRY
from gslb.monitors.base import BaseMonitor, CheckResult, Endpoint, Settings, down, up

LOCAL = ip_address("127.0.0.1")


class Scripted(BaseMonitor[Settings]):
    """Does what it is told: return a result, raise, or sleep."""

    name: ClassVar[str] = "scripted"

    def __init__(self, outcome: CheckResult | BaseException | float) -> None:
        self.outcome = outcome
        self.calls: list[tuple[Endpoint, float]] = []

    async def probe(self, at: Endpoint, spec: Settings, timeout: float) -> CheckResult:
        self.calls.append((at, timeout))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        if isinstance(self.outcome, float):
            await asyncio.sleep(self.outcome)
            return up("late")
        return self.outcome


class Patient(Scripted):
    timeout_detail: ClassVar[str] = "timeout (killed)"


async def check(monitor: Scripted, timeout: float = 1.0) -> CheckResult:
    return await monitor.check(LOCAL, 80, source=None, timeout=timeout, spec=Settings())


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (down("status 503"), (False, "status 503")),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), (False, "connection refused")),
        (ConnectionResetError(errno.ECONNRESET, "reset"), (False, "connection reset")),
        (OSError(errno.EHOSTUNREACH, "unreachable"), (False, "hostunreach")),
        (TimeoutError(), (False, "timeout")),
        (EOFError(), (False, "EOFError")),
        (asyncio.IncompleteReadError(b"", 2), (False, "IncompleteReadError")),
    ],
)
async def test_failures_are_results(outcome, expected):
    monitor = Scripted(outcome)
    result = await check(monitor)
    assert ((result.ok, result.detail), result.latency) == (expected, None)
    assert monitor.calls == [(Endpoint(LOCAL, 80, None), 1.0)]


async def test_an_answer_is_timed_unless_the_probe_timed_it():
    timed = await check(Scripted(up("connected")))
    assert timed.ok and timed.detail == "connected"
    assert timed.latency is not None and 0 <= timed.latency < 0.5
    own = await check(Scripted(CheckResult(True, "echo reply", 0.042)))
    assert own == CheckResult(True, "echo reply", 0.042)


async def test_the_deadline_is_the_wrappers():
    started = time.monotonic()
    assert await check(Scripted(5.0), timeout=0.1) == down("timeout")
    assert await check(Patient(5.0), timeout=0.1) == down("timeout (killed)")
    assert time.monotonic() - started < 1.0


async def test_a_bug_is_not_a_result():
    # The runner logs it and counts the check down: a monitor bug must be seen.
    with pytest.raises(ZeroDivisionError):
        await check(Scripted(ZeroDivisionError()))


def test_every_monitor_type_writes_only_its_probe():
    for monitor in REGISTRY.values():
        assert isinstance(monitor, BaseMonitor), monitor
        assert type(monitor).check is BaseMonitor.check, f"{monitor.name} wraps its own check"
