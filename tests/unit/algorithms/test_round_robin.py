import pytest

from gslb.algorithms import REGISTRY
from tests.unit.factories import FakeCursors, candidates, context, names

METHOD = REGISTRY["round_robin"]


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        (("a",), [("a",), ("a",)]),
        (("a", "b"), [("a", "b"), ("b", "a"), ("a", "b")]),
        (
            ("a", "b", "c"),
            [("a", "b", "c"), ("b", "c", "a"), ("c", "a", "b"), ("a", "b", "c"), ("b", "c", "a")],
        ),
    ],
)
def test_rotates_one_step_per_call(offered, expected):
    ctx = context()
    got = [names(METHOD.select(candidates(*offered), ctx).members) for _ in expected]
    assert got == expected


def test_reports_the_cursor_it_used():
    ctx = context()
    cs = candidates("a", "b", "c")
    assert [dict(METHOD.select(cs, ctx).metrics) for _ in range(4)] == [
        {"cursor": 0},
        {"cursor": 1},
        {"cursor": 2},
        {"cursor": 0},
    ]


def test_cursor_is_kept_per_tier_and_scope():
    cursors = FakeCursors()
    ctx = context(cursors=cursors)
    cs = candidates("a", "b", "c")
    first = names(METHOD.select(cs, ctx).members)
    ctx.scope = 1
    other_pool = names(METHOD.select(cs, ctx).members)
    ctx.scope = 0
    second = names(METHOD.select(cs, ctx).members)
    ctx.tier = "pool"
    pool_tier = names(METHOD.select(cs, ctx).members)
    assert (first, other_pool, second, pool_tier) == (
        ("a", "b", "c"),
        ("a", "b", "c"),
        ("b", "c", "a"),
        ("a", "b", "c"),
    )
    assert cursors.positions == {
        ("round_robin", "member", 0): 2,
        ("round_robin", "member", 1): 1,
        ("round_robin", "pool", 0): 1,
    }


def test_rotation_continues_when_a_member_drops_out():
    ctx = context()
    a, b, c = candidates("a", "b", "c")
    got = [names(METHOD.select(cs, ctx).members) for cs in [(a, b, c)] * 3 + [(a, c)] * 2]
    # cursors 3 and 4 over two members start at positions 1 and 0
    assert got == [("a", "b", "c"), ("b", "c", "a"), ("c", "a", "b"), ("c", "a"), ("a", "c")]


def test_unsuccessful_without_candidates_and_cursor_untouched():
    cursors = FakeCursors()
    verdict = METHOD.select((), context(cursors=cursors))
    assert (verdict.kind, verdict.reason, cursors.positions) == (
        "unsuccessful",
        "no available member",
        {},
    )
