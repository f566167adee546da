"""gslbctl: the operator's command line.

    gslbctl check [DIR]     validate the configuration in DIR (default: etc)

Each subcommand is a function taking the parsed arguments and returning the
exit status; `_parser()` registers it. `check` runs the same `config.load()`
as server start-up, so what it accepts the server accepts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from gslb import config
from gslb.errors import ConfigError
from gslb.model import Config

Command = Callable[[argparse.Namespace], int]


def summary(cfg: Config) -> str:
    """The one-line `ok:` summary of a loaded configuration."""
    records = sum(len(zone.records) for zone in cfg.zones)
    return (
        f"ok: {len(cfg.datacenters)} datacenters, {len(cfg.virtual_servers)} virtual servers, "
        f"{len(cfg.pools)} pools, {len(cfg.wideips)} wide IPs, "
        f"{len(cfg.topology)} topology records, {len(cfg.zones)} zones ({records} records)"
    )


def check(args: argparse.Namespace) -> int:
    try:
        cfg = config.load(args.dir)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} errors", file=sys.stderr)
        return 1
    for warning in cfg.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary(cfg))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gslbctl", description="Control and check gslb.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check_parser = commands.add_parser("check", help="validate a configuration directory")
    check_parser.add_argument("dir", nargs="?", default="etc", metavar="DIR")
    check_parser.set_defaults(func=check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())
