"""The gate process's loop with a scripted gslbd and a routing daemon that
records what it is told; the gates' time is the test's clock."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field, replace
from ipaddress import ip_network
from pathlib import Path

import pytest

from gslb.anycast import handoff
from gslb.anycast.gate import Check, State
from gslb.anycast.routing import Told
from gslb.anycast.runner import Runner, result_label
from gslb.model import AnycastPrefix, AnycastSettings, IPNetwork

OK, TIMEOUT = Check(True, "ok"), Check(False, "timeout")
PREFIX = AnycastPrefix(ip_network("198.51.100.53/32"), "198.51.100.53", 53)


@dataclass
class Recorder:
    told: list[tuple[State, str, float]] = field(default_factory=list)
    clock: list[float] = field(default_factory=lambda: [0.0])
    fail: set[int] = field(default_factory=set)  # which calls fail

    async def tell(self, state: State, prefix: IPNetwork) -> Told:
        self.told.append((state, str(prefix), self.clock[0]))
        return Told(len(self.told) - 1 not in self.fail, "")


def scripted(runner_box: list[Runner], script: list, clock: list[float], drain: Path):
    """A checker replaying `script`: a Check, or "drain"/"undrain" (then OK);
    each call is 0.25 s on the clock; when it runs out, a timeout and the stop."""
    steps = iter(script)

    async def check(address: str, port: int, name: str, timeout: float) -> Check:
        assert (address, port, name) == ("198.51.100.53", 53, "gslb.example.")
        clock[0] += 0.25
        step = next(steps, None)
        if step is None:
            runner_box[0].stop.set()
            return TIMEOUT
        if step == "drain":
            drain.touch()
            return OK
        if step == "undrain":
            drain.unlink()
            return OK
        return step

    return check


def run(tmp_path: Path, script: list, fail: set[int] = frozenset()) -> tuple[Runner, Recorder]:
    settings = AnycastSettings(
        prefixes=(PREFIX,),
        check_zone="gslb.example.",
        interval=0.001,
        drain_file=str(tmp_path / "drain"),
        stopping_file=str(tmp_path / "stopping"),
        state_file=str(tmp_path / "anycast.json"),
        reassert=0.0,
    )
    recorder = Recorder(fail=set(fail))
    box: list[Runner] = []
    checker = scripted(box, script, recorder.clock, tmp_path / "drain")

    async def main() -> Runner:
        runner = Runner(settings, recorder, checker, clock=lambda: recorder.clock[0],
                        wall=lambda: 1000.0 + recorder.clock[0])  # fmt: skip
        box.append(runner)
        await asyncio.wait_for(runner.run(), 10)
        return runner

    return asyncio.run(main()), recorder


def test_withdraw_first_announce_on_answers_drain_and_shut_down(tmp_path: Path):
    runner, recorder = run(tmp_path, [OK, OK, OK, "drain", OK, "undrain", OK, TIMEOUT, TIMEOUT, OK])
    assert recorder.told == [
        ("withdrawn", "198.51.100.53/32", 0.25),  # at the first tick, whatever was before
        ("announced", "198.51.100.53/32", 0.5),
        ("withdrawn", "198.51.100.53/32", 1.0),  # the drain file
        ("announced", "198.51.100.53/32", 1.75),  # two answers after it went
        ("withdrawn", "198.51.100.53/32", 2.25),  # two timeouts
        ("withdrawn", "198.51.100.53/32", 2.75),  # the gate's own stop
    ]
    assert runner.checks == {("198.51.100.53/32", "ok"): 8, ("198.51.100.53/32", "timeout"): 3}
    assert runner.commands == {
        ("198.51.100.53/32", "withdrawn", "ok"): 4,
        ("198.51.100.53/32", "announced", "ok"): 2,
    }
    report = json.loads((tmp_path / "anycast.json").read_text())
    assert report["prefixes"] == [
        {
            "prefix": "198.51.100.53/32",
            "address": "198.51.100.53:53",
            "state": "withdrawn",
            "reason": "shutdown",
            "detail": "",
            "since": 1002.25,  # withdrawn since the timeouts; the stop changed the reason
            "told": "withdrawn",
            "last_check": "timeout",
        }
    ]


def test_gslbd_stopping_marker_withdraws(tmp_path: Path):
    handoff.mark_stopping(tmp_path / "stopping", os.getpid(), until=1001.0)
    # The marker holds until 1001 + GRACE on the gate's wall clock (1000 + clock).
    _, recorder = run(tmp_path, [OK] * 30)
    announced = [t for s, _, t in recorder.told if s == "announced"]
    assert announced and announced[0] > 1.0 + handoff.GRACE


def test_a_failed_command_is_tried_again_and_logged_once(tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG, logger="gslb.anycast")
    _, recorder = run(tmp_path, [OK] * 12, fail={1, 2})  # two announces fail
    assert [(s, t) for s, _, t in recorder.told] == [
        ("withdrawn", 0.25),
        ("announced", 0.5),  # failed
        ("announced", 1.5),  # RETRY later: failed again
        ("announced", 2.5),
        ("withdrawn", 3.25),
    ]
    failed = [r.levelname for r in caplog.records if "command failed" in r.getMessage()]
    assert failed == ["ERROR", "DEBUG"]


def test_result_labels_are_bounded():
    details = ["ok", "timeout", "refused", "rcode SERVFAIL", "no SOA", "error 101"]
    labels = [result_label(Check(d == "ok", d)) for d in details]
    assert labels == ["ok", "timeout", "refused", "bad_answer", "bad_answer", "error"]
    assert replace(OK, detail="x").ok


def test_a_failing_watch_still_withdraws(tmp_path: Path):
    settings = AnycastSettings(prefixes=(PREFIX,), state_file=str(tmp_path / "a.json"))
    recorder = Recorder()

    async def broken(address: str, port: int, name: str, timeout: float) -> Check:
        raise RuntimeError("a bug")

    async def main() -> None:
        await Runner(settings, recorder, broken, clock=lambda: 0.0).run()

    with pytest.raises(RuntimeError, match="a bug"):
        asyncio.run(main())
    assert [s for s, _, _ in recorder.told] == ["withdrawn"]


def test_a_new_reason_while_withdrawn_is_logged_not_told(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO, logger="gslb.anycast")
    # Announced; gslbd stops answering; the operator drains it meanwhile.
    _, recorder = run(tmp_path, [OK, OK, TIMEOUT, TIMEOUT, "drain", OK])
    messages = [r.getMessage() for r in caplog.records]
    states = [m for m in messages if m.startswith("anycast: prefix=")]
    assert states == [
        "anycast: prefix=198.51.100.53/32 state=announced reason=answering detail=-",
        "anycast: prefix=198.51.100.53/32 state=withdrawn reason=no_answer detail=timeout",
        # Still withdrawn, now for the drain file: logged, not told again.
        "anycast: prefix=198.51.100.53/32 state=withdrawn reason=drain_file detail=-",
        "anycast: prefix=198.51.100.53/32 state=withdrawn reason=shutdown detail=-",
    ]
    assert [s for s, _, _ in recorder.told] == ["withdrawn", "announced", "withdrawn", "withdrawn"]
