"""docs/config.md covers the schema: every key wideips.toml accepts is a row
of the reference, and every row is a key (a renamed or removed key fails)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from pydantic import BaseModel

from gslb.config.schema import Document
from gslb.monitors import REGISTRY

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "config.md"
ROW = re.compile(r"^\| `([^`]+)` \|", re.M)


def models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (`list[Pool]`, `Persistence | None`, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in models_in(arg)]


def keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted keys of `model`'s fields and of the tables inside them; the
    top-level tables themselves (`server`, `pool`, ...) are headings, not rows."""
    out = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        if prefix:
            out.add(path)
        for inner in models_in(field.annotation):
            out |= keys(inner, f"{path}.")
    return out


def schema_keys() -> set[str]:
    found = keys(Document)
    for name, monitor in REGISTRY.items():
        found |= keys(monitor.settings, f"monitor({name}).")
    return found


def test_every_key_is_documented_and_every_row_is_a_key():
    documented = ROW.findall(REFERENCE.read_text())
    assert len(documented) == len(set(documented)), "a key documented twice"
    expected = schema_keys()
    assert set(documented) - expected == set(), "rows that are no key"
    assert expected - set(documented) == set(), "keys without a row"
    assert {"server.persistence_max_entries", "control.socket_mode", "pool.persist_cidr_v4",
            "pool.members.ratio", "monitor(https).verify", "log.format"} <= expected  # fmt: skip
