"""`$GENERATE`, as BIND writes it: one zone-file line for a run of records.

    $GENERATE start-stop[/step] lhs [ttl] [class] type rhs

    $GENERATE 1-254 host-$ A 192.0.2.$          ; host-1 ... host-254
    $GENERATE 0-15 ${0,1,n} PTR h$.example.     ; 0 ... f, for ip6.arpa

`lhs` (the owner) and `rhs` (the rdata, quoted if it has spaces) are
templates: `$` is the counter; `${offset}`, `${offset,width}` and
`${offset,width,base}` add `offset` to it, pad it with zeros to `width`
characters and write it in `base`: d, o, x, X, or n / N for reversed hex
nibbles separated by dots (ip6.arpa labels; `width` then counts the dots
too); `$$` is a literal `$`; a backslash keeps the next character as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_RECORDS = 65_536  # per $GENERATE: a run larger than this is a mistake
_RANGE = re.compile(r"(\d+)-(\d+)(?:/(\d+))?")
_MODIFIER = re.compile(r"\{([+-]?\d+)(?:,(\d+)(?:,([doxXnN]))?)?\}")
_HEX = "0123456789abcdef"


class GenerateError(ValueError):
    """A `$GENERATE` range or template that cannot be used."""


def parse_range(text: str) -> range:
    match = _RANGE.fullmatch(text)
    if match is None:
        raise GenerateError("expected a range start-stop or start-stop/step")
    start, stop, step = int(match[1]), int(match[2]), int(match[3] or 1)
    if stop < start:
        raise GenerateError(f"the range ends ({stop}) before it starts ({start})")
    if step < 1:
        raise GenerateError("the step must be at least 1")
    counter = range(start, stop + 1, step)
    if len(counter) > MAX_RECORDS:
        raise GenerateError(f"{len(counter)} records, more than {MAX_RECORDS}: split the range")
    return counter


@dataclass(frozen=True, slots=True)
class Counter:
    """One `$` or `${offset,width,base}` of a template."""

    offset: int = 0
    width: int = 0
    base: str = "d"

    def render(self, value: int) -> str:
        value += self.offset
        if value < 0:
            raise GenerateError(f"the counter plus its offset is negative ({value})")
        if self.base in "nN":
            return _nibbles(value, self.width, upper=self.base == "N")
        return f"{value:0{self.width}{self.base}}"


def _nibbles(value: int, width: int, *, upper: bool) -> str:
    """Hex digits, least significant first, dot-separated; zero-filled to
    `width` characters (dots counted), as BIND does."""
    out: list[str] = []
    while True:
        out.append(_HEX[value & 0xF])
        value >>= 4
        width = max(width - 1, 0)
        if width or value:
            out.append(".")
            width = max(width - 1, 0)
        if not (value or width):
            break
    text = "".join(out)
    return text.upper() if upper else text


@dataclass(frozen=True, slots=True)
class Template:
    """An lhs or rhs: literal text and counters, in order."""

    parts: tuple[str | Counter, ...]

    def render(self, value: int) -> str:
        return "".join(p if isinstance(p, str) else p.render(value) for p in self.parts)


def parse_template(text: str) -> Template:
    parts: list[str | Counter] = []
    literal = ""
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            literal += text[i : i + 2]  # the escape stays for the name or rdata parser
            i += 2
        elif char != "$":
            literal += char
            i += 1
        elif text[i + 1 : i + 2] == "$":
            literal += "$"
            i += 2
        else:
            if literal:
                parts.append(literal)
                literal = ""
            i += 1
            if text[i : i + 1] != "{":
                parts.append(Counter())
                continue
            match = _MODIFIER.match(text, i)
            if match is None:
                raise GenerateError(
                    f"bad modifier in {text!r}: expected ${{offset}}, ${{offset,width}}"
                    " or ${offset,width,base} with base one of d o x X n N"
                )
            offset, width, base = match.groups()
            parts.append(Counter(int(offset), int(width or 0), base or "d"))
            i = match.end()
    if literal:
        parts.append(literal)
    return Template(tuple(parts))
