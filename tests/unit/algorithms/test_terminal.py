import pytest

from gslb.algorithms import REGISTRY
from tests.unit.factories import candidates, context


@pytest.mark.parametrize(
    ("method", "kind", "reason"),
    [
        ("return_to_dns", "return_to_dns", "return_to_dns"),
        ("drop_packet", "drop", "drop_packet"),
        ("fallback_ip", "fallback_ip", "fallback_ip"),
        ("none", "none", "skipped"),
    ],
)
@pytest.mark.parametrize("offered", [(), ("a", "b")])
def test_verdict_kind_whatever_the_candidates(method, kind, reason, offered):
    verdict = REGISTRY[method].select(candidates(*offered), context())
    assert (verdict.kind, verdict.members, verdict.reason) == (kind, (), reason)
