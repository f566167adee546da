"""What gslbd and gslbctl share as commands: `--version`, and the exit
statuses their help states (2 is argparse's own for a usage error)."""

from __future__ import annotations

import argparse

from gslb import __version__


def command_parser(prog: str, description: str, exit_statuses: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=f"Exit status: {exit_statuses}; 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser
