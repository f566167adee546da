import pytest

from gslb.algorithms import REGISTRY
from gslb.algorithms.ratio import sequence
from tests.unit.factories import candidates, context, names

METHOD = REGISTRY["ratio"]

NAMES = ("a", "b", "c")


@pytest.mark.parametrize(
    ("ratios", "firsts"),
    [
        ((1,), "a"),
        ((1, 1), "ab"),
        ((2, 1), "aba"),
        ((3, 1), "aaba"),
        ((1, 3), "babb"),
        ((1, 1, 1), "abc"),
        ((1, 1, 2), "cabc"),
        ((5, 1, 1), "aabacaa"),  # nginx's smooth weighted round robin example
    ],
)
def test_smooth_weighted_sequence_over_two_cycles(ratios, firsts):
    ctx = context()
    cs = candidates(*NAMES[: len(ratios)], ratios=ratios)
    got = "".join(METHOD.select(cs, ctx).members[0].name for _ in range(2 * len(firsts)))
    assert got == firsts * 2


@pytest.mark.parametrize(
    ("weights", "expected"),
    [((3, 1), (0, 0, 1, 0)), ((5, 1, 1), (0, 0, 1, 0, 2, 0, 0)), ((2, 2), (0, 1, 0, 1))],
)
def test_sequence_positions(weights, expected):
    assert sequence(weights) == expected


def test_the_others_follow_in_configured_order():
    ctx = context()
    cs = candidates("a", "b", "c", ratios=(1, 1, 2))
    got = [names(METHOD.select(cs, ctx).members) for _ in range(4)]
    assert got == [("c", "a", "b"), ("a", "b", "c"), ("b", "a", "c"), ("c", "a", "b")]


def test_reports_the_chosen_ratio():
    ctx = context()
    cs = candidates("a", "b", ratios=(3, 1))
    assert [dict(METHOD.select(cs, ctx).metrics) for _ in range(4)] == [
        {"ratio": 3},
        {"ratio": 3},
        {"ratio": 1},
        {"ratio": 3},
    ]


def test_unsuccessful_without_candidates():
    verdict = METHOD.select((), context())
    assert (verdict.kind, verdict.reason) == ("unsuccessful", "no available member")
