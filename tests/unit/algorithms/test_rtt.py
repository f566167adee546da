import pytest

from gslb.algorithms import REGISTRY
from tests.unit.factories import NO_FRESH_PATHS, candidates, context, names, path

METHOD = REGISTRY["rtt"]
ABC = candidates("a", "b", "c")  # in data centers 0, 1, 2


@pytest.mark.parametrize(
    ("paths", "expected", "metrics"),
    [
        (
            {0: path(30_000), 1: path(10_000), 2: path(20_000)},
            ("b", "c", "a"),
            {"b": 10_000, "c": 20_000, "a": 30_000},
        ),
        # lower RTT wins even with more hops and a worse completion rate
        (
            {0: path(20_000, hops=2), 1: path(15_000, hops=30, completion_rate=5000)},
            ("b", "a", "c"),
            {"b": 15_000, "a": 20_000},
        ),
        ({0: path(20_000), 2: path(10_000)}, ("c", "a", "b"), {"c": 10_000, "a": 20_000}),
        ({2: path(10_000)}, ("c", "a", "b"), {"c": 10_000}),  # unmeasured: configured order
        (  # ties keep configured order
            {0: path(10_000), 1: path(10_000), 2: path(10_000)},
            ("a", "b", "c"),
            {"a": 10_000, "b": 10_000, "c": 10_000},
        ),
        (  # a stale path counts as no path
            {0: path(20_000), 1: path(30_000), 2: path(5_000, age=3000)},
            ("a", "b", "c"),
            {"a": 20_000, "b": 30_000},
        ),
        (  # exactly path_ttl old is still fresh
            {0: path(20_000), 1: path(10_000, age=2400)},
            ("b", "a", "c"),
            {"b": 10_000, "a": 20_000},
        ),
    ],
)
def test_lowest_rtt_first(paths, expected, metrics):
    verdict = METHOD.select(ABC, context(paths=paths))
    assert (verdict.kind, names(verdict.members), dict(verdict.metrics)) == (
        "pick",
        expected,
        metrics,
    )


def test_path_ttl_comes_from_the_context():
    paths = {0: path(20_000), 1: path(10_000, age=120)}
    verdict = METHOD.select(ABC, context(paths=paths, path_ttl=60))
    assert names(verdict.members) == ("a", "b", "c")


@pytest.mark.parametrize("paths", NO_FRESH_PATHS)
def test_unsuccessful_without_fresh_paths(paths):
    verdict = METHOD.select(ABC, context(ldns="192.0.2.53", paths=paths))
    assert (verdict.kind, verdict.members, verdict.reason) == (
        "unsuccessful",
        (),
        "no fresh path data for 192.0.2.53",
    )


def test_unsuccessful_without_candidates():
    assert METHOD.select((), context(paths={0: path()})).kind == "unsuccessful"
