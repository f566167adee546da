"""gslb.config.topology_csv: the syntax of topology records."""

from __future__ import annotations

import pytest

from gslb.config.topology_csv import parse_topology
from gslb.errors import Problem
from gslb.model import TopologyRecord

HEADER = "server,ldns,score\n"

GOOD = [
    ("dc:CNC,202.106.0.0/16,100", ("dc", "CNC", "subnet", "202.106.0.0/16", False, 100)),
    ("pool:web-tel,region:south,50", ("pool", "web-tel", "region", "south", False, 50)),
    ("vs:vs2,!10.0.0.0/8,10", ("vs", "vs2", "subnet", "10.0.0.0/8", True, 10)),
    ("region:north,any,0", ("region", "north", "any", "", False, 0)),
    ("dc:A,!region:x,2147483647", ("dc", "A", "region", "x", True, 2147483647)),
    ("dc:A,192.0.2.1,1", ("dc", "A", "subnet", "192.0.2.1/32", False, 1)),
    ("dc:A,2001:DB8::,1", ("dc", "A", "subnet", "2001:db8::/128", False, 1)),
    ("dc:A,2001:db8::/32,1", ("dc", "A", "subnet", "2001:db8::/32", False, 1)),
    (" dc:A , ! 10.0.0.0/8 , 7 ", ("dc", "A", "subnet", "10.0.0.0/8", True, 7)),
]


@pytest.mark.parametrize(("row", "fields"), GOOD, ids=[g[0] for g in GOOD])
def test_good_row(row: str, fields: tuple[object, ...]) -> None:
    records, problems = parse_topology(HEADER + row + "\n", "t.csv")
    assert problems == []
    assert [
        (r.server_kind, r.server, r.ldns_kind, r.ldns, r.negate, r.score, r.line) for r in records
    ] == [(*fields, 2)]


BAD = [
    ("x:CNC,any,1", "server", "x:CNC", "expected one of dc:NAME, pool:NAME, vs:NAME, region:NAME"),
    ("dc:,any,1", "server", "dc:", "expected one of dc:NAME, pool:NAME, vs:NAME, region:NAME"),
    ("!dc:A,any,1", "server", "!dc:A", "expected one of dc:NAME, pool:NAME, vs:NAME, region:NAME"),
    ("dc:A,10.0.0.1/8,1", "ldns", "10.0.0.1/8", "10.0.0.1/8 has host bits set"),
    ("dc:A,10.0.0.0/33,1", "ldns", "10.0.0.0/33", "expected a subnet, region:NAME or any"),
    ("dc:A,south,1", "ldns", "south", "expected a subnet, region:NAME or any"),
    ("dc:A,!any,1", "ldns", "!any", "!any matches nothing"),
    ("dc:A,region:,1", "ldns", "region:", "expected one of region:NAME"),
    ("dc:A,any,-1", "score", "-1", "must be an integer 0..2147483647"),
    ("dc:A,any,2147483648", "score", "2147483648", "must be an integer 0..2147483647"),
    ("dc:A,any,1.5", "score", "1.5", "must be an integer 0..2147483647"),
    ("dc:A,any", "", "dc:A,any", "expected 3 fields: server,ldns,score"),
    ("dc:A,any,1,2", "", "dc:A,any,1,2", "expected 3 fields: server,ldns,score"),
]


@pytest.mark.parametrize(("row", "path", "value", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_row(row: str, path: str, value: str, message: str) -> None:
    records, problems = parse_topology(HEADER + row + "\n", "t.csv")
    assert records == []
    assert problems == [Problem("t.csv", 2, path, value, message)]


def test_comments_blank_lines_and_every_problem_with_its_line() -> None:
    text = (
        "# topology\n"
        "\n"
        "server,ldns,score\n"
        "dc:A,any,1\n"
        "  # indented comment\n"
        "dc:B,nowhere,1\n"
        "dc:C,any,x\n"
        "\n"
        "vs:D,region:r,3\n"
    )
    records, problems = parse_topology(text, "t.csv")
    assert records == [
        TopologyRecord("dc", "A", "any", "", False, 1, line=4),
        TopologyRecord("vs", "D", "region", "r", False, 3, line=9),
    ]
    assert problems == [
        Problem("t.csv", 6, "ldns", "nowhere", "expected a subnet, region:NAME or any"),
        Problem("t.csv", 7, "score", "x", "must be an integer 0..2147483647"),
    ]


@pytest.mark.parametrize("header", ["ldns,server,score", "dc:A,any,1"])
def test_header_is_required(header: str) -> None:
    records, problems = parse_topology(f"{header}\ndc:B,any,2\n", "t.csv")
    assert records == [TopologyRecord("dc", "B", "any", "", False, 2, line=2)]
    assert problems == [Problem("t.csv", 1, "", header, "expected the header server,ldns,score")]


def test_empty_file_has_no_records() -> None:
    assert parse_topology("# nothing yet\n", "t.csv") == ([], [])
