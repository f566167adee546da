"""The README's gslbctl examples are what a user gets from `make run` (etc/):
each `$ gslbctl ...` line of a code block runs against gslbd on a copy of
etc/, and its output must be the block's, but for what changes from run to
run (PID, uptime, paths, ports, measured RTTs)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import HTTP_ANY_PORT, ROOT, Gslbd, free_port, start_gslbd
from tests.integration.ops.helpers import ctl

# Values that differ between runs: masked on both sides.
VOLATILE = [
    (re.compile(r"^(pid|uptime|config|listening):\s+.*$", re.M), r"\1: *"),
    (re.compile(r"\b(ttl|cur_rtt) \d+"), r"\1 *"),
]
SKIPPED = {"reload"}  # its examples need an edited configuration


def examples() -> list[tuple[list[str], str]]:
    """(gslbctl arguments, expected output) for each example, in README order."""
    text = (ROOT / "README.md").read_text()
    out = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```$", text, re.S | re.M):
        for command in re.finditer(r"^\$ gslbctl (.*?)\n(.*?)(?=^\$ |\Z)", block, re.S | re.M):
            args = shlex.split(command.group(1), comments=True)
            out.append((args, command.group(2).rstrip("\n")))
    return out


def masked(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def test_the_readme_examples_reproduce(tmp_path: Path):
    # etc/ as it is, probes on, on a free port (and metrics on any port).
    config = tmp_path / "etc"
    shutil.copytree(ROOT / "etc", config)
    toml = config / "wideips.toml"
    toml.write_text(toml.read_text().replace("127.0.0.1:5300", f"127.0.0.1:{free_port()}")
                    + HTTP_ANY_PORT)  # fmt: skip
    server = start_gslbd(config)
    try:
        check(server)
    finally:
        server.stop()


def check(server: Gslbd) -> None:
    found = examples()
    assert [a[0] for a, _ in found].count("show") == 3 and len(found) >= 10
    for args, expected in found:
        if args[0] in SKIPPED or re.search(r"^\d+ errors$", expected, re.M):
            continue  # an example of an edited configuration, which its text describes
        if args[0] == "check":  # a directory, no server: as written, from the source tree
            done = subprocess.run([sys.executable, "-m", "gslb.cli", *args], cwd=ROOT,
                                  capture_output=True, text=True, timeout=60)  # fmt: skip
        else:
            done = ctl(server, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert masked(done.stdout.rstrip("\n")) == masked(expected), args
