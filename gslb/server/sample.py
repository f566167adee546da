"""`gslbd --write-sample-config DIR`: a configuration to start from.

The sample is the runnable default configuration of the source tree, etc/
(loopback addresses only), shipped in the package as gslb/sample (a link
to etc/ in the source, files in an installed wheel), so `pip install`
alone gives something `gslbd --config DIR` serves.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path


def write_sample(directory: Path) -> int:
    """Copy the sample into `directory` (made if missing); never overwrite a file."""
    # Files only: a source tree's etc/ may hold the run/ and var/ of `make run`.
    sample = sorted((f for f in (files("gslb") / "sample").iterdir() if f.is_file()),
                    key=lambda f: f.name)  # fmt: skip
    clashes = [f.name for f in sample if (directory / f.name).exists()]
    if clashes:
        print(f"gslbd: {directory / clashes[0]} exists; not overwriting", file=sys.stderr)
        return 1
    directory.mkdir(parents=True, exist_ok=True)
    for f in sample:
        (directory / f.name).write_bytes(f.read_bytes())
        print(directory / f.name)
    return 0
