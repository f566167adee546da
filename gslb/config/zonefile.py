"""Zone files: an RFC 1035 master file -> `gslb.model.Zone`.

Supported: `$ORIGIN`, `$TTL`, `@`, relative and absolute names, a blank owner
repeating the previous one, optional TTL (with s/m/h/d/w units) and class
(IN only) in either order, parentheses spanning lines, `;` comments, quoted
strings with `\\X` and `\\DDD` escapes, and RFC 3597 `TYPEnnn \\# len hex`.
`$INCLUDE` is refused: a zone must be one file so that every error points
into it. A record without a TTL takes `$TTL`, else the SOA minimum.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from gslb.config.rdata import RdataError, qualify, to_wire, type_name, type_number
from gslb.errors import Problem, Problems
from gslb.model import Record, Zone

SOA, NS, CNAME, RRSIG, NSEC = 6, 2, 5, 46, 47
MAX_TTL = 2**31 - 1
_TTL = re.compile(r"(?:\d+[smhdw]?)+", re.IGNORECASE)
_TTL_PART = re.compile(r"(\d+)([smhdw]?)", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ESCAPE = re.compile(rb"\\(\d{3}|.)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Token:
    raw: str  # as written, escapes kept, without surrounding quotes
    quoted: bool

    @property
    def data(self) -> bytes:
        """The bytes the token stands for, escapes decoded (RFC 1035 §5.1)."""

        def unescape(match: re.Match[bytes]) -> bytes:
            code = match.group(1)
            return bytes([int(code)]) if code.isdigit() else code

        return _ESCAPE.sub(unescape, self.raw.encode("utf-8"))

    @property
    def field(self) -> str:
        """Presentation text for dnslib: quoted strings are unescaped."""
        return self.data.decode("utf-8", "replace") if self.quoted else self.raw


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

    def _error(self, line: int, message: str, path: str = "", value: object = None) -> None:
        self.problems.append(Problem(self.file, line, path, value, message))


def parse_ttl(text: str) -> int:
    """`3600`, `1h`, `1h30m` -> seconds; ValueError otherwise."""
    if not _TTL.fullmatch(text):
        raise ValueError(f"not a TTL: {text!r}")
    seconds = sum(int(n) * _UNITS[u.lower()] for n, u in _TTL_PART.findall(text))
    if seconds > MAX_TTL:
        raise ValueError(f"TTL {seconds} is more than {MAX_TTL}")
    return seconds


def absolute_name(name: str, origin: str = ".") -> str:
    """Lower-case absolute form of `name` (relative to `origin`), trailing dot."""
    return qualify(name, origin).lower()


def check_name(name: str) -> str | None:
    """Why an absolute name is not a valid domain name, or None."""
    if name == ".":
        return None
    labels = name[:-1].split(".")
    if any(not label for label in labels):
        return "empty label"
    if any(len(label) > 63 for label in labels):
        return "label longer than 63 octets"
    if len(name) > 254:
        return "name longer than 255 octets"
    return None


def in_zone(name: str, origin: str) -> bool:
    return origin == "." or name == origin or name.endswith("." + origin)


@dataclass(slots=True)
class _Pending:
    name: str
    rtype: int
    ttl: int | None
    rdata: bytes
    line: int


class _Parser:
    def __init__(self, origin: str, file: str) -> None:
        self.apex = origin
        self.origin = origin
        self.file = file
        self.default_ttl: int | None = None
        self.owner: str | None = None
        self.records: list[_Pending] = []
        self.problems = Problems()

    def error(self, line: int | None, path: str, value: object, message: str) -> None:
        self.problems.append(Problem(self.file, line, path, value, message))

    def entry(self, entry: Entry) -> None:
        tokens = list(entry.tokens)
        first = tokens[0]
        if not entry.indented and first.raw.startswith("$") and not first.quoted:
            self.directive(entry.line, first.raw.upper(), tokens[1:])
            return
        if entry.indented:
            if self.owner is None:
                self.error(entry.line, "", None, "no previous owner name to repeat")
                return
        else:
            owner = absolute_name(tokens.pop(0).raw, self.origin)
            problem = check_name(owner)
            if problem is not None:
                self.error(entry.line, owner, first.raw, f"bad owner name: {problem}")
                return
            self.owner = owner
        self.record(entry.line, self.owner, tokens)

    def directive(self, line: int, name: str, args: list[Token]) -> None:
        if name == "$INCLUDE":
            self.error(line, name, None, "$INCLUDE is not supported: keep the zone in one file")
        elif name not in ("$ORIGIN", "$TTL"):
            self.error(line, name, None, f"unknown directive {name}")
        elif len(args) != 1:
            self.error(line, name, None, f"{name} takes one argument")
        elif name == "$TTL":
            try:
                self.default_ttl = parse_ttl(args[0].raw)
            except ValueError as exc:
                self.error(line, name, args[0].raw, str(exc))
        else:
            origin = absolute_name(args[0].raw, self.origin)
            problem = check_name(origin)
            if problem is None:
                self.origin = origin
            else:
                self.error(line, name, args[0].raw, f"bad origin: {problem}")

    def record(self, line: int, owner: str, tokens: list[Token]) -> None:
        ttl: int | None = None
        rest = list(tokens)
        # Up to two of TTL and class, in either order, before the type.
        for _ in range(2):
            if not rest or rest[0].quoted:
                break
            word = rest[0].raw
            if ttl is None and word[:1].isdigit():
                try:
                    ttl = parse_ttl(word)
                except ValueError as exc:
                    self.error(line, owner, word, str(exc))
                    return
            elif word.upper() == "IN":
                pass
            elif word.upper() in ("CH", "HS", "CS", "NONE") or word.upper().startswith("CLASS"):
                self.error(line, owner, word, "only class IN is supported")
                return
            else:
                break
            rest.pop(0)
        if not rest:
            self.error(line, owner, None, "missing record type")
            return
        rtype = type_number(rest[0].raw)
        if rtype is None or rest[0].quoted:
            self.error(line, owner, rest[0].raw, "unknown record type")
            return
        path = f"{owner} {type_name(rtype)}"
        if not in_zone(owner, self.apex):
            self.error(line, path, None, f"name is outside the zone {self.apex}")
            return
        fields = [t.field for t in rest[1:]]
        try:
            rdata = to_wire(rtype, fields, [t.data for t in rest[1:]], self.origin)
        except RdataError as exc:
            self.error(line, path, " ".join(t.raw for t in rest[1:]), str(exc))
            return
        ttl = ttl if ttl is not None else self.default_ttl
        self.records.append(_Pending(owner, rtype, ttl, rdata, line))

    def finish(self) -> Zone:
        soas = [r for r in self.records if r.rtype == SOA]
        for soa in soas:
            if soa.name != self.apex:
                self.error(soa.line, f"{soa.name} SOA", None, f"SOA outside the apex {self.apex}")
        apex_soas = [r for r in soas if r.name == self.apex]
        if not apex_soas:
            self.error(None, self.apex, None, "no SOA record at the apex")
        for extra in apex_soas[1:]:
            self.error(extra.line, f"{self.apex} SOA", None, "more than one SOA at the apex")
        if not any(r.rtype == NS and r.name == self.apex for r in self.records):
            self.error(None, self.apex, None, "no NS record at the apex")
        self._check_cnames()
        # RFC 2308 §4: without $TTL, the SOA minimum is the default.
        minimum = int.from_bytes(apex_soas[0].rdata[-4:]) if apex_soas else None
        records: list[Record] = []
        for r in self.records:
            ttl = r.ttl if r.ttl is not None else minimum
            if ttl is None:
                path = f"{r.name} {type_name(r.rtype)}"
                self.error(r.line, path, None, "no TTL: give one, or $TTL, or an SOA")
                continue
            records.append(Record(r.name, r.rtype, ttl, r.rdata, r.line))
        return Zone(self.apex, self.file, tuple(records))

    def _check_cnames(self) -> None:
        by_name: dict[str, list[_Pending]] = defaultdict(list)
        for r in self.records:
            by_name[r.name].append(r)
        for name, rrs in by_name.items():
            cnames = [r for r in rrs if r.rtype == CNAME]
            if not cnames:
                continue
            for extra in cnames[1:]:
                self.error(extra.line, f"{name} CNAME", None, "more than one CNAME at this name")
            # RFC 2181 §10.1: a CNAME stands alone (DNSSEC records excepted).
            for r in rrs:
                if r.rtype not in (CNAME, RRSIG, NSEC):
                    path = f"{name} {type_name(r.rtype)}"
                    self.error(r.line, path, None, "a CNAME cannot coexist with other data")


def parse_zone(text: str, origin: str, file: str) -> tuple[Zone, Problems]:
    """The zone `origin` (absolute) written in `text`; `file` names it in errors."""
    parser = _Parser(absolute_name(origin), file)
    for entry in _Lexer(file, parser.problems).entries(text):
        parser.entry(entry)
    zone = parser.finish()
    return zone, parser.problems.ordered()
