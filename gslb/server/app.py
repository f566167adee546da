"""gslbd: load the configuration, bind the listeners, serve, reload on SIGHUP.

Start-up and `gslbctl check` validate through the same `gslb.config.load()`.
A reload (SIGHUP or `gslbctl reload`) validates and builds a whole new
snapshot before swapping it in; on error the old one keeps serving and the
problems are logged and reported to the caller. Health (unchanged checks keep
their state), admin overrides, persistence records and the LDNS table carry
over. SIGTERM/SIGINT: stop listening, stop the checks, save the health and
admin state (`[control] state_dir`) and the LDNS table, exit 0. With
`[server] workers` > 1 this process keeps all of that and worker processes
answer the queries (gslb/server/supervisor.py).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gslb import __version__
from gslb.config import load
from gslb.control.plane import ControlPlane
from gslb.counters import QueryCounters
from gslb.dns.answer import Responder
from gslb.errors import ConfigError, Problem
from gslb.monitors.runner import MonitorRunner
from gslb.probes.scheduler import Scheduler
from gslb.proximity import FrozenView, LdnsTable
from gslb.server import runtime
from gslb.server.listeners import Events, Listeners, bind
from gslb.server.supervisor import PublishingHolder, WorkerPool
from gslb.snapshot import Snapshot, SnapshotHolder
from gslb.statefile import load_state, save_state

if TYPE_CHECKING:
    from gslb.sync.group import SyncGroup

log = logging.getLogger("gslb.server")
GC_GEN0_THRESHOLD = 50_000


@dataclass
class Server:
    config_dir: Path
    holder: SnapshotHolder
    responder: Responder
    listeners: Listeners = field(default_factory=Listeners)  # in this process (workers = 1)
    bound: list[tuple[str, str, int]] = field(default_factory=list)  # (proto, host, port)
    # The LDNS table and its probes; also what the control socket asks for
    # `show ldns` (`entries`) and `probe IP` (`probe_now`).
    proximity: Scheduler = field(init=False)
    probing: asyncio.Task[None] | None = field(default=None, init=False)
    # Health monitors, the control socket and HTTP listener, and what
    # `gslbctl status` and /metrics report about the process.
    monitors: MonitorRunner = field(init=False)
    control: ControlPlane = field(init=False)
    started_at: float = field(default_factory=time.time, init=False)
    pid: int = field(default_factory=os.getpid, init=False)
    reloads: Counter[str] = field(default_factory=Counter, init=False)  # ok | failed
    last_reload_problems: tuple[Problem, ...] = field(default=(), init=False)
    ready: bool = field(default=False, init=False)  # config loaded, listeners bound
    workers: WorkerPool | None = field(default=None, init=False)  # `[server] workers` > 1
    sync: SyncGroup | None = field(default=None, init=False)  # `[sync]`: the group's bus

    def __post_init__(self) -> None:
        config = self.holder.current.config
        table = LdnsTable(max_entries=config.probes.max_entries, ldns_ttl=config.probes.ldns_ttl)
        self.proximity = Scheduler(
            table, config, seen=self.responder.seen, publish=self._publish_proximity
        )
        self.responder.on_probe = self.proximity.offer
        loaded = self.proximity.load()
        log.info("ldns_table: loaded=%d file=%s", loaded, config.probes.state_file or "-")
        self._publish_proximity(table.view())
        control = config.control
        saved = load_state(control.state_dir)
        self.monitors = MonitorRunner(
            self.holder, saved=saved, concurrency=control.monitor_concurrency
        )
        self.holder.publish(self.holder.current.with_health(self.monitors.configure(config)))
        log.info(
            "health_state: loaded checks=%d disabled=%d", len(saved.checks), len(saved.disabled)
        )
        if config.sync is not None:  # imported only then: a standalone node needs no NATS
            from gslb.sync.group import ServerNode, SyncGroup

            node = ServerNode(self.holder, self.monitors, self.save_state)
            self.sync = SyncGroup(config.sync, self.proximity, self._publish_proximity, node)
            self.monitors.combine = self.sync.combine_health
        self.control = ControlPlane(self)
        if config.server.workers > 1:
            self.workers = WorkerPool(
                self.holder, self.proximity, config.server.workers, on_down=self._down
            )

    def _down(self) -> None:
        self.ready = False

    def _publish_proximity(self, view: FrozenView) -> None:
        self.holder.publish(self.holder.current.with_proximity(view))

    @classmethod
    def from_directory(cls, config_dir: Path) -> Server:
        config = load(config_dir)
        for w in config.warnings:
            log.warning("config: %s", w)
        holder_type = SnapshotHolder if config.server.workers == 1 else PublishingHolder
        holder = holder_type(Snapshot.build(config))
        return cls(config_dir, holder, Responder(holder))

    async def start(self) -> None:
        if self.workers is None:
            self.listeners = await bind(self.holder.current.config.server, self.responder.answer)
            self.bound += self.listeners.bound
        else:
            self.bound += await self.workers.start()
        for proto, host, port in self.bound:
            log.info("listening: proto=%s address=%s port=%d", proto, host, port)
        self.probing = asyncio.create_task(self.proximity.run())
        if self.sync is not None:
            self.sync.start()
        self.monitors.start()
        await self.control.start(self.holder.current.config.control)
        self.ready = True

    def reload(self) -> bool:
        """Validate and swap in the configuration; keep the old one on error."""
        old = self.holder.current
        try:
            config = load(self.config_dir)
        except ConfigError as err:
            for p in err.problems:
                log.error("reload: rejected %s", p)
            self.reloads["failed"] += 1
            self.last_reload_problems = err.problems
            return False
        self.proximity.configure(config)
        if config.sync != (None if self.sync is None else self.sync.settings):
            log.warning("reload: [sync] changed; it takes a restart to apply")
        view = self.proximity.table.view()
        health = self.monitors.configure(config)
        self.holder.publish(
            Snapshot.build(config, old.generation + 1, health=health, proximity=view)
        )
        self.reloads["ok"] += 1
        self.last_reload_problems = ()
        log.info("reload: ok generation=%d", old.generation + 1)
        return True

    def set_member_disabled(self, name: str, disabled: bool) -> None:
        """`gslbctl member disable|enable`: at once, and saved for restarts."""
        self.monitors.set_disabled(name, disabled)
        log.info("member: name=%s %s by hand", name, "disabled" if disabled else "enabled")
        if self.sync is not None:
            self.sync.set_member_disabled(name, disabled)
        self.save_state()

    async def synced(self) -> None:
        """Return once every worker process serves what was just published."""
        if self.workers is not None:
            await self.workers.synced()

    def query_counters(self) -> QueryCounters:
        """What the hot path counted: this process's, or the sum over the workers."""
        return self.responder.counters if self.workers is None else self.workers.counters()

    def transport_events(self) -> Events:
        """What the listeners counted: this process's, or the sum over the workers."""
        return self.listeners.events() if self.workers is None else self.workers.events()

    def persistence_records(self) -> int:
        if self.workers is None:
            return len(self.responder.persistence)
        return self.workers.persistence_records()

    def save_state(self) -> None:
        save_state(self.holder.current.config.control.state_dir, self.monitors.saved())

    async def stop(self) -> None:
        self.ready = False
        for t in self.listeners.transports:
            t.close()
        if self.workers is not None:
            await self.workers.stop()
        await self.control.stop()
        await self.monitors.stop()
        self.save_state()
        if self.probing is not None:
            self.probing.cancel()
        await self.proximity.stop()  # saves the LDNS table
        if self.sync is not None:
            await self.sync.stop()
        for s in self.listeners.servers:
            s.close()
            await s.wait_closed()


async def serve(config_dir: Path) -> int:
    try:
        server = Server.from_directory(config_dir)
    except ConfigError as err:
        for p in err.problems:
            print(p, file=sys.stderr)
        return 1
    await server.start()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGHUP, server.reload)
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_signal_handler(signal.SIGINT, done.set)
    # What start-up built (config, zone, LDNS table) lives as long as the
    # process: keep the cyclic collector from walking it again and again, and
    # let the hot path's short-lived tuples die young without a collection
    # every 700 allocations. Both trim the latency tail under load.
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    log.info("ready: version=%s generation=%d", __version__, server.holder.current.generation)
    await done.wait()
    log.info("stopping: reason=signal")
    await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gslbd", description="gslb authoritative GSLB DNS server")
    parser.add_argument("--config", default="etc", type=Path, help="configuration directory")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    return runtime.run(serve(args.config), args.log_level)


if __name__ == "__main__":
    raise SystemExit(main())
