"""Unknown members (monitors not concluded yet): handed out only where the pool says so."""

import pytest

from gslb.health import Health
from gslb.snapshot import Snapshot
from tests.unit.factories import ConfigBuilder


def snapshot(health: Health) -> Snapshot:
    config = (
        ConfigBuilder()
        .dc("CNC", "TEL")
        .vs("cnc1", "192.0.2.1", "CNC")
        .vs("tel1", "192.0.2.11", "TEL")
        .pool("strict", ["cnc1", "tel1"])
        .pool("lenient", ["cnc1", "tel1"], available_when_unknown=True)
        .build()
    )
    return Snapshot.build(config, health=health)


@pytest.mark.parametrize(
    ("health", "strict", "lenient"),
    [
        (Health((True, True), (True, True)), ["cnc1", "tel1"], ["cnc1", "tel1"]),
        (Health((True, False), (True, True), unknown=frozenset({1})), ["cnc1"], ["cnc1", "tel1"]),
        (Health((False, False), (True, True), unknown=frozenset({0, 1})), [], ["cnc1", "tel1"]),
        # Unknown but disabled by hand, or in a data center whose link is down: never.
        (Health((True, False), (True, True), frozenset({"tel1"}), frozenset({1})), ["cnc1"],
         ["cnc1"]),
        (Health((True, False), (True, False), unknown=frozenset({1})), ["cnc1"], ["cnc1"]),
        # Known down is down for every pool.
        (Health((True, False), (True, True)), ["cnc1"], ["cnc1"]),
    ],
)  # fmt: skip
def test_members_up_per_pool(health, strict, lenient):
    snap = snapshot(health)
    assert [[c.name for c in ms] for ms in snap.members_up] == [strict, lenient]
    # `available` (per virtual server) is the strict view: unknown is not up.
    assert snap.available == tuple(c.name in strict for c in snap.members[0])


def test_available_unknown_up():
    config = snapshot(Health((True, True), (True, True))).config
    health = Health((False, False), (True, True), unknown=frozenset({1}))
    assert health.available(config) == (False, False)
    assert health.available(config, unknown_up=True) == (False, True)
