import pytest

from gslb.algorithms import REGISTRY
from gslb.algorithms.qos import DEFAULTS
from gslb.model import Pool
from tests.unit.factories import NO_FRESH_PATHS, candidates, context, names, path

METHOD = REGISTRY["qos"]

# a: fast but half its probes lost and far away; b: 10 % slower, lossless, close.
PATHS = {
    0: path(10_000, hops=30, completion_rate=5000),
    1: path(11_000, hops=2, completion_rate=10_000),
}


def qos_pool(**weights: float) -> Pool:
    return Pool("web", (), qos=tuple(weights.items()))


def test_big_ip_default_weights():
    assert DEFAULTS == {
        "rtt": 50.0,
        "completion_rate": 5.0,
        "hops": 0.0,
        "topology": 0.0,
        "vs_capacity": 0.0,
    }


@pytest.mark.parametrize(
    ("pool", "expected", "metrics"),
    [
        # rtt 50 * best/own + completion_rate 5 * own/10000; hops weigh nothing
        (None, ("a", "b", "c"), {"a": 50 + 2.5, "b": 50 * 10 / 11 + 5}),
        (qos_pool(), ("a", "b", "c"), {"a": 50 + 2.5, "b": 50 * 10 / 11 + 5}),
        (qos_pool(completion_rate=50), ("b", "a", "c"), {"b": 50 * 10 / 11 + 50, "a": 50 + 25}),
        (qos_pool(rtt=0, hops=10), ("b", "a", "c"), {"b": 10 + 5, "a": 10 * 2 / 30 + 2.5}),
        (qos_pool(rtt=0, completion_rate=0), ("a", "b", "c"), {"a": 0, "b": 0}),
    ],
)
def test_weighted_sum_with_per_pool_overrides(pool, expected, metrics):
    verdict = METHOD.select(candidates("a", "b", "c"), context(paths=PATHS, pool=pool))
    assert (verdict.kind, names(verdict.members)) == ("pick", expected)
    assert dict(verdict.metrics) == pytest.approx(metrics)


def test_topology_weight_scales_by_the_highest_score():
    pool = qos_pool(rtt=0, completion_rate=0, topology=10)
    ctx = context(paths=PATHS, pool=pool, scores={"a": 50, "b": 100, "c": 100})
    verdict = METHOD.select(candidates("a", "b", "c"), ctx)
    assert names(verdict.members) == ("b", "a", "c")
    assert dict(verdict.metrics) == pytest.approx({"b": 10.0, "a": 5.0})


def test_vs_capacity_weight_scales_by_the_highest_ratio():
    pool = qos_pool(rtt=0, completion_rate=0, vs_capacity=8)
    verdict = METHOD.select(
        candidates("a", "b", "c", ratios=(1, 4, 2)), context(paths=PATHS, pool=pool)
    )
    assert names(verdict.members) == ("b", "a", "c")
    assert dict(verdict.metrics) == pytest.approx({"b": 8.0, "a": 2.0})


@pytest.mark.parametrize("paths", NO_FRESH_PATHS)
def test_unsuccessful_without_fresh_paths(paths):
    verdict = METHOD.select(candidates("a", "b", "c"), context(ldns="192.0.2.53", paths=paths))
    assert (verdict.kind, verdict.reason) == ("unsuccessful", "no fresh path data for 192.0.2.53")


def test_unsuccessful_without_candidates():
    assert METHOD.select((), context(paths=PATHS)).kind == "unsuccessful"
