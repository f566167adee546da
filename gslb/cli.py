"""gslbctl: the operator's command line.

    gslbctl --version
    gslbctl check [DIR]                  validate the configuration in DIR (default: etc)
    gslbctl reload                       re-read the running gslbd's configuration
    gslbctl status                       version, uptime, generation, counts
    gslbctl show wideips|pools|members|datacenters|topology
    gslbctl show ldns [IP] [--limit N]   the LDNS proximity table (3-DNS `ldns { }` form)
    gslbctl show sync                    the sync group: peers, last heard, lag, config hash
    gslbctl explain NAME --ldns IP [--ecs NET] [--qtype A|AAAA]
    gslbctl member disable|enable NAME   by hand; survives reloads and restarts
    gslbctl probe IP                     probe an LDNS now, from every data center

Each subcommand is a function taking the parsed arguments and returning the
exit status; `_parser()` registers it. `check` runs the same `config.load()`
as server start-up, so what it accepts the server accepts. The others talk
to gslbd over its control socket: `--socket PATH`, else $GSLB_SOCKET, else
the `[control] socket` of `--config DIR` (default etc; relative to DIR). A
table by default, `--json` for scripts. The options go before or after the
subcommand. Exit status: 0 done; 1 failed, with one line on stderr (`check`:
every problem, then their count); 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from gslb import config
from gslb.command import command_parser
from gslb.control import render
from gslb.control.protocol import LDNS_SHOWN, ControlError, request
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
        cfg = config.load(args.dir or args.config)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        print(f"{len(exc.problems) + exc.more} errors", file=sys.stderr)
        return 1
    for warning in cfg.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary(cfg))
    return 0


def _ldns_text(entries: Any) -> str:
    from gslb.probes.report import format_entry

    return "\n".join(format_entry(e) for e in entries) or "(none)"


def _show_text(args: argparse.Namespace, result: Any) -> str:
    if args.what == "members":
        return render.table([render.member_views(row) for row in result])
    if args.what != "ldns":
        return render.table(result)
    text = _ldns_text(result)
    if args.address is None and len(result) == (args.limit or LDNS_SHOWN):
        text += f"\n(the first {len(result)} entries, least recently seen first; --limit N)"
    return text


def remote(args: argparse.Namespace) -> int:
    """Send the subcommand and its own arguments (`fields`) to gslbd; print the result."""
    payload = {name: getattr(args, name) for name in args.fields}
    try:
        result = request(socket_path(args), args.command, payload, timeout=args.timeout)
    except ControlError as exc:
        print(f"gslbctl: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else args.text(args, result))
    return 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def socket_path(args: argparse.Namespace) -> str:
    """The control socket: `--socket`, else $GSLB_SOCKET, else the `[control]
    socket` of `--config DIR` (relative to DIR, as gslbd reads it)."""
    if args.socket is not None:
        return str(args.socket)
    if os.environ.get("GSLB_SOCKET"):
        return os.environ["GSLB_SOCKET"]
    return config.control_socket(args.config)


def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The options every remote subcommand takes, before or after its name. The
    copy on each subcommand has no defaults, so it cannot undo one given before."""

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--config",
        default=default("etc"),
        metavar="DIR",
        help="find the control socket in DIR's [control] (default: etc)",
    )
    parser.add_argument(
        "--socket",
        default=default(None),
        help="gslbd's control socket (default: $GSLB_SOCKET, else --config's)",
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="print the result as JSON"
    )
    parser.add_argument("--timeout", type=_seconds, default=default(60.0), help=argparse.SUPPRESS)


def _parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "gslbctl",
        "Control and check gslb.",
        "0 done; 1 failed (one line on stderr; check: every problem)",
    )
    _global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check_parser = commands.add_parser("check", help="validate a configuration directory")
    check_parser.add_argument("dir", nargs="?", metavar="DIR", help="default: --config's")
    check_parser.set_defaults(func=check)

    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, defaults=False)

    def add(
        name: str, help: str, text: Callable[[argparse.Namespace, Any], str], *fields: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, parents=[common])
        sub.set_defaults(func=remote, text=text, fields=fields)
        return sub

    add(
        "reload",
        "re-read the configuration of the running gslbd",
        lambda a, r: f"reloaded: generation {r['generation']}",
    )
    add(
        "status",
        "version, uptime, configuration generation, counts",
        lambda a, r: render.fields(r),
    )
    show = add("show", "list objects and their state", _show_text, "what", "address", "limit")
    show.add_argument("what", choices=("wideips", "pools", "members", "datacenters", "topology",
                                       "ldns", "sync"))  # fmt: skip
    show.add_argument("address", nargs="?", metavar="IP", help="show ldns: only this LDNS")
    show.add_argument(
        "--limit", type=int, metavar="N", help="show ldns: at most N entries (default 1000)"
    )
    explain = add(
        "explain",
        "what a resolver would get for a wide IP, and why",
        lambda a, r: render.explanation(r),
        *("name", "ldns", "ecs", "qtype"),
    )
    explain.add_argument("name", metavar="NAME")
    explain.add_argument("--ldns", required=True, metavar="IP")
    explain.add_argument("--ecs", metavar="NET", help="an EDNS client subnet, e.g. 1.2.3.0/24")
    explain.add_argument("--qtype", default="A", choices=("A", "AAAA"))
    member = add(
        "member",
        "disable or enable a member by hand",
        lambda a, r: f"member {r['name']}: {r['state']} ({r['reason']})",
        *("action", "name"),
    )
    member.add_argument("action", choices=("disable", "enable"))
    member.add_argument("name", metavar="NAME")
    probe = add(
        "probe",
        "probe an LDNS now from every data center",
        lambda a, r: _ldns_text(r),
        "address",
    )
    probe.add_argument("address", metavar="IP")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())
