"""A standalone node (no [sync]) needs no bus: nats is never imported."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROGRAM = """
import sys
from pathlib import Path
from gslb.server.app import Server
server = Server.from_directory(Path(sys.argv[1]))
assert server.sync is None
print(sorted(m for m in sys.modules if m == "nats" or m.startswith(("nats.", "gslb.sync"))))
"""


def test_a_standalone_node_imports_no_nats(tmp_path):
    config = shutil.copytree(ROOT / "etc", tmp_path / "etc")  # its lock and state go there
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr
