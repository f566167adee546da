import pytest

from gslb.algorithms import REGISTRY
from tests.unit.factories import candidates, context, names

METHOD = REGISTRY["topology"]


@pytest.mark.parametrize(
    ("scores", "expected", "metrics"),
    [
        ({"c": 100}, ("c",), {"c": 100}),
        ({"a": 10, "b": 50, "c": 100}, ("c", "b", "a"), {"c": 100, "b": 50, "a": 10}),
        ({"b": 50, "c": 100}, ("c", "b"), {"c": 100, "b": 50}),  # score 0 is left out
        ({"a": 50, "b": 100, "c": 100}, ("b", "c", "a"), {"b": 100, "c": 100, "a": 50}),
        ({"a": 7, "b": 7, "c": 7}, ("a", "b", "c"), {"a": 7, "b": 7, "c": 7}),
    ],
)
def test_highest_score_first_ties_in_configured_order(scores, expected, metrics):
    verdict = METHOD.select(candidates("a", "b", "c"), context(scores=scores))
    assert (verdict.kind, names(verdict.members), dict(verdict.metrics)) == (
        "pick",
        expected,
        metrics,
    )


@pytest.mark.parametrize(
    ("offered", "scores"),
    [
        (("a", "b", "c"), {}),
        (("a", "b"), {"c": 100}),  # only a candidate that is not offered matches
        ((), {"a": 100}),
    ],
)
def test_unsuccessful_when_no_record_matches(offered, scores):
    verdict = METHOD.select(candidates(*offered), context(ldns="192.0.2.53", scores=scores))
    assert (verdict.kind, verdict.members, verdict.reason) == (
        "unsuccessful",
        (),
        "no topology record matches 192.0.2.53",
    )
