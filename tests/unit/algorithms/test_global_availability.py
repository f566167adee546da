import pytest

from gslb.algorithms import REGISTRY
from tests.unit.factories import candidates, context, names

METHOD = REGISTRY["global_availability"]


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        (("a", "b", "c"), ("a", "b", "c")),
        (("b", "c"), ("b", "c")),  # a is down: the next in configured order
        (("c",), ("c",)),
        (("c", "a", "b"), ("c", "a", "b")),  # configured order, not name order
    ],
)
def test_picks_in_configured_order(offered, expected):
    verdict = METHOD.select(candidates(*offered), context())
    assert (verdict.kind, names(verdict.members), verdict.reason) == (
        "pick",
        expected,
        "first available in configured order",
    )


def test_preemptive_when_the_first_member_recovers():
    ctx = context()
    a, b, c = candidates("a", "b", "c")
    assert names(METHOD.select((b, c), ctx).members) == ("b", "c")
    assert names(METHOD.select((a, b, c), ctx).members) == ("a", "b", "c")


def test_unsuccessful_without_candidates():
    verdict = METHOD.select((), context())
    assert (verdict.kind, verdict.members, verdict.reason) == (
        "unsuccessful",
        (),
        "no available member",
    )
