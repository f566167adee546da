"""The master-file lexer (RFC 1035 §5.1): text -> entries, one per logical
line, of tokens.

Parentheses join physical lines into one entry, `;` starts a comment, a
quoted string is one token (escapes kept as written), a backslash escapes
the next character, and an entry that starts with blanks repeats the
previous owner. Syntax errors are reported as `Problem`s, the broken entry
dropped and the rest read on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gslb.errors import Problem


@dataclass(frozen=True, slots=True)
class Token:
    raw: str  # as written, escapes kept, without surrounding quotes
    quoted: bool

    @property
    def text(self) -> str:
        """The token in presentation form, quotes put back."""
        return f'"{self.raw}"' if self.quoted else self.raw


@dataclass(slots=True)
class Entry:
    """One logical line: its first physical line and its tokens."""

    line: int
    indented: bool
    tokens: list[Token] = field(default_factory=list)
    broken: bool = False  # a syntax error was reported; parse no further


class _Lexer:
    """Splits a master file into entries; parentheses join physical lines."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems

    def entries(self, text: str) -> list[Entry]:
        entries: list[Entry] = []
        current: Entry | None = None
        depth = 0
        for number, line in enumerate(text.splitlines(), start=1):
            if current is None:
                current = Entry(number, line[:1] in (" ", "\t"))
            depth = self._line(line, number, current, depth)
            if depth == 0:
                if current.tokens and not current.broken:
                    entries.append(current)
                current = None
        if current is not None and depth > 0:
            self._error(current.line, "unbalanced parentheses: '(' is never closed")
        return entries

    def _line(self, line: str, number: int, entry: Entry, depth: int) -> int:
        i, word = 0, ""
        while i < len(line):
            char = line[i]
            if char == "\\":
                word += line[i : i + 2]
                i += 2
                continue
            if char == '"':
                end = self._closing_quote(line, i + 1)
                if end < 0:
                    self._error(number, "unterminated quoted string")
                    entry.broken = True
                    return depth
                if word:  # key="value" inside a token (HTTPS parameters)
                    word += line[i : end + 1]
                else:
                    entry.tokens.append(Token(line[i + 1 : end], True))
                i = end + 1
                continue
            if char in " \t;()":
                if word:
                    entry.tokens.append(Token(word, False))
                    word = ""
                if char == ";":
                    break
                if char == "(":
                    depth += 1
                elif char == ")":
                    depth -= 1
                    if depth < 0:
                        self._error(number, "unbalanced parentheses: ')' without '('")
                        depth = 0
            else:
                word += char
            i += 1
        if word:
            entry.tokens.append(Token(word, False))
        return depth

    @staticmethod
    def _closing_quote(line: str, start: int) -> int:
        i = start
        while i < len(line):
            if line[i] == "\\":
                i += 2
            elif line[i] == '"':
                return i
            else:
                i += 1
        return -1

    def _error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, "", None, message))


def entries(text: str, file: str, problems: list[Problem]) -> list[Entry]:
    """The entries of `text`; problems (located in `file`) are appended."""
    return _Lexer(file, problems).entries(text)
