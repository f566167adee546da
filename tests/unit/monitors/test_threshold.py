import pytest

from gslb.monitors.threshold import Threshold, combine


def run(results: str, rise: int = 2, fall: int = 3) -> list[str]:
    """Feed '+' (success) and '-' (failure); the state after each."""
    t = Threshold(rise, fall)
    states = []
    for i, r in enumerate(results):
        t.observe(r == "+", r, float(i))
        states.append(t.state)
    return states


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ("+", ["up"]),  # the first result decides at once
        ("-", ["down"]),
        ("+--+---", ["up", "up", "up", "up", "up", "up", "down"]),  # fall 3, in a row
        ("-+-++", ["down", "down", "down", "down", "up"]),  # rise 2, in a row
        ("+---+-++", ["up", "up", "up", "down", "down", "down", "down", "up"]),
    ],
)
def test_rise_and_fall(results, expected):
    assert run(results) == expected


def test_observe_says_when_the_state_changed():
    t = Threshold(1, 1)
    assert [t.observe(ok, "", 0.0) for ok in (True, True, False, False, True)] == [
        True, False, True, False, True,
    ]  # fmt: skip
    assert (t.detail, t.checked_at) == ("", 0.0)


@pytest.mark.parametrize(
    ("states", "quorum", "expected"),
    [
        ((), 0, "up"),
        (("up", "up"), 0, "up"),
        (("up", "down"), 0, "down"),
        (("up", "unknown"), 0, "unknown"),
        (("down", "unknown"), 0, "down"),
        (("up", "down", "down"), 1, "up"),
        (("up", "down", "unknown"), 2, "unknown"),
        (("up", "down", "down"), 2, "down"),
        (("unknown", "unknown"), 1, "unknown"),
    ],
)
def test_combine(states, quorum, expected):
    assert combine(states, quorum) == expected
