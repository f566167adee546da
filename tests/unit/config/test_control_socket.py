"""gslbctl --config DIR: the control socket as gslbd of DIR puts it."""

from __future__ import annotations

from gslb.config import control_socket
from tests.unit.config.conftest import MakeConfig

W = "wideips.toml"


def test_default_is_under_the_directory(make_config: MakeConfig):
    directory = make_config()
    assert control_socket(directory) == f"{directory}/run/gslb.sock"


def test_relative(make_config: MakeConfig):
    relative = make_config((W, "", '\n[control]\nsocket = "s/ctl.sock"\n'))
    assert control_socket(relative) == f"{relative}/s/ctl.sock"


def test_absolute(make_config: MakeConfig):
    directory = make_config((W, "", '\n[control]\nsocket = "/run/gslb/gslb.sock"\n'))
    assert control_socket(directory) == "/run/gslb/gslb.sock"


def test_mistakes_elsewhere_do_not_matter(make_config: MakeConfig):
    # Being edited: an unknown key, a bad value; gslbctl must still reach gslbd.
    directory = make_config(
        (W, "", '\n[control]\nsocket = "x.sock"\n[probes]\nbogus = 1\n'),
        (W, "ttl = 300", "ttl = -5"),
    )
    assert control_socket(directory) == f"{directory}/x.sock"


def test_unreadable_gives_the_default(make_config: MakeConfig):
    broken = make_config((W, "", "\n[control\n"))
    assert control_socket(broken) == f"{broken}/run/gslb.sock"
    assert control_socket(broken / "missing") == f"{broken}/missing/run/gslb.sock"
