"""Saved operational state: admin overrides and the last state of each check.

Written atomically (temporary file, fsync, rename) to `<state_dir>/health.json`
when a member is disabled or enabled by hand and when gslbd stops; read at
start-up, so a restart neither forgets what the operator disabled nor sends
traffic to a target that was down. A check's saved state is used only if the
check is unchanged (same monitor settings, address, port and source): its
`signature` says so. A save killed half-way leaves `.health.json.PID.tmp`
behind: `load_state` removes those of processes that are gone
(gslb/leftovers.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from gslb.leftovers import remove_leftovers, replacing

log = logging.getLogger(__name__)

FILE_NAME = "health.json"
VERSION = 1


@dataclass(frozen=True, slots=True)
class SavedCheck:
    state: str
    signature: str
    detail: str = ""
    checked_at: float = 0.0


@dataclass(frozen=True, slots=True)
class SavedState:
    disabled: frozenset[str] = frozenset()
    checks: dict[str, SavedCheck] = field(default_factory=dict)  # by "kind/object/monitor"


def load_state(state_dir: str | Path) -> SavedState:
    """The saved state; an absent or unreadable file is an empty state (logged).
    Called at start-up: the temporary files of killed saves are removed."""
    path = Path(state_dir) / FILE_NAME
    remove_leftovers(path, "state")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')!r}")
        checks = {
            key: SavedCheck(c["state"], c["signature"], c.get("detail", ""), c.get("at", 0.0))
            for key, c in data.get("checks", {}).items()
            if c.get("state") in ("up", "down")
        }
        return SavedState(frozenset(data.get("disabled", [])), checks)
    except FileNotFoundError:
        return SavedState()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("state: unreadable file=%s error=%s", path, exc)
        return SavedState()


def _check_json(c: SavedCheck) -> dict[str, object]:
    return {"state": c.state, "signature": c.signature, "detail": c.detail, "at": c.checked_at}


def save_state(state_dir: str | Path, state: SavedState) -> None:
    """Write the state atomically; failures are logged, never raised."""
    directory = Path(state_dir)
    path = directory / FILE_NAME
    data = {
        "version": VERSION,
        "disabled": sorted(state.disabled),
        "checks": {key: _check_json(c) for key, c in sorted(state.checks.items())},
    }
    try:
        with replacing(path) as out:
            json.dump(data, out, indent=1)
    except OSError as exc:
        log.error("state: not saved file=%s error=%s", path, exc)
