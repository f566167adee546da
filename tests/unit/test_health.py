import pytest

from gslb.health import Health
from gslb.model import Config
from tests.unit.factories import ConfigBuilder


def config(*, cnc_enabled: bool = True, tel2_enabled: bool = True) -> Config:
    return (
        ConfigBuilder()
        .dc("CNC", enabled=cnc_enabled)
        .dc("TEL")
        .vs("cnc1", "192.0.2.1", "CNC")
        .vs("tel1", "192.0.2.11", "TEL")
        .vs("tel2", "192.0.2.12", "TEL", enabled=tel2_enabled)
        .build()
    )


UP = (True, True, True)


@pytest.mark.parametrize(
    ("cfg", "health", "expected"),
    [
        (config(), Health(UP, (True, True)), (True, True, True)),
        (config(tel2_enabled=False), Health(UP, (True, True)), (True, True, False)),
        (config(cnc_enabled=False), Health(UP, (True, True)), (False, True, True)),
        (config(), Health(UP, (True, False)), (True, False, False)),  # TEL link down
        (config(), Health(UP, (False, True)), (False, True, True)),
        (config(), Health((True, False, True), (True, True)), (True, False, True)),
        (config(), Health(UP, (True, True), frozenset({"tel1"})), (True, False, True)),
        (config(), Health(UP, (True, True), frozenset({"tel1", "cnc1"})), (False, False, True)),
        (config(), Health(UP, (True, True), frozenset({"TEL", "nosuch"})), (True, True, True)),
        (
            config(tel2_enabled=False),
            Health((False, True, True), (True, True), frozenset({"tel1"})),
            (False, False, False),
        ),
    ],
)
def test_available(cfg, health, expected):
    assert health.available(cfg) == expected


def test_initial_is_everything_up():
    assert Health.initial(config()) == Health((True, True, True), (True, True))
    assert Health.initial(config()).available(config(cnc_enabled=False)) == (False, True, True)
