from collections import Counter
from random import Random

import pytest

from gslb.algorithms import REGISTRY
from tests.unit.factories import candidates, context, names

METHOD = REGISTRY["random"]


@pytest.mark.parametrize("seed", [0, 1, 2, 42])
@pytest.mark.parametrize("offered", [("a",), ("a", "b"), ("a", "b", "c", "d", "e")])
def test_is_a_permutation_reproducible_from_the_seed(offered, seed):
    cs = candidates(*offered)
    first = METHOD.select(cs, context(seed=seed))
    again = METHOD.select(cs, context(seed=seed))
    assert first.kind == "pick"
    assert sorted(names(first.members)) == sorted(offered)
    assert len(first.members) == len(offered)
    assert names(again.members) == names(first.members)


def test_different_seeds_give_different_orders():
    cs = candidates("a", "b", "c")
    orders = {names(METHOD.select(cs, context(seed=s)).members) for s in range(20)}
    assert len(orders) > 1


def test_each_member_comes_first_about_a_third_of_the_time():
    ctx = context()
    ctx.rng = Random(1)
    cs = candidates("a", "b", "c")
    firsts = Counter(METHOD.select(cs, ctx).members[0].name for _ in range(10_000))
    assert set(firsts) == {"a", "b", "c"}
    assert all(3000 <= n <= 3700 for n in firsts.values()), firsts


def test_unsuccessful_without_candidates():
    verdict = METHOD.select((), context())
    assert (verdict.kind, verdict.reason) == ("unsuccessful", "no available member")
