"""What gslbd, gslb-anycast and gslbctl share as commands: `--version`, the
exit statuses their help states (2 is argparse's own for a usage error),
and for the two daemons `--config` and the options over `[log]`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, get_args

from gslb import __version__
from gslb.config.schema import LogFormat, LogLevel


def command_parser(prog: str, description: str, exit_statuses: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=f"Exit status: {exit_statuses}; 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def daemon_parser(prog: str, description: str, exit_statuses: str) -> argparse.ArgumentParser:
    """A command's parser with `--config DIR` and the options over `[log]`
    (`log_options` reads them back)."""
    parser = command_parser(prog, description, exit_statuses)
    parser.add_argument("--config", default="etc", type=Path, help="configuration directory")
    parser.add_argument(
        "--log-level", type=str.lower, choices=get_args(LogLevel), help="overrides [log] level"
    )
    parser.add_argument("--log-format", choices=get_args(LogFormat), help="overrides [log] format")
    parser.add_argument(
        "--no-log-timestamps",
        dest="log_timestamps",
        action="store_const",
        const=False,
        help="overrides [log] timestamps (journald stamps lines itself)",
    )
    return parser


def log_options(args: argparse.Namespace) -> dict[str, Any]:
    """What the command line says over `[log]` (None: as the config says)."""
    return {"level": args.log_level, "format": args.log_format, "timestamps": args.log_timestamps}
