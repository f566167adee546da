"""A TOML source: the parsed document plus where each field is written.

tomllib gives values but no positions, and every config error must name its
line. `Locator` recovers positions with a line scanner that understands just
enough TOML: `[table]` and `[[array.of.tables]]` headers (dotted, nested under
the last element of an enclosing array), `key = value` lines with dotted or
quoted keys, and values that span lines (multi-line strings and arrays),
whose inner lines must not be mistaken for keys.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gslb.config.files import FileRejected, read_text
from gslb.errors import ConfigError, Problem

FieldPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
TOO_DEEP = "arrays or tables nested too deep"
_TOML_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)\s*$")


def _split_key(text: str) -> tuple[tuple[str, ...], str] | None:
    """Split a (possibly dotted, quoted) key off the front of `text`.

    Returns the key parts and the rest of the text, or None when `text` does
    not start with a key.
    """
    parts: list[str] = []
    rest = text
    while True:
        rest = rest.lstrip()
        if rest[:1] in ('"', "'"):
            quote = rest[0]
            end = rest.find(quote, 1)
            if end < 0:
                return None
            parts.append(rest[1:end])
            rest = rest[end + 1 :]
        else:
            match = _BARE_KEY.match(rest)
            if match is None:
                return None
            parts.append(match.group())
            rest = rest[match.end() :]
        rest = rest.lstrip()
        if not rest.startswith("."):
            return tuple(parts), rest
        rest = rest[1:]


class _ValueScanner:
    """Tracks whether a value is still open across lines (brackets, strings)."""

    def __init__(self) -> None:
        self.depth = 0
        self.multiline: str | None = None  # the open '\"\"\"' or "'''"

    @property
    def open(self) -> bool:
        return self.depth > 0 or self.multiline is not None

    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            if self.multiline is not None:
                end = text.find(self.multiline, i)
                if end < 0:
                    return
                self.multiline = None
                i = end + 3
                continue
            char = text[i]
            if char == "#":
                return
            if text.startswith(('"""', "'''"), i):
                self.multiline = text[i : i + 3]
                i += 3
            elif char in "\"'":
                i = self._skip_string(text, i)
            elif char in "[{":
                self.depth += 1
                i += 1
            elif char in "]}":
                self.depth -= 1
                i += 1
            else:
                i += 1

    @staticmethod
    def _skip_string(text: str, start: int) -> int:
        quote = text[start]
        i = start + 1
        while i < len(text) and text[i] != quote:
            # Only basic strings have escapes; literal strings end at the quote.
            i += 2 if quote == '"' and text[i] == "\\" else 1
        return i + 1


class Locator:
    """Maps a field path such as ("pool", 0, "members") to its 1-based line."""

    def __init__(self, text: str) -> None:
        self._lines: dict[FieldPath, int] = {}
        self._counts: dict[FieldPath, int] = {}
        self._scan(text)

    def line(self, path: FieldPath) -> int | None:
        """The line of `path`, else of its nearest written ancestor, else None."""
        for end in range(len(path), 0, -1):
            found = self._lines.get(path[:end])
            if found is not None:
                return found
        return None

    def _scan(self, text: str) -> None:
        table: FieldPath = ()
        value = _ValueScanner()
        for number, line in enumerate(text.splitlines(), start=1):
            if value.open:
                value.feed(line)
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("["):
                table = self._header(stripped, number) or table
                continue
            split = _split_key(stripped)
            if split is None or not split[1].startswith("="):
                continue
            keys, rest = split
            for end in range(1, len(keys) + 1):
                self._lines.setdefault(table + keys[:end], number)
            value.feed(rest[1:])

    def _header(self, text: str, number: int) -> FieldPath | None:
        is_array = text.startswith("[[")
        split = _split_key(text[2:] if is_array else text[1:])
        if split is None:
            return None
        keys = split[0]
        path: list[str | int] = []
        # Each prefix that names an array of tables means its last element;
        # arrays are counted per parent element ([[pool.member]] restarts).
        for end, key in enumerate(keys, start=1):
            path.append(key)
            array = tuple(path)
            count = self._counts.get(array)
            if end == len(keys) and is_array:
                index = 0 if count is None else count
                self._counts[array] = index + 1
                path.append(index)
            elif count is not None:
                path.append(count - 1)
        located = tuple(path)
        self._lines[located] = number
        return located


@dataclass(frozen=True, slots=True)
class TomlSource:
    """One TOML file: its name (as shown in errors), its data and its locator."""

    file: str
    data: dict[str, Any]
    locator: Locator

    def line(self, path: FieldPath) -> int | None:
        return self.locator.line(path)

    def problem(self, path: FieldPath, value: object, message: str) -> Problem:
        """A Problem located at the field `path` of this file."""
        return Problem(self.file, self.line(path), dotted(path), value, message)


def read_toml(path: Path) -> TomlSource:
    """Read and parse `path`; a missing file or a syntax error is a ConfigError."""
    file = str(path)
    try:
        text = read_text(path)
    except FileRejected as exc:
        raise ConfigError([Problem(file, None, "", None, str(exc))]) from None
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ConfigError([Problem(file, None, "", None, TOO_DEEP)]) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_LINE.search(message)
        line = int(match.group(1)) if match else None
        message = message[: match.start()] if match else message
        raise ConfigError([Problem(file, line, "", None, f"TOML syntax: {message}")]) from exc
    return TomlSource(file, data, Locator(text))


def dotted(path: FieldPath) -> str:
    """("pool", 0, "members", 1) -> "pool[0].members[1]", as errors show it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text
