"""[[monitor]], monitor references, link monitors and [control] through load()."""

import re

import pytest

from gslb.config import load
from gslb.errors import ConfigError
from gslb.model import ControlSettings
from gslb.monitors.http import HttpSettings
from tests.unit.config.conftest import ETC, brief

TOML = "wideips.toml"
END = len((ETC / TOML).read_text().splitlines())  # appended text starts after it
MONITORS = """
[[monitor]]
name = "web"
type = "http"
interval = 5
timeout = 2
rise = 3
fall = 1
path = "/health"
status = [200, 204]
expect = "ok"

[[monitor]]
name = "gw"
type = "icmp"

[control]
socket = "/run/gslb/ctl.sock"
http = "127.0.0.1:0"
state_dir = "/var/lib/gslb"
"""
LINK = ('probe_source = "127.0.0.2"\n', 'probe_source = "127.0.0.2"\nlink_monitor = "gw"\n'
        'link_address = "127.0.0.1"\n')  # fmt: skip
VS_MONITORS = ('datacenter = "TEL"\n', 'datacenter = "TEL"\nmonitors = ["web", "gw"]\n'
               'monitor_rule = "at_least 1"\n')  # fmt: skip


def test_monitors_compile(make_config):
    cfg = load(make_config((TOML, "", MONITORS), (TOML, *LINK), (TOML, *VS_MONITORS)))
    web, gw = cfg.monitors
    assert (web.name, web.type, web.interval, web.timeout, web.rise, web.fall) == (
        "web", "http", 5.0, 2.0, 3, 1,
    )  # fmt: skip
    assert web.spec == HttpSettings(path="/health", status=[200, 204], expect=re.compile("ok"))
    assert (gw.type, gw.rise, gw.fall, gw.interval) == ("icmp", 2, 2, 10.0)
    cnc, tel = cfg.datacenters
    assert (cnc.link_monitor, str(cnc.link_address)) == ("gw", "127.0.0.1")
    assert tel.link_monitor is None
    vs_tel = cfg.virtual_servers[1]
    assert (vs_tel.monitors, vs_tel.monitor_quorum) == (("web", "gw"), 1)
    assert cfg.control == ControlSettings(
        "/run/gslb/ctl.sock", 0o600, ("127.0.0.1", 0), "/var/lib/gslb", 32
    )


def test_defaults(make_config):
    directory = make_config()
    cfg = load(directory)
    assert cfg.monitors == ()
    # Relative paths are relative to the configuration directory.
    assert cfg.control == ControlSettings(
        socket=f"{directory}/run/gslb.sock", state_dir=f"{directory}/var"
    )
    assert cfg.control.http == ("127.0.0.1", 9300)
    assert all(not p.available_when_unknown for p in cfg.pools)


BAD = """
[[monitor]]
name = "web"
type = "http"
path = "health"
bogus = 1

[[monitor]]
name = "web"
type = "tcp"
timeout = 20

[[monitor]]
name = "x"
type = "smtp"

[[monitor]]
name = "dns"
type = "dns"
"""


def test_every_problem_is_located(make_config):
    link = (
        TOML,
        'probe_source = "127.0.0.3"\n',
        'probe_source = "127.0.0.3"\nlink_monitor = "nope"\n',
    )
    vs = (TOML, 'datacenter = "TEL"\n', 'datacenter = "TEL"\nmonitors = ["web", "zz", "web"]\n'
          'monitor_rule = "at_least 4"\n')  # fmt: skip
    with pytest.raises(ConfigError) as err:
        load(make_config((TOML, "", BAD), link, vs))
    problems = [p[1:] for p in brief(err.value.problems)]
    assert problems == [
        (27, "datacenter[1].link_address", None, "link_monitor and link_address go together"),
        (30, "datacenter[1].link_monitor", "nope", "unknown monitor"),
        (43, "virtual_server[1].monitors[1]", "zz", "unknown monitor"),
        (43, "virtual_server[1].monitors[2]", "web", "monitor listed twice"),
        (44, "virtual_server[1].monitor_rule", "at_least 4",
         "needs 4 monitors up but 3 are listed"),
        (END + 8, "monitor[0].path", "health", "String should match pattern '^/\\S*$'"),
        (END + 9, "monitor[0].bogus", 1, "not a field of a http monitor"),
        (END + 12, "monitor[1].name", "web", f"duplicate monitor name (first at line {END + 6})"),
        (END + 18, "monitor[2].type", "smtp",
         "unknown monitor type; known: dns, external, http, https, icmp, tcp, udp"),
        (END + 20, "monitor[3].query", None, "Field required"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('http = "127.0.0.1:70000"', "port must be 0..65535"),
        ('monitor_rule = "most"', "String should match pattern"),
    ],
)
def test_schema_rejects(make_config, line, message):
    table = "[control]\n" if line.startswith("http") else ""
    if table:
        edits = [(TOML, "", f"\n{table}{line}\n")]
    else:
        edits = [(TOML, 'datacenter = "TEL"\n', f'datacenter = "TEL"\n{line}\n')]
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(make_config(*edits))


def test_http_can_be_turned_off(make_config):
    assert load(make_config((TOML, "", '\n[control]\nhttp = ""\n'))).control.http is None
