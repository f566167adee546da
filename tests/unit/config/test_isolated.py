"""load() in a child process returns or raises what load() does in this one."""

from __future__ import annotations

import asyncio

import pytest

from gslb.config import load
from gslb.config.isolated import load_isolated
from gslb.errors import ConfigError
from tests.unit.config.conftest import ETC, MakeConfig


def test_a_good_configuration_comes_back_compiled() -> None:
    assert asyncio.run(load_isolated(ETC)) == load(ETC)


def test_a_bad_one_comes_back_as_its_problems(make_config: MakeConfig) -> None:
    bad = "".join(f"dc:CNC,10.0.0.{n}/8,1\n" for n in range(1, 301))
    directory = make_config(("topology.csv", "", bad))
    with pytest.raises(ConfigError) as here:
        load(directory)
    with pytest.raises(ConfigError) as there:
        asyncio.run(load_isolated(directory))
    assert there.value.problems == here.value.problems
    assert there.value.more == here.value.more == 200


def test_a_child_too_slow_is_killed_and_the_reload_rejected() -> None:
    with pytest.raises(ConfigError) as caught:
        asyncio.run(load_isolated(ETC, timeout=0.01))
    assert caught.value.report() == f"{ETC}: not validated within 0.01 s"
