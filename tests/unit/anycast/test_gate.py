"""The gate's state machine, tick by tick, with the time given by the test."""

from __future__ import annotations

from collections import Counter

import pytest

from gslb.anycast.gate import Check, Gate, Transition

OK = Check(True, "ok")
TIMEOUT = Check(False, "timeout")
REFUSED = Check(False, "refused")


def run(gate: Gate, ticks: list[tuple[Check | None, str | None]], step: float = 0.25) -> list:
    """Feed `ticks` at `step` seconds apart from t = 1; each tick's (state, reason)."""
    out = []
    for i, (check, hold) in enumerate(ticks):
        gate.observe(check, hold, 1.0 + i * step)  # type: ignore[arg-type]
        out.append((gate.state, gate.reason))
    return out


def test_starts_withdrawn_and_announces_after_rise_answers():
    gate = Gate(rise=2, fall=2, now=0.0)
    assert (gate.state, gate.reason, gate.since) == ("withdrawn", "starting", 0.0)
    assert gate.observe(OK, None, 0.25) is None
    assert gate.observe(OK, None, 0.5) == Transition("announced", "answering", "", 0.5)
    assert (gate.state, gate.since) == ("announced", 0.5)


def test_withdraws_after_fall_failures_in_a_row_with_the_last_detail():
    gate = Gate(rise=2, fall=2, now=0.0)
    assert run(gate, [(OK, None), (OK, None), (TIMEOUT, None), (OK, None), (TIMEOUT, None)]) == [
        ("withdrawn", "starting"),
        ("announced", "answering"),
        ("announced", "answering"),  # one failure, then an answer: the count restarts
        ("announced", "answering"),
        ("announced", "answering"),
    ]
    assert gate.observe(REFUSED, None, 9.0) == Transition("withdrawn", "no_answer", "refused", 9.0)
    assert (gate.detail, gate.since) == ("refused", 9.0)


def test_after_a_withdrawal_rise_fresh_answers_are_needed():
    gate = Gate(rise=3, fall=1, now=0.0)
    got = run(gate, [(OK, None)] * 3 + [(TIMEOUT, None)] + [(OK, None)] * 3)
    assert [s for s, _ in got] == ["withdrawn"] * 2 + ["announced", "withdrawn"] + [
        "withdrawn",
        "withdrawn",
        "announced",
    ]


def test_failures_before_the_first_announcement_say_no_answer_without_a_transition():
    gate = Gate(rise=2, fall=2, now=0.0)
    assert gate.observe(REFUSED, None, 0.25) is None
    assert gate.observe(REFUSED, None, 0.5) is None
    assert (gate.state, gate.reason, gate.detail) == ("withdrawn", "no_answer", "refused")
    assert gate.transitions == Counter()
    assert gate.since == 0.0


@pytest.mark.parametrize("hold", ["drain_file", "gslbd_stopping", "shutdown"])
def test_a_hold_withdraws_at_once_though_gslbd_answers(hold):
    gate = Gate(rise=2, fall=2, now=0.0)
    run(gate, [(OK, None), (OK, None)])
    assert gate.observe(OK, hold, 5.0) == Transition("withdrawn", hold, "", 5.0)  # type: ignore[arg-type]
    assert gate.observe(OK, hold, 5.25) is None  # type: ignore[arg-type]
    assert gate.transitions == Counter({("announced", "answering"): 1, ("withdrawn", hold): 1})


def test_answers_during_a_hold_do_not_count_after_it():
    gate = Gate(rise=2, fall=2, now=0.0)
    got = run(
        gate,
        [(OK, None), (OK, None)]
        + [(OK, "drain_file")] * 4  # drained: gslbd answers on
        + [(OK, None), (OK, None)],  # undrained: two fresh answers, then announced
    )
    assert got == [("withdrawn", "starting"), ("announced", "answering")] + [
        ("withdrawn", "drain_file")
    ] * 4 + [("withdrawn", "drain_file"), ("announced", "answering")]


def test_gslbd_stopping_then_gone_stays_withdrawn():
    # The marker lasts until the listeners are closed; after it, only refusals.
    gate = Gate(rise=2, fall=2, now=0.0)
    got = run(
        gate,
        [(OK, None), (OK, None), (OK, "gslbd_stopping"), (OK, "gslbd_stopping")]
        + [(REFUSED, None)] * 3
        + [(OK, None), (OK, None)],  # restarted
    )
    assert got == [
        ("withdrawn", "starting"),
        ("announced", "answering"),
        ("withdrawn", "gslbd_stopping"),
        ("withdrawn", "gslbd_stopping"),
        ("withdrawn", "gslbd_stopping"),
        ("withdrawn", "no_answer"),
        ("withdrawn", "no_answer"),
        ("withdrawn", "no_answer"),
        ("announced", "answering"),
    ]


def test_a_tick_without_a_check_changes_no_count():
    gate = Gate(rise=2, fall=2, now=0.0)
    run(gate, [(OK, None), (None, None), (OK, None)])
    assert gate.state == "announced"
    gate.observe(TIMEOUT, None, 3.0)
    gate.observe(None, None, 3.25)
    assert gate.state == "announced"
    gate.observe(TIMEOUT, None, 3.5)
    assert gate.state == "withdrawn"


def test_due_tells_the_change_once_then_reasserts_on_the_clock():
    gate = Gate(rise=1, fall=1, now=0.0, reassert=10.0)
    assert gate.due(0.0) == "withdrawn"  # unknown routing state: withdraw first
    gate.told_result("withdrawn", True, 0.1)
    assert gate.due(0.2) is None
    gate.observe(OK, None, 1.0)
    assert gate.due(1.0) == "announced"
    gate.told_result("announced", True, 1.1)
    assert [gate.due(t) for t in (1.2, 11.0, 11.1)] == [None, None, "announced"]
    gate.told_result("announced", True, 11.2)
    assert gate.due(21.1) is None


def test_a_failed_command_is_retried_after_the_retry_delay():
    gate = Gate(rise=1, fall=1, now=0.0, retry=1.0)
    gate.observe(OK, None, 0.0)
    gate.told_result("announced", False, 0.5)
    assert gate.told is None
    assert [gate.due(t) for t in (0.75, 1.49, 1.5)] == [None, None, "announced"]
    # A change while waiting to retry: the retry delay still holds.
    gate.observe(TIMEOUT, None, 1.5)
    assert (gate.due(1.4), gate.due(1.6)) == (None, "withdrawn")


def test_without_reassert_nothing_is_told_again():
    gate = Gate(rise=1, fall=1, now=0.0)
    gate.told_result("withdrawn", True, 0.0)
    assert gate.due(1e9) is None
