"""Zone files: an RFC 1035 master file -> `gslb.model.Zone`.

Supported: `$ORIGIN`, `$TTL`, `$INCLUDE file [origin]` (the file relative to
the including file's directory; the origin and the owner to repeat are the
includer's again after it), `$GENERATE` (BIND's, gslb.config.generate),
`@`, relative and absolute names, a blank owner repeating the previous one,
optional TTL (with s/m/h/d/w units) and class (IN only) in either order,
parentheses spanning lines, `;` comments, quoted strings with `\\X` and
`\\DDD` escapes, every record type dnspython knows in its presentation form
(gslb.config.rdata) and RFC 3597 `TYPEnnn \\# len hex`. A record without a
TTL takes `$TTL`, else the SOA minimum. Every problem is reported, each
with the file and line it is written at.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from gslb.config.generate import GenerateError, parse_range, parse_template
from gslb.config.rdata import RdataError, qualify, to_wire, type_name, type_number
from gslb.config.zonelexer import Entry, Token, entries
from gslb.errors import Problem, Problems
from gslb.model import Record, Zone

SOA, NS, CNAME, DNAME, RRSIG, NSEC = 6, 2, 5, 39, 46, 47
MAX_TTL = 2**31 - 1
MAX_INCLUDE_DEPTH = 16
MAX_SHOWN = 80
_TTL = re.compile(r"(?:\d+[smhdw]?)+", re.IGNORECASE)
_TTL_PART = re.compile(r"(\d+)([smhdw]?)", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_GENERATE_USAGE = "$GENERATE takes: range lhs [ttl] [class] type rhs (quote an rhs with spaces)"

Reader = Callable[[Path], str]  # a file's text; ValueError (with the reason) if unreadable


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


def _shown(text: str) -> str:
    """`text` as a problem's value: a line of rdata can be megabytes long."""
    if len(text) <= MAX_SHOWN:
        return text
    return f"{text[:MAX_SHOWN]}... ({len(text)} characters)"


def in_zone(name: str, origin: str) -> bool:
    return origin == "." or name == origin or name.endswith("." + origin)


@dataclass(slots=True)
class _Pending:
    name: str
    rtype: int
    ttl: int | None
    rdata: bytes
    file: str
    line: int

    @property
    def path(self) -> str:
        return f"{self.name} {type_name(self.rtype)}"


@dataclass(frozen=True, slots=True)
class _Head:
    """What comes between the owner and the rdata: TTL, class, type."""

    ttl: int | None
    rtype: int
    rdata: list[Token]


class _Parser:
    def __init__(self, origin: str, file: str, read: Reader) -> None:
        self.apex = origin
        self.origin = origin
        self.file = file  # the file being read: the top one or an $INCLUDEd one
        self.top = file
        self.read = read
        # The $INCLUDE chain, for loops: each file as found and as written.
        self.stack: tuple[tuple[Path, str], ...] = ((Path(file).resolve(), file),)
        self.default_ttl: int | None = None
        self.owner: str | None = None
        self.records: list[_Pending] = []
        self.problems = Problems()

    def error(self, line: int | None, path: str, value: object, message: str) -> None:
        shown = _shown(value) if isinstance(value, str) else value
        self.problems.append(Problem(self.file, line, _shown(path), shown, message))

    def text(self, text: str) -> None:
        """Read the entries of `text`, written in `self.file`."""
        for entry in entries(text, self.file, self.problems):
            self.entry(entry)

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
            owner = self.absolute(entry.line, tokens.pop(0).raw, "owner name")
            if owner is None:
                return
            self.owner = owner
        head = self.head(entry.line, self.owner, tokens)
        if head is not None:
            rdata = " ".join(t.text for t in head.rdata)
            self.add(entry.line, self.owner, head, rdata)

    def absolute(self, line: int, text: str, what: str, path: str | None = None) -> str | None:
        """`text` made absolute against the origin; None (and a problem
        about the `what`, at `path` or else the name) if it is no name."""
        name = absolute_name(text, self.origin)
        problem = check_name(name)
        if problem is not None:
            self.error(line, name if path is None else path, text, f"bad {what}: {problem}")
            return None
        return name

    def directive(self, line: int, name: str, args: list[Token]) -> None:
        if name == "$INCLUDE":
            self.include(line, args)
        elif name == "$GENERATE":
            self.generate(line, args)
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
            origin = self.absolute(line, args[0].raw, "origin", name)
            if origin is not None:
                self.origin = origin

    def include(self, line: int, args: list[Token]) -> None:
        if len(args) not in (1, 2):
            self.error(line, "$INCLUDE", None, "$INCLUDE takes a file name and an optional origin")
            return
        origin = self.origin
        if len(args) == 2:
            given = self.absolute(line, args[1].raw, "origin", "$INCLUDE")
            if given is None:
                return
            origin = given
        path = Path(self.file).parent / args[0].raw
        try:
            key = path.resolve()
        except (OSError, ValueError, RuntimeError) as exc:  # a NUL, a symlink loop
            self.error(line, "$INCLUDE", args[0].raw, f"cannot read {path}: {exc}")
            return
        if any(key == found for found, _ in self.stack):
            chain = " -> ".join(shown for _, shown in (*self.stack, (key, str(path))))
            self.error(line, "$INCLUDE", args[0].raw, f"include loop: {chain}")
            return
        if len(self.stack) > MAX_INCLUDE_DEPTH:
            message = f"$INCLUDEs nested more than {MAX_INCLUDE_DEPTH} deep"
            self.error(line, "$INCLUDE", args[0].raw, message)
            return
        try:
            text = self.read(path)
        except ValueError as exc:
            self.error(line, "$INCLUDE", args[0].raw, str(exc))
            return
        # RFC 1035 §5.1: the included file does not change the includer's origin.
        saved = (self.file, self.origin, self.owner, self.stack)
        self.file, self.origin, self.stack = str(path), origin, (*self.stack, (key, str(path)))
        try:
            self.text(text)
        finally:
            self.file, self.origin, self.owner, self.stack = saved

    def generate(self, line: int, args: list[Token]) -> None:
        if len(args) < 4:
            self.error(line, "$GENERATE", None, _GENERATE_USAGE)
            return
        try:
            counter = parse_range(args[0].raw)
        except GenerateError as exc:
            self.error(line, "$GENERATE", args[0].raw, str(exc))
            return
        templates = []
        for token in (args[1], args[-1]):
            try:
                templates.append(parse_template(token.raw))
            except GenerateError as exc:
                self.error(line, "$GENERATE", token.raw, str(exc))
                return
        lhs, rhs = templates
        head = self.head(line, "$GENERATE", args[2:-1])
        if head is None:
            return
        if head.rdata:
            self.error(line, "$GENERATE", " ".join(t.text for t in args[2:]), _GENERATE_USAGE)
            return
        for value in counter:
            # One bad record of a run is reported, not thousands like it.
            first = len(self.problems)
            try:
                owner = self.absolute(line, lhs.render(value), "owner name")
                if owner is not None:
                    self.add(line, owner, head, rhs.render(value))
            except GenerateError as exc:
                self.error(line, "$GENERATE", None, str(exc))
            if len(self.problems) > first:
                self.problems[first:] = [
                    replace(p, message=f"{p.message} ($ = {value})") for p in self.problems[first:]
                ]
                return

    def head(self, line: int, path: str, tokens: list[Token]) -> _Head | None:
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
                    self.error(line, path, word, str(exc))
                    return None
            elif word.upper() == "IN":
                pass
            elif word.upper() in ("CH", "HS", "CS", "NONE") or word.upper().startswith("CLASS"):
                self.error(line, path, word, "only class IN is supported")
                return None
            else:
                break
            rest.pop(0)
        if not rest:
            self.error(line, path, None, "missing record type")
            return None
        rtype = type_number(rest[0].raw)
        if rtype is None or rest[0].quoted:
            self.error(line, path, rest[0].raw, "unknown record type")
            return None
        return _Head(ttl, rtype, rest[1:])

    def add(self, line: int, owner: str, head: _Head, rdata: str) -> None:
        if not in_zone(owner, self.apex):
            message = f"name is outside the zone {self.apex}"
            self.error(line, f"{owner} {type_name(head.rtype)}", None, message)
            return
        try:
            wire = to_wire(head.rtype, rdata, self.origin)
        except RdataError as exc:
            self.error(line, f"{owner} {type_name(head.rtype)}", rdata, str(exc))
            return
        ttl = head.ttl if head.ttl is not None else self.default_ttl
        self.records.append(_Pending(owner, head.rtype, ttl, wire, self.file, line))

    def finish(self) -> Zone:
        self.file = self.top
        soas = [r for r in self.records if r.rtype == SOA]
        for soa in soas:
            if soa.name != self.apex:
                self.problem(soa, f"SOA outside the apex {self.apex}")
        apex_soas = [r for r in soas if r.name == self.apex]
        if not apex_soas:
            self.error(None, self.apex, None, "no SOA record at the apex")
        for extra in apex_soas[1:]:
            self.problem(extra, "more than one SOA at the apex")
        if not any(r.rtype == NS and r.name == self.apex for r in self.records):
            self.error(None, self.apex, None, "no NS record at the apex")
        self._check_aliases()
        # RFC 2308 §4: without $TTL, the SOA minimum is the default.
        minimum = int.from_bytes(apex_soas[0].rdata[-4:]) if apex_soas else None
        records: list[Record] = []
        seen: set[tuple[str, int, bytes]] = set()
        for r in self.records:
            ttl = r.ttl if r.ttl is not None else minimum
            if ttl is None:
                self.problem(r, "no TTL: give one, or $TTL, or an SOA")
                continue
            # RFC 2181 §5: an RRset has no duplicates (an $INCLUDE twice, a
            # $GENERATE over a written record): the first one stands.
            if (r.name, r.rtype, r.rdata) not in seen:
                seen.add((r.name, r.rtype, r.rdata))
                records.append(Record(r.name, r.rtype, ttl, r.rdata, r.line, r.file))
        return Zone(self.apex, self.top, tuple(records))

    def problem(self, record: _Pending, message: str) -> None:
        self.problems.append(Problem(record.file, record.line, record.path, None, message))

    def _check_aliases(self) -> None:
        by_name: dict[str, list[_Pending]] = defaultdict(list)
        for r in self.records:
            by_name[r.name].append(r)
        dnames = set()
        for name, rrs in by_name.items():
            for rtype in (CNAME, DNAME):  # RFC 2181 §10.1, RFC 6672 §2.4: one at a name
                for extra in [r for r in rrs if r.rtype == rtype][1:]:
                    self.problem(extra, f"more than one {type_name(rtype)} at this name")
            if any(r.rtype == DNAME for r in rrs):
                dnames.add(name)
                # RFC 6672 §2.3: not at a delegation, where the referral wins.
                if name != self.apex and any(r.rtype == NS for r in rrs):
                    first = next(r for r in rrs if r.rtype == DNAME)
                    self.problem(first, "a DNAME cannot be at a delegation (NS below the apex)")
            if not any(r.rtype == CNAME for r in rrs):
                continue
            # RFC 2181 §10.1: a CNAME stands alone (DNSSEC records excepted).
            for r in rrs:
                if r.rtype not in (CNAME, RRSIG, NSEC):
                    self.problem(r, "a CNAME cannot coexist with other data")
        if dnames:
            self._check_occluded(dnames)

    def _check_occluded(self, dnames: set[str]) -> None:
        """RFC 6672 §2.4: names below a DNAME are never answered."""
        for r in self.records:
            ancestor = r.name
            while ancestor != self.apex and "." in ancestor[:-1]:
                ancestor = ancestor.split(".", 1)[1]
                if ancestor in dnames:
                    self.problem(r, f"below the DNAME at {ancestor}: never answered")
                    break


def parse_zone(text: str, origin: str, file: str, read: Reader) -> tuple[Zone, Problems]:
    """The zone `origin` (absolute) written in `text`; `file` names it in
    errors and is where `$INCLUDE` names are found from; `read` reads them."""
    parser = _Parser(absolute_name(origin), file, read)
    parser.text(text)
    zone = parser.finish()
    return zone, parser.problems.ordered()
