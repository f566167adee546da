"""etc/topology.csv: topology records, `server,ldns,score` one per line.

    server,ldns,score
    dc:CNC,202.106.0.0/16,100
    pool:web-tel,region:south,50
    vs:vs2,!10.0.0.0/8,10

Server side: `dc:NAME`, `pool:NAME`, `vs:NAME`, `region:NAME`. LDNS side: a
subnet (a bare address is a host route), `region:NAME` or `any`; a leading
`!` negates it. `#` starts a comment line. Names are checked against the
objects by the loader; this module only reads the syntax. The reference
syntax (`dc:NAME`, subnets) is shared with region members, so it lives here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from ipaddress import ip_network
from typing import TypeVar, cast, get_args

from gslb.errors import Problem, Problems
from gslb.model import IPNetwork, LdnsKind, ServerKind, TopologyRecord

HEADER = ("server", "ldns", "score")
MAX_SCORE = 2**31 - 1
SERVER_KINDS: tuple[str, ...] = get_args(ServerKind)

T = TypeVar("T")


def parse_subnet(text: str, expected: str = "a subnet") -> IPNetwork:
    """An IPv4/IPv6 subnet; a bare address is /32 or /128; host bits are an error."""
    try:
        ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"expected {expected}") from None
    try:
        return ip_network(text)
    except ValueError:
        raise ValueError(f"{text} has host bits set") from None


def parse_reference(text: str, kinds: tuple[str, ...] = SERVER_KINDS) -> tuple[str, str]:
    """Split `kind:NAME` into (kind, name), kind being one of `kinds`."""
    kind, sep, name = text.partition(":")
    if not sep or kind not in kinds or not name:
        expected = ", ".join(f"{k}:NAME" for k in kinds)
        raise ValueError(f"expected one of {expected}")
    return kind, name


def _parse_ldns(text: str) -> tuple[str, str, bool]:
    """(kind, value, negate) of the LDNS side."""
    negate = text.startswith("!")
    body = text[1:].strip() if negate else text
    if body == "any":
        if negate:
            raise ValueError("!any matches nothing")
        return "any", "", False
    if body.startswith("region:"):
        return "region", parse_reference(body, ("region",))[1], negate
    return "subnet", str(parse_subnet(body, "a subnet, region:NAME or any")), negate


def _parse_score(text: str) -> int:
    if not text.isdigit() or int(text) > MAX_SCORE:
        raise ValueError(f"must be an integer 0..{MAX_SCORE}")
    return int(text)


class _BadColumn(ValueError):
    def __init__(self, column: str, value: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.value = value


def _column(column: str, text: str, parse: Callable[[str], T]) -> T:
    try:
        return parse(text)
    except ValueError as exc:
        raise _BadColumn(column, text, str(exc)) from None


def _parse_row(fields: list[str], line: int) -> TopologyRecord:
    server, ldns, score = fields
    server_kind, server_name = _column("server", server, parse_reference)
    ldns_kind, ldns_value, negate = _column("ldns", ldns, _parse_ldns)
    return TopologyRecord(
        server_kind=cast(ServerKind, server_kind),
        server=server_name,
        ldns_kind=cast(LdnsKind, ldns_kind),
        ldns=ldns_value,
        negate=negate,
        score=_column("score", score, _parse_score),
        line=line,
    )


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` one at a time: a file of millions of lines is not
    held twice, as a list of them too."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        if stop < 0:
            stop = end
        yield text[start:stop]
        start = stop + 1


def parse_topology(text: str, file: str) -> tuple[list[TopologyRecord], Problems]:
    """All records of a topology CSV, and the problems found in it (the first
    MAX_PROBLEMS, and how many more)."""
    records: list[TopologyRecord] = []
    problems = Problems()
    seen_header = False
    for line, raw in enumerate(_lines(text), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [field.strip() for field in stripped.split(",")]
        if not seen_header:
            seen_header = True
            if tuple(fields) != HEADER:
                problems.append(
                    Problem(file, line, "", stripped, "expected the header server,ldns,score")
                )
            continue
        if len(fields) != len(HEADER):
            problems.append(
                Problem(file, line, "", stripped, "expected 3 fields: server,ldns,score")
            )
            continue
        try:
            records.append(_parse_row(fields, line))
        except _BadColumn as exc:
            problems.append(Problem(file, line, exc.column, exc.value, str(exc)))
    return records, problems
