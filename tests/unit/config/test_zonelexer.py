"""gslb.config.zonelexer: master-file text -> entries of tokens."""

from __future__ import annotations

from gslb.config.zonelexer import Entry, Token, entries
from gslb.errors import Problem


def lex(text: str) -> tuple[list[tuple[int, bool, list[tuple[str, bool]]]], list[Problem]]:
    problems: list[Problem] = []
    found = entries(text, "z.zone", problems)
    return [(e.line, e.indented, [(t.raw, t.quoted) for t in e.tokens]) for e in found], problems


def test_entries_tokens_and_lines() -> None:
    text = (
        "; a comment line\n"
        "www  IN A 192.0.2.1 ; trailing comment\n"
        '\tTXT "a b;c" "q\\"d" x\\ y\n'
        "\n"
        "@ SOA ns hm ( 1 ; serial\n"
        "   2 3 ) ( 4\n"
        "  5 )\n"
        'svc HTTPS 1 . alpn="h2,h3"\n'
    )
    assert lex(text) == (
        [
            (2, False, [("www", False), ("IN", False), ("A", False), ("192.0.2.1", False)]),
            (3, True, [("TXT", False), ("a b;c", True), ('q\\"d', True), ("x\\ y", False)]),
            (5, False, [(w, False) for w in ["@", "SOA", "ns", "hm", "1", "2", "3", "4", "5"]]),
            (8, False, [(w, False) for w in ("svc", "HTTPS", "1", ".", 'alpn="h2,h3"')]),
        ],
        [],
    )


def test_token_text_puts_quotes_back() -> None:
    assert [Token('a "b', True).text, Token("x", False).text] == ['"a "b"', "x"]


def test_syntax_errors_drop_the_entry_and_read_on() -> None:
    text = 'a TXT "open\nb A 1.2.3.4 )\nc A ( 1.2.3.4\nd A 5.6.7.8\n'
    found, problems = lex(text)
    # b is kept (a stray ')' is forgiven once reported); c swallows d, unclosed.
    assert found == [(2, False, [("b", False), ("A", False), ("1.2.3.4", False)])]
    assert problems == [
        Problem("z.zone", 1, "", None, "unterminated quoted string"),
        Problem("z.zone", 2, "", None, "unbalanced parentheses: ')' without '('"),
        Problem("z.zone", 3, "", None, "unbalanced parentheses: '(' is never closed"),
    ]


def test_entry_is_plain_data() -> None:
    assert Entry(1, False) == Entry(1, False, [], False)
