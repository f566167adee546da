from __future__ import annotations

import pickle

from gslb.errors import MAX_PROBLEMS, ConfigError, Problem, Problems


def at(file: str, line: int | None) -> Problem:
    return Problem(file, line, "", None, "bad")


def test_problems_hold_the_first_in_reading_order_and_count_the_rest() -> None:
    found = Problems(limit=3)
    found.extend([at("b", 5), at("b", 1), at("a", 9), at("b", 7), at("a", None), at("c", 1)])
    assert [(p.file, p.line) for p in found.ordered()] == [("a", None), ("a", 9), ("b", 1)]
    assert found.more == 3 and found.total == 6
    outer = Problems([at("0", 1)], limit=3)
    outer += found  # what the loader does with the compiler's
    assert [(p.file, p.line) for p in outer.ordered()] == [("0", 1), ("a", None), ("a", 9)]
    assert outer.more == 4 and outer.ordered().more == 4


def test_a_config_error_reports_a_hundred_then_how_many_more() -> None:
    err = ConfigError([at("f.csv", n) for n in range(1, 1001)])
    lines = err.report().splitlines()
    assert len(err.problems) == MAX_PROBLEMS == len(lines) - 1
    assert lines[0] == "f.csv:1: bad" and lines[99] == "f.csv:100: bad"
    assert lines[-1] == "... and 900 more"
    assert str(err) == err.report()


def test_a_config_error_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(ConfigError([at("f", 1)], more=5)))
    assert err.problems == (at("f", 1),) and err.more == 5


def test_a_long_value_is_shortened() -> None:
    line = str(Problem("f", 2, "x", "v" * 1000, "bad"))
    assert line == f"f:2: x: bad (value: '{'v' * 199}... (1002 characters))"
