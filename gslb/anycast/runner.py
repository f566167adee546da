"""gslb-anycast: the gate process beside one gslbd.

    gslb-anycast --config DIR     (the same directory as gslbd's; needs [anycast])

For each prefix of `[anycast]`, every `interval` seconds: ask gslbd the SOA
of `check_zone` on the prefix's listen address (gslb/anycast/checker.py),
look for a hold (the drain file, gslbd's stopping marker), let the prefix's
gate decide (gslb/anycast/gate.py) and tell the routing daemon what it says
(gslb/anycast/routing.py). It is a process of its own so that it outlives
gslbd: a dead or frozen gslbd stops answering and the gate withdraws.

SIGTERM/SIGINT: withdraw every prefix, then exit 0. The configuration is
read at start; to change it, restart the gate (it withdraws on the way out
and announces again once answers come).

Visible as `anycast: prefix=... state=... reason=...` log lines, in the
report file gslbd shows in `gslbctl status` (gslb/anycast/handoff.py) and on
the gate's own /metrics (`[anycast] http`, gslb/anycast/metrics.py), which
stays up while gslbd is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from gslb import command
from gslb.anycast import handoff
from gslb.anycast.checker import check
from gslb.anycast.gate import Check, Gate, Hold, State
from gslb.anycast.metrics import registry
from gslb.anycast.routing import Routing, routing
from gslb.config import load
from gslb.control.http import HttpListener, Page, text
from gslb.errors import ConfigError
from gslb.model import AnycastPrefix, AnycastSettings, LogSettings
from gslb.server import runtime
from gslb.server.notify import Notifier

log = logging.getLogger("gslb.anycast")
REPORT_EVERY = 1.0  # seconds between report rewrites when nothing changes

Checker = Callable[[str, int, str, float], Awaitable[Check]]


class Runner:
    def __init__(
        self,
        settings: AnycastSettings,
        routing: Routing,
        checker: Checker = check,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.routing = routing
        self.checker = checker
        self.clock = clock
        self.wall = wall
        now = clock()
        self.gates = {
            p: Gate(settings.rise, settings.fall, now, reassert=settings.reassert)
            for p in settings.prefixes
        }
        self.checks: Counter[tuple[str, str]] = Counter()  # (prefix, result)
        self.commands: Counter[tuple[str, str, str]] = Counter()  # (prefix, state, ok|failed)
        self.failures: dict[AnycastPrefix, tuple[State, str]] = {}  # the last, per prefix
        self.reported_at = -REPORT_EVERY
        self.stop = asyncio.Event()

    def hold(self) -> Hold | None:
        s = self.settings
        if s.drain_file and os.path.exists(s.drain_file):
            return "drain_file"
        if handoff.stopping(s.stopping_file, self.wall()):
            return "gslbd_stopping"
        return None

    async def run(self) -> None:
        """Watch every prefix until `stop` is set; then withdraw them all (also
        when a watch fails: a gate that stops watching must not leave routes)."""
        try:
            await asyncio.gather(*(self._watch(p) for p in self.settings.prefixes))
        finally:
            await self._withdraw_all()

    async def _withdraw_all(self) -> None:
        for p, gate in self.gates.items():
            gate.observe(None, "shutdown", self.clock())
            self._log_state(p, gate)
            await self._tell(p, gate, "withdrawn")
        self.report(force=True)

    async def _watch(self, p: AnycastPrefix) -> None:
        gate, s = self.gates[p], self.settings
        while not self.stop.is_set():
            started = self.clock()
            result = await self.checker(p.address, p.port, s.check_zone, s.timeout)
            self.checks[(str(p.prefix), result_label(result))] += 1
            before = (gate.state, gate.reason)
            changed = gate.observe(result, self.hold(), self.clock()) is not None
            if (gate.state, gate.reason) != before:
                # A move, or still withdrawn for a new reason (no answer ->
                # gslbd's hold): both belong in the log.
                self._log_state(p, gate)
            due = gate.due(self.clock())
            if due is not None:
                await self._tell(p, gate, due)
            self.report(force=changed or due is not None)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, started + s.interval - self.clock())):
                    await self.stop.wait()

    def _log_state(self, p: AnycastPrefix, gate: Gate) -> None:
        log.info(
            "anycast: prefix=%s state=%s reason=%s detail=%s",
            p.prefix,
            gate.state,
            gate.reason,
            gate.detail or "-",
        )

    async def _tell(self, p: AnycastPrefix, gate: Gate, state: State) -> None:
        again = gate.told == state
        told = await self.routing.tell(state, p.prefix)
        gate.told_result(state, told.ok, self.clock())
        self.commands[(str(p.prefix), state, "ok" if told.ok else "failed")] += 1
        if not told.ok:
            # Once per kind of failure, not once a second while the daemon is away.
            repeated = self.failures.get(p) == (state, told.output)
            self.failures[p] = (state, told.output)
            log.log(
                logging.DEBUG if repeated else logging.ERROR,
                "anycast: command failed prefix=%s state=%s output=%r",
                p.prefix,
                state,
                told.output,
            )
            return
        self.failures.pop(p, None)
        if again:
            log.debug("anycast: told again prefix=%s state=%s", p.prefix, state)
        else:
            log.info("anycast: told prefix=%s state=%s output=%r", p.prefix, state, told.output)

    def rows(self) -> list[dict[str, Any]]:
        now, wall = self.clock(), self.wall()
        return [
            {
                "prefix": str(p.prefix),
                "address": f"{p.address}:{p.port}",
                "state": gate.state,
                "reason": gate.reason,
                "detail": gate.detail,
                "since": round(wall - (now - gate.since), 3),
                "told": gate.told,
                "last_check": gate.last_check.detail if gate.last_check else None,
            }
            for p, gate in self.gates.items()
        ]

    def report(self, force: bool = False) -> None:
        """Rewrite the report file on a change, else once every REPORT_EVERY s."""
        now = self.clock()
        if not force and now - self.reported_at < REPORT_EVERY:
            return
        self.reported_at = now
        data = {"pid": os.getpid(), "updated": self.wall(), "prefixes": self.rows()}
        try:
            handoff.write_json(self.settings.state_file, data)
        except OSError as exc:
            log.error("anycast: report not written file=%s error=%s", self.settings.state_file, exc)


def result_label(result: Check) -> str:
    """A check's detail as a bounded metric label."""
    if result.detail in ("ok", "timeout", "refused"):
        return result.detail
    return "error" if result.detail.startswith("error") else "bad_answer"


async def serve(config_dir: Path, log_options: dict[str, Any]) -> int:
    try:
        config = load(config_dir)
    except ConfigError as err:
        print(err.report(), file=sys.stderr)
        return 1
    runtime.configure_logging(runtime.overridden(config.log, log_options))
    settings = config.anycast
    if settings is None:
        print(f"{config_dir}: no [anycast] section: nothing to announce", file=sys.stderr)
        return 1
    runner = Runner(settings, routing(settings))
    reg = registry(runner)
    http = HttpListener(
        {"/metrics": lambda: metrics_page(reg), "/healthz": lambda: text(200, "ok\n")}
    )
    if settings.http is not None:
        try:
            await http.start(*settings.http)
        except OSError as exc:
            log.error("http: not listening address=%s port=%d error=%s", *settings.http, exc)
    # Under systemd (Type=notify, WatchdogSec=) a gate whose loop hangs is
    # restarted: a hung gate could leave a prefix announced.
    notifier = Notifier()

    def stop() -> None:
        notifier.stopping()
        runner.stop.set()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(signal.SIGINT, stop)
    loop.add_signal_handler(
        signal.SIGHUP, lambda: log.info("anycast: SIGHUP ignored: restart to reconfigure")
    )
    prefixes = ",".join(str(p.prefix) for p in settings.prefixes)
    log.info(
        "anycast: started prefixes=%s routing=%s check=%s interval=%g rise=%d fall=%d",
        prefixes,
        settings.routing,
        settings.check_zone,
        settings.interval,
        settings.rise,
        settings.fall,
    )
    notifier.ready(f"gating {prefixes} by {settings.routing}")
    await runner.run()
    await http.stop()
    log.info("anycast: stopped")
    return 0


def metrics_page(reg: CollectorRegistry) -> Page:
    return 200, CONTENT_TYPE_LATEST, generate_latest(reg)


def main(argv: list[str] | None = None) -> int:
    parser = command.daemon_parser(
        "gslb-anycast",
        "announce gslbd's anycast prefixes while gslbd answers on them",
        "0 stopped by SIGTERM/SIGINT, every prefix withdrawn; 1 could not start (the reason "
        "on stderr)",
    )
    args = parser.parse_args(argv)
    options = command.log_options(args)
    return runtime.run(serve(args.config, options), runtime.overridden(LogSettings(), options))


if __name__ == "__main__":
    raise SystemExit(main())
