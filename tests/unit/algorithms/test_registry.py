"""What a method is, its class says; the sets everyone uses are derived from
the registry, and the flags are checked against what the methods do."""

import pytest

from gslb.algorithms import DYNAMIC, POOL_METHODS, REGISTRY, ROTATING
from gslb.algorithms.base import Algorithm
from gslb.model import Pool
from tests.unit.factories import FakeCursors, candidates, context, names, path

SCORES = {"a": 10, "b": 50, "c": 30}
PATHS = {0: path(rtt_us=300), 1: path(rtt_us=100), 2: path(rtt_us=200)}
POOL = Pool("web", ())


def test_the_derived_sets():
    assert {"rtt", "hops", "completion_rate", "qos"} == DYNAMIC
    assert {"round_robin", "ratio", "random"} == ROTATING
    assert POOL_METHODS == ("global_availability", "ratio", "round_robin", "topology", "random")
    assert {n for n, a in REGISTRY.items() if a.constant} == {
        "global_availability",
        "return_to_dns",
        "drop_packet",
        "fallback_ip",
        "none",
    }
    assert {n for n, a in REGISTRY.items() if a.needs_fallback_ip} == {"fallback_ip"}
    assert {
        n: a.fallthrough for n, a in REGISTRY.items() if a.fallthrough != "no_available_member"
    } == {
        "rtt": "no_path",
        "hops": "no_path",
        "completion_rate": "no_path",
        "qos": "no_path",
        "topology": "no_match",
    }


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_method_is_registered_under_its_name(name):
    assert isinstance(REGISTRY[name], Algorithm)
    assert REGISTRY[name].name == name


def _twenty_picks(name: str, **kw: object) -> set[tuple[str, ...]]:
    method, cursors, cs = REGISTRY[name], FakeCursors(), candidates("a", "b", "c", ratios=(1, 2, 3))
    out = set()
    for seed in range(20):
        ctx = context(scores=SCORES, paths=PATHS, seed=seed, cursors=cursors, pool=POOL, **kw)
        out.add(names(method.select(cs, ctx).members))
    return out


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_rotating_says_whether_the_same_query_may_get_another_answer(name):
    assert (len(_twenty_picks(name)) > 1) == REGISTRY[name].rotating


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_dynamic_says_whether_a_method_needs_a_path(name):
    cs = candidates("a", "b", "c")
    verdict = REGISTRY[name].select(cs, context(scores=SCORES, paths={}, pool=POOL))
    assert (verdict.kind == "unsuccessful") == REGISTRY[name].dynamic


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_constant_says_the_verdict_depends_on_the_candidates_alone(name):
    cs, cursors = candidates("a", "b", "c"), FakeCursors()
    seen = set()
    for ldns, scores, paths, seed in [
        ("192.0.2.1", SCORES, PATHS, 1),
        ("198.51.100.9", {"c": 5}, {2: path(rtt_us=5)}, 2),
        ("203.0.113.77", {}, {}, 3),
        ("192.0.2.200", {"a": 1}, {0: path(rtt_us=1)}, 4),
        ("198.51.100.1", SCORES, {}, 5),
    ]:
        ctx = context(ldns=ldns, scores=scores, paths=paths, seed=seed, cursors=cursors, pool=POOL)
        v = REGISTRY[name].select(cs, ctx)
        seen.add((v.kind, names(v.members)))
    assert (len(seen) == 1) == REGISTRY[name].constant, seen
