"""Fixtures: a copy of the default etc/ that a test edits line by line."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gslb.errors import Problem

ETC = Path(__file__).resolve().parents[3] / "etc"

# An edit: (file name, text to find, its replacement). "" as the text to find
# appends, so line numbers of the default files stay valid in expectations.
Edit = tuple[str, str, str]
MakeConfig = Callable[..., Path]


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    def make(*edits: Edit, remove: tuple[str, ...] = ()) -> Path:
        directory = tmp_path / "etc"
        shutil.copytree(ETC, directory)
        for name, old, new in edits:
            path = directory / name
            text = path.read_text() if path.exists() else ""
            if old:
                assert text.count(old) == 1, f"{old!r} must occur once in {name}"
                text = text.replace(old, new)
            else:
                text += new
            path.write_text(text)
        for name in remove:
            (directory / name).unlink()
        return directory

    return make


def brief(problems: tuple[Problem, ...]) -> list[tuple[str, int | None, str, object, str]]:
    """Problems with the file reduced to its name, for exact comparison."""
    return [(Path(p.file).name, p.line, p.path, p.value, p.message) for p in problems]
