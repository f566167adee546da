"""gslb.config.generate: $GENERATE ranges and templates, rendered exactly as
BIND renders them (lib/dns/master.c: genname and nibbles)."""

from __future__ import annotations

import pytest

from gslb.config.generate import GenerateError, parse_range, parse_template

# (template, counter, text)
RENDER = [
    ("host-$", 7, "host-7"),
    ("$.$", 12, "12.12"),
    ("${0}", 5, "5"),
    ("${+3}", 5, "8"),
    ("${-5}", 5, "0"),
    ("${0,3}", 5, "005"),
    ("${0,3,d}", 1234, "1234"),  # a width is a minimum
    ("${0,4,o}", 8, "0010"),
    ("${0,2,x}", 171, "ab"),
    ("${0,4,X}", 171, "00AB"),
    # Nibbles: hex digits least significant first, dot-separated; the width
    # counts characters, dots included, and zero-fills (a trailing dot when
    # the width ends on one, as BIND writes it).
    ("${0,0,n}", 0, "0"),
    ("${0,0,n}", 0x123, "3.2.1"),
    ("${0,0,N}", 0xABC, "C.B.A"),
    ("${0,1,n}", 0x400, "0.0.4"),
    ("${0,5,n}", 0x400, "0.0.4"),
    ("${0,6,n}", 0x400, "0.0.4."),
    ("${0,7,n}", 0x400, "0.0.4.0"),
    ("${0,3,n}", 0, "0.0"),
    ("$$", 1, "$"),
    ("a$$b$", 1, "a$b1"),
    ("\\$x$", 2, "\\$x2"),  # the escape stays for the name or rdata parser
    ("x\\\\$", 2, "x\\\\2"),
    ("no counter", 9, "no counter"),
]


@pytest.mark.parametrize(("template", "value", "text"), RENDER, ids=[r[0] for r in RENDER])
def test_render(template: str, value: int, text: str) -> None:
    assert parse_template(template).render(value) == text


@pytest.mark.parametrize(
    "template", ["${", "${}", "${x}", "${1,}", "${1,2,}", "${1,2,q}", "${1,2,d", "${1 }"]
)
def test_bad_modifier(template: str) -> None:
    with pytest.raises(GenerateError, match=r"^bad modifier in "):
        parse_template(template)


def test_negative_value() -> None:
    with pytest.raises(GenerateError, match=r"^the counter plus its offset is negative \(-2\)$"):
        parse_template("${-3}").render(1)


@pytest.mark.parametrize(
    ("text", "values"),
    [("1-3", [1, 2, 3]), ("0-10/5", [0, 5, 10]), ("7-7", [7]), ("0-9/4", [0, 4, 8])],
)
def test_range(text: str, values: list[int]) -> None:
    assert list(parse_range(text)) == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3-1", "the range ends (1) before it starts (3)"),
        ("1-3/0", "the step must be at least 1"),
        ("-1-3", "expected a range start-stop or start-stop/step"),
        ("1", "expected a range start-stop or start-stop/step"),
        ("0-65535", None),
        ("0-65536", "65537 records, more than 65536: split the range"),
        ("0-131072/2", "65537 records, more than 65536: split the range"),
    ],
)
def test_range_bounds(text: str, message: str | None) -> None:
    if message is None:
        assert len(parse_range(text)) == 65536
        return
    with pytest.raises(GenerateError) as caught:
        parse_range(text)
    assert str(caught.value) == message
