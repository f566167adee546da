import pytest

from gslb.algorithms import REGISTRY
from tests.unit.factories import NO_FRESH_PATHS, candidates, context, names, path

METHOD = REGISTRY["hops"]
ABC = candidates("a", "b", "c")  # in data centers 0, 1, 2


@pytest.mark.parametrize(
    ("paths", "expected", "metrics"),
    [
        (  # fewest hops wins whatever the RTT
            {0: path(1_000, hops=12), 1: path(90_000, hops=5), 2: path(5_000, hops=8)},
            ("b", "c", "a"),
            {"b": 5, "c": 8, "a": 12},
        ),
        ({1: path(hops=9)}, ("b", "a", "c"), {"b": 9}),
        (
            {0: path(hops=6), 1: path(hops=6), 2: path(hops=3)},
            ("c", "a", "b"),
            {"c": 3, "a": 6, "b": 6},
        ),
        ({0: path(hops=4, age=2401), 1: path(hops=9)}, ("b", "a", "c"), {"b": 9}),
    ],
)
def test_fewest_hops_first(paths, expected, metrics):
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
