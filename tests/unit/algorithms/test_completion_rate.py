import pytest

from gslb.algorithms import REGISTRY
from tests.unit.factories import NO_FRESH_PATHS, candidates, context, names, path

METHOD = REGISTRY["completion_rate"]
ABC = candidates("a", "b", "c")  # in data centers 0, 1, 2


@pytest.mark.parametrize(
    ("paths", "expected", "metrics"),
    [
        (  # highest completion rate wins whatever the RTT
            {
                0: path(1_000, completion_rate=9000),
                1: path(90_000, completion_rate=10_000),
                2: path(5_000, completion_rate=9500),
            },
            ("b", "c", "a"),
            {"b": 10_000, "c": 9500, "a": 9000},
        ),
        ({2: path(completion_rate=0)}, ("c", "a", "b"), {"c": 0}),
        (
            {0: path(completion_rate=8000), 1: path(completion_rate=8000)},
            ("a", "b", "c"),
            {"a": 8000, "b": 8000},
        ),
        (
            {0: path(completion_rate=10_000, age=9999), 2: path(completion_rate=100)},
            ("c", "a", "b"),
            {"c": 100},
        ),
    ],
)
def test_highest_completion_rate_first(paths, expected, metrics):
    verdict = METHOD.select(ABC, context(paths=paths))
    assert (verdict.kind, names(verdict.members), dict(verdict.metrics)) == (
        "pick",
        expected,
        metrics,
    )


@pytest.mark.parametrize("paths", NO_FRESH_PATHS)
def test_unsuccessful_without_fresh_paths(paths):
    verdict = METHOD.select(ABC, context(ldns="192.0.2.53", paths=paths))
    assert (verdict.kind, verdict.reason) == ("unsuccessful", "no fresh path data for 192.0.2.53")
