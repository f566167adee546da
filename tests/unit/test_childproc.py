from __future__ import annotations

import asyncio
import os
import sys

import pytest

from gslb import childproc

PY = sys.executable


def test_output_errors_and_exit_status_come_back() -> None:
    script = "import sys; print('out' * 30000); print('err', file=sys.stderr); sys.exit(3)"
    done = asyncio.run(childproc.run((PY, "-c", script)))
    assert (done.returncode, done.output, done.errors) == (3, b"out" * 30000 + b"\n", b"err\n")
    merged = asyncio.run(childproc.run((PY, "-c", script), merge_errors=True))
    assert merged.output.endswith(b"err\n") and merged.errors == b""


def test_a_child_runs_at_the_priority_asked() -> None:
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    script = "import os; print(os.getpriority(os.PRIO_PROCESS, 0))"
    done = asyncio.run(childproc.run((PY, "-c", script), nice=10))
    assert done.output == f"{min(mine + 10, 19)}\n".encode()
    assert asyncio.run(childproc.run((PY, "-c", script))).output == f"{mine}\n".encode()


def test_the_environment_is_the_one_given() -> None:
    done = asyncio.run(
        childproc.run((PY, "-c", "import os; print(os.environ['X'])"), env={"X": "given"})
    )
    assert done.output == b"given\n"


@pytest.mark.parametrize("new_session", [False, True])
def test_a_cancelled_child_is_killed_with_its_group(tmp_path, new_session: bool) -> None:
    pids = tmp_path / "pids"
    # A child that starts a grandchild in its group, then both sleep.
    script = (
        "import os, subprocess, sys, time\n"
        "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{g.pid}}')\n"
        "time.sleep(60)\n"
    )

    async def cancelled() -> None:
        task = asyncio.create_task(childproc.run((PY, "-c", script), new_session=new_session))
        for _ in range(500):
            if pids.exists() and pids.read_text():
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled())
    child, grandchild = (int(p) for p in pids.read_text().split())
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # reaped
    if new_session:
        for _ in range(200):  # killed with its group (reaped by init, so only gone)
            if not os.path.exists(f"/proc/{grandchild}") or _zombie(grandchild):
                break
            asyncio.run(asyncio.sleep(0.01))
        assert not os.path.exists(f"/proc/{grandchild}") or _zombie(grandchild)
    else:
        os.kill(grandchild, 9)  # left running: only the child was killed


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
