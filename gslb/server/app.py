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

import asyncio
import dataclasses
import gc
import logging
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gslb import __version__, collector, command, compiled
from gslb.anycast import handoff
from gslb.config import load
from gslb.config.isolated import load_isolated
from gslb.control.plane import ControlPlane
from gslb.counters import QueryCounters
from gslb.dns.answer import Responder
from gslb.errors import ConfigError, GslbError
from gslb.model import Config, LogSettings
from gslb.monitors.runner import MonitorRunner
from gslb.probes.scheduler import Scheduler
from gslb.proximity import FrozenView, LdnsTable
from gslb.server import batchio, runtime
from gslb.server.listeners import Events, Listeners, bind
from gslb.server.lock import InstanceLock
from gslb.server.notify import Notifier
from gslb.server.sample import write_sample
from gslb.server.supervisor import PublishingHolder, WorkerPool
from gslb.snapshot import Snapshot, SnapshotHolder
from gslb.statefile import load_state, save_state

if TYPE_CHECKING:
    from gslb.sync.group import SyncGroup

log = logging.getLogger("gslb.server")
STOP_STEP = 2.0  # seconds a step of the stop that waits on others may take
SYNC_STOP = 5.0  # the sync group's: its last paths stored (2 s), the bus closed
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
    probe_scheduler: Scheduler = field(init=False)
    probing: asyncio.Task[None] | None = field(default=None, init=False)
    # Health monitors, the control socket and HTTP listener, and what
    # `gslbctl status` and /metrics report about the process.
    monitors: MonitorRunner = field(init=False)
    control: ControlPlane = field(init=False)
    started_at: float = field(default_factory=time.time, init=False)
    pid: int = field(default_factory=os.getpid, init=False)
    reloads: Counter[str] = field(default_factory=Counter, init=False)  # ok | failed
    last_reload_error: ConfigError | None = field(default=None, init=False)
    _reloading: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    ready: bool = field(default=False, init=False)  # config loaded, listeners bound, not stopping
    workers: WorkerPool | None = field(default=None, init=False)  # `[server] workers` > 1
    sync: SyncGroup | None = field(default=None, init=False)  # `[sync]`: the group's bus
    log: LogSettings = field(default_factory=LogSettings)  # as configured and overridden
    lock: InstanceLock | None = None  # held from before anything is read until the exit

    def __post_init__(self) -> None:
        config = self.holder.current.config
        table = LdnsTable(max_entries=config.probes.max_entries, ldns_ttl=config.probes.ldns_ttl)
        self.probe_scheduler = Scheduler(
            table, config, seen=self.responder.seen, publish=self._publish_proximity
        )
        self.responder.on_probe = self.probe_scheduler.offer_key
        loaded = self.probe_scheduler.load()
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
            self.sync = SyncGroup(config.sync, self.probe_scheduler, self._publish_proximity, node)
            self.monitors.combine = self.sync.combine_health
        self.control = ControlPlane(self)
        if config.server.workers > 1:
            self.workers = WorkerPool(
                self.holder,
                self.probe_scheduler,
                config.server.workers,
                on_down=self._down,
                log=self.log,
            )

    def _down(self) -> None:
        self.ready = False

    def _publish_proximity(self, view: FrozenView) -> None:
        self.holder.publish(self.holder.current.with_proximity(view))

    @classmethod
    def from_directory(cls, config_dir: Path, log_options: dict[str, Any] | None = None) -> Server:
        """Load `config_dir` and log as its `[log]` says (`log_options` override it)."""
        config = load(config_dir)
        settings = runtime.overridden(config.log, log_options or {})
        runtime.configure_logging(settings)
        lock = InstanceLock(config.control.state_dir)
        lock.acquire()  # before anything a running gslbd owns is read or touched
        for w in config.warnings:
            log.warning("config: %s", w)
        holder_type = SnapshotHolder if config.server.workers == 1 else PublishingHolder
        holder = holder_type(Snapshot.build(config))
        return cls(config_dir, holder, Responder(holder), log=settings, lock=lock)

    async def start(self) -> None:
        settings = self.holder.current.config.server
        if self.workers is None:
            self.listeners = await bind(settings, self.responder.answer, reuse_port=False)
            self.bound += self.listeners.bound
        else:
            # Each worker binds for itself, with SO_REUSEPORT. A trial bind
            # without it says in one line what would stop them all (a port
            # taken, a missing capability), and fails while any other
            # process holds an address, even another gslbd's workers (which
            # the kernel would let ours join, under the same user).
            trial = await bind(settings, self.responder.answer, reuse_port=False)
            trial.close()
            await trial.wait_closed()
            self.bound += await self.workers.start()
        for proto, host, port in self.bound:
            log.info("listening: proto=%s address=%s port=%d", proto, host, port)
        log.info("udp_io: %s", batchio.describe())
        log.info("query_path: %s", compiled.describe())
        self.probing = asyncio.create_task(self.probe_scheduler.run())
        if self.sync is not None:
            self.sync.start()
        self.monitors.start()
        await self.control.start(self.holder.current.config.control)
        self.ready = True

    async def reload(self) -> bool:
        """Validate and swap in the configuration; keep the old one on error.

        The files are read and validated in a child process
        (gslb/config/isolated.py), so answers go on meanwhile whatever the
        files hold; reloads run one at a time."""
        async with self._reloading:
            try:
                config = await load_isolated(self.config_dir)
            except ConfigError as err:
                for p in err.problems:
                    log.error("reload: rejected %s", p)
                if err.more:
                    log.error("reload: rejected and %d more problems", err.more)
                self.reloads["failed"] += 1
                self.last_reload_error = err
                return False
            with collector.paused():
                await self._swap(config)
            return True

    async def _swap(self, config: Config) -> None:
        # The snapshot's indices are built in a thread, which hands the event
        # loop the GIL every millisecond (gslb/collector.py), so a topology of a
        # hundred thousand records (3 s to index) delays replies by
        # milliseconds, not seconds; health and the LDNS view are joined
        # after, on the loop, as they are then. The table's data-center ids
        # (kept for the life of the process) are given first: the snapshot
        # reads the paths by them.
        ids = self.probe_scheduler.table.configure([d.name for d in config.datacenters])
        config = dataclasses.replace(config, datacenter_ids=ids)
        built = await asyncio.to_thread(Snapshot.build, config)
        old = self.holder.current
        self.probe_scheduler.configure(config)
        if config.sync != (None if self.sync is None else self.sync.settings):
            log.warning("reload: [sync] changed; it takes a restart to apply")
        view = self.probe_scheduler.table.view()
        health = self.monitors.configure(config)
        generation = old.generation + 1
        snap = dataclasses.replace(built, generation=generation)
        self.holder.publish(snap.with_health(health).with_proximity(view))
        self.reloads["ok"] += 1
        self.last_reload_error = None
        log.info("reload: ok generation=%d", generation)

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

    def worker_status(self) -> dict[str, Any]:
        """One process answers, or what each worker process is doing."""
        return {"workers": 1} if self.workers is None else self.workers.status()

    def query_counters(self) -> QueryCounters:
        """What the hot path counted: this process's, or the sum over the workers."""
        return self.responder.counters if self.workers is None else self.workers.counters()

    def transport_events(self) -> Events:
        """What the listeners counted: this process's, or the sum over the workers."""
        return self.listeners.events() if self.workers is None else self.workers.events()

    def worker_pids(self) -> dict[int, int]:
        """Slot -> PID of each live worker process (none with `workers` = 1)."""
        return {} if self.workers is None else self.workers.pids()

    def persistence_records(self) -> int:
        if self.workers is None:
            return len(self.responder.persistence)
        return self.workers.persistence_records()

    def save_state(self) -> None:
        save_state(self.holder.current.config.control.state_dir, self.monitors.saved())

    async def stop(self, save: bool = True) -> None:
        """Stop serving; save the health and admin state and the LDNS table
        unless `save` is false (a start that failed has nothing new to save)."""
        self.ready = False
        for t in self.listeners.transports:
            t.close()
        if self.workers is not None:
            await self.workers.stop()
        await bounded("control", self.control.stop())
        await bounded("monitors", self.monitors.stop())
        if save:
            self.save_state()
        if self.probing is not None:
            self.probing.cancel()
        await self.probe_scheduler.stop(save)  # saves the LDNS table
        if self.sync is not None:
            await bounded("sync", self.sync.stop(), SYNC_STOP)
        for s in self.listeners.servers:
            s.close()
            await bounded("listeners", s.wait_closed())
        if self.lock is not None:
            self.lock.release()


async def bounded(step: str, done: Awaitable[None], limit: float = STOP_STEP) -> None:
    """A step of the stop that waits on others (clients, the bus), given
    `limit` seconds: gslbd stops however they behave, and says which one
    it left."""
    try:
        await asyncio.wait_for(done, limit)
    except TimeoutError:
        log.warning("stopping: step=%s not done within %g s, left", step, limit)


async def serve(config_dir: Path, log_options: dict[str, Any] | None = None) -> int:
    """Run gslbd until SIGTERM/SIGINT; 0 on a clean stop, 1 when it cannot start."""
    try:
        server = Server.from_directory(config_dir, log_options)
    except ConfigError as err:
        print(err.report(), file=sys.stderr)
        return 1
    except GslbError as exc:  # another gslbd holds the lock
        print(f"gslbd: {exc}", file=sys.stderr)
        return 1
    anycast = server.holder.current.config.anycast
    if anycast is not None:  # a marker a killed gslbd left would hold the gate back
        handoff.unmark_stopping(anycast.stopping_file, server.pid)
    try:
        await server.start()
    except (GslbError, OSError) as exc:  # a listener, the control socket or HTTP
        print(f"gslbd: {exc}", file=sys.stderr)
        await server.stop(save=False)
        return 1
    notifier = Notifier()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    reloads: set[asyncio.Task[bool]] = set()

    def reload() -> None:
        task = asyncio.create_task(server.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload)
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_signal_handler(signal.SIGINT, done.set)
    # What start-up built (config, zone, LDNS table) lives as long as the
    # process: keep the cyclic collector from walking it again and again, and
    # let the hot path's short-lived tuples die young without a collection
    # every 700 allocations. Both trim the latency tail under load.
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    log.info("ready: version=%s generation=%d", __version__, server.holder.current.generation)
    listening = ", ".join(f"{proto} {host}:{port}" for proto, host, port in server.bound)
    notifier.ready(f"serving generation {server.holder.current.generation} on {listening}")
    await done.wait()
    log.info("stopping: reason=signal")
    notifier.stopping()
    server.ready = False  # /readyz says 503 from here, through the drain
    anycast = server.holder.current.config.anycast
    await handoff.drain(anycast, server.pid, done)  # [anycast] shutdown_drain
    await server.stop()
    if anycast is not None:
        handoff.unmark_stopping(anycast.stopping_file, server.pid)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = command.daemon_parser(
        "gslbd",
        "gslb authoritative GSLB DNS server",
        "0 stopped by SIGTERM/SIGINT; 1 could not start (the reason on stderr: every config "
        "problem, or one line)",
    )
    parser.add_argument(
        "--write-sample-config",
        metavar="DIR",
        type=Path,
        help="write the sample configuration (etc/ of the source) into DIR and exit",
    )
    args = parser.parse_args(argv)
    if args.write_sample_config is not None:
        return write_sample(args.write_sample_config)
    options = command.log_options(args)
    return runtime.run(serve(args.config, options), runtime.overridden(LogSettings(), options))


if __name__ == "__main__":
    raise SystemExit(main())
