import logging
import os
import subprocess
import sys
from pathlib import Path

from gslb.statefile import FILE_NAME, SavedCheck, SavedState, load_state, save_state


def test_round_trip(tmp_path: Path):
    state = SavedState(
        frozenset({"vs_b", "vs_a"}),
        {"member/vs_a/web": SavedCheck("down", "sig", "status 503", 12.5)},
    )
    save_state(tmp_path / "var", state)
    assert load_state(tmp_path / "var") == state
    assert [p.name for p in (tmp_path / "var").iterdir()] == [FILE_NAME]  # no temporary left


def test_missing_unreadable_or_foreign_files_are_empty(tmp_path: Path, caplog):
    assert load_state(tmp_path) == SavedState()
    (tmp_path / FILE_NAME).write_text("{not json")
    assert load_state(tmp_path) == SavedState()
    (tmp_path / FILE_NAME).write_text('{"version": 99, "disabled": ["x"]}')
    assert load_state(tmp_path) == SavedState()
    assert len([r for r in caplog.records if r.message.startswith("state: unreadable")]) == 2


def test_unknown_states_are_not_restored(tmp_path: Path):
    (tmp_path / FILE_NAME).write_text(
        '{"version": 1, "checks": {"a": {"state": "unknown", "signature": "s"},'
        ' "b": {"state": "up", "signature": "s"}}}'
    )
    assert load_state(tmp_path) == SavedState(frozenset(), {"b": SavedCheck("up", "s")})


def test_save_failure_is_logged_not_raised(tmp_path: Path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    save_state(blocker / "var", SavedState())
    assert any(r.message.startswith("state: not saved") for r in caplog.records)


def test_loading_removes_what_killed_saves_left(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    state = SavedState(frozenset({"vs_a"}))
    save_state(tmp_path, state)
    (tmp_path / f".{FILE_NAME}.{dead}.tmp").write_text('{"version": 1, "disab')
    under_way = tmp_path / f".{FILE_NAME}.{os.getppid()}.tmp"  # a living process's save
    under_way.write_text("{")
    assert load_state(tmp_path) == state
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([FILE_NAME, under_way.name])
    assert [r.message for r in caplog.records] == ["state: removed leftover temporary files=1"]
