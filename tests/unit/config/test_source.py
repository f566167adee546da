"""gslb.config.source: where each TOML field is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from gslb.config.source import Locator, dotted, read_toml
from gslb.errors import ConfigError, Problem

TEXT = """\
# comment
top = 1
[server]
listen = ["a",
  "b = c",   # not a key: inside an array
]
note = '''
[not.a.table]
x = 1
'''
[server.rrl]
slip = 2
[[pool]]
name = "a"
"quoted.key" = 1
qos.rtt = 5.0
[[pool.member]]
vs = "x"
[[pool.member]]
vs = "y"
[[pool]]
name = "b"
[[pool.member]]
vs = "z"
[wideip.persistence]
ttl = 3
"""

CASES = [
    (("top",), 2),
    (("server",), 3),
    (("server", "listen"), 4),
    (("server", "listen", 1), 4),  # element of an inline array: the key's line
    (("server", "note"), 7),
    (("server", "rrl"), 11),
    (("server", "rrl", "slip"), 12),
    (("server", "rrl", "window"), 11),  # not written: its table's header
    (("pool", 0), 13),
    (("pool", 0, "name"), 14),
    (("pool", 0, "quoted.key"), 15),
    (("pool", 0, "qos"), 16),
    (("pool", 0, "qos", "rtt"), 16),
    (("pool", 0, "member", 0, "vs"), 18),
    (("pool", 0, "member", 1, "vs"), 20),
    (("pool", 1, "name"), 22),
    (("pool", 1, "member", 0), 23),  # counted per parent element
    (("pool", 1, "member", 0, "vs"), 24),
    (("wideip", "persistence", "ttl"), 26),
    (("not", "a", "table"), None),
    (("x",), None),
    ((), None),
]


@pytest.mark.parametrize(("path", "line"), CASES, ids=[dotted(c[0]) or "root" for c in CASES])
def test_locator_line(path: tuple[str | int, ...], line: int | None) -> None:
    assert Locator(TEXT).line(path) == line


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("pool", 0, "members", 1, "vs"), "pool[0].members[1].vs"),
        (("server",), "server"),
        (("a", "b"), "a.b"),
        ((), ""),
    ],
)
def test_dotted(path: tuple[str | int, ...], text: str) -> None:
    assert dotted(path) == text


def test_read_toml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('a = 1\n[t]\nb = "unterminated\n')
    with pytest.raises(ConfigError) as caught:
        read_toml(path)
    assert caught.value.problems == (
        Problem(str(path), 3, "", None, "TOML syntax: Illegal character '\\n'"),
    )


def test_read_toml_problem_is_located(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('[[zone]]\nname = "z"\n')
    source = read_toml(path)
    assert source.data == {"zone": [{"name": "z"}]}
    assert source.problem(("zone", 0, "file"), None, "Field required") == Problem(
        str(path), 1, "zone[0].file", None, "Field required"
    )
