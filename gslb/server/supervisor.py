"""`[server] workers = N`: N processes answer DNS; the parent runs the control plane.

    [server]
    workers = 2                   # default 1: one process does everything
    worker_report_interval = 1    # seconds between a worker's counts and the parent

Python answers on one core per process, so with `workers` > 1 gslbd starts
that many worker processes (`python -m gslb.server.worker`, see
gslb/server/worker.py). Each binds every listen address itself with
SO_REUSEPORT, and the kernel spreads datagrams and connections over them
by a hash of the 4-tuple. The parent loads the configuration and keeps
everything that is not per query: probes and the LDNS table, health
monitors, reload (SIGHUP, `gslbctl reload`), the control socket, /metrics.
It binds no DNS socket.

State goes down, counts come up, over one socketpair per worker
(gslb/server/channel.py):

- The parent's snapshot holder tells the pool of every snapshot it
  publishes; the pool sends each worker what changed as one numbered
  `Update`: the compiled config on a reload (snapshots hold pytricia
  indices, which do not pickle; configs do, and the worker builds the
  snapshot itself), the `Health` when it changed, and the LDNS view's changed
  entries (`FrozenView.changes_since`), not the table. A new worker gets
  the whole current state in its first Update. Each worker acknowledges each
  Update once it serves it, and `gslbctl reload` and `member disable|enable`
  return only once every live worker has (`synced`), so what the operator
  changed is what every worker answers afterwards.
- Every `worker_report_interval` a worker sends who queried (the
  scheduler's last-seen, query counts and re-probes), the LDNS it wants
  probed (its `on_probe` offers), and its query counters. /metrics and
  `gslbctl status` sum the latest report of every worker, plus the last
  report of workers that have exited, so counters do not go back; what a
  worker counted after its last report is lost when it dies.

A worker that exits is logged and started again, after a back-off that
doubles while it keeps dying within QUICK seconds of starting; after
MAX_QUICK_FAILURES such deaths in a row its slot is given up, and once every
slot is, /readyz says not ready. A worker whose parent dies sees its channel
close and exits. On stop the parent sends each worker SIGTERM by its PID,
waits for it, and kills one that outlives STOP_TIMEOUT.

Per worker, not shared: persistence records, round-robin cursors, the reply
caches, response rate limiting and `tcp_max_connections` (so up to N times
the configured rate and connections overall). A resolver's queries mostly
reach one worker, since the kernel hashes its address and port, but a
resolver that changes source port may be answered by another worker, which
has no persistence record for it and its own rotation. `gslbctl explain`
runs in the parent and sees none of the workers' persistence records.
`workers` and `listen` are read at start-up; changing them takes a restart.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gslb.counters import Labels, QueryCounters
from gslb.errors import GslbError
from gslb.model import LogSettings
from gslb.probes.scheduler import Scheduler
from gslb.proximity import EMPTY, FrozenView
from gslb.server.channel import Ack, ChannelError, Ready, Report, Update, receive, send
from gslb.server.listeners import Events
from gslb.snapshot import Snapshot, SnapshotHolder

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0  # seconds for a worker to build its snapshot and listen
STOP_TIMEOUT = 5.0  # seconds a worker has to exit after SIGTERM
SYNC_TIMEOUT = 5.0  # seconds `synced` waits for the workers' acknowledgements
QUICK = 10.0  # a worker that dies sooner than this after starting is failing
MAX_QUICK_FAILURES = 5
DEFAULT_LOG = LogSettings()
BACKOFF = (0.1, 5.0)  # first and longest wait before starting a worker again


class WorkerError(GslbError):
    """A worker process did not start."""


class PublishingHolder(SnapshotHolder):
    """The parent's holder: also hands every published snapshot to `listener`."""

    __slots__ = ("listener",)

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__(snapshot)
        self.listener: Callable[[Snapshot], None] | None = None

    def publish(self, snapshot: Snapshot) -> None:
        self.current = snapshot
        if self.listener is not None:
            self.listener(snapshot)


@dataclass(eq=False)
class Slot:
    """One worker position; its process comes and goes."""

    index: int
    started: asyncio.Future[None]  # the first process is listening (or failed to)
    proc: asyncio.subprocess.Process | None = None
    writer: asyncio.StreamWriter | None = None
    acked: int = 0  # the last Update it serves
    report: Report | None = None  # its latest
    failures: int = 0  # quick deaths in a row
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class WorkerPool:
    def __init__(
        self,
        holder: SnapshotHolder,
        scheduler: Scheduler,
        count: int,
        *,
        on_down: Callable[[], None] = lambda: None,
        log: LogSettings = DEFAULT_LOG,
    ) -> None:
        if not isinstance(holder, PublishingHolder):
            raise TypeError("worker processes need a PublishingHolder")
        self.holder = holder
        self.scheduler = scheduler
        self.on_down = on_down  # every slot given up
        self.log = log  # the workers log as the parent does
        self.slots: list[Slot] = []
        self.count = count
        self.retired = QueryCounters()  # what exited workers had counted
        self.retired_events: Counter[tuple[str, str]] = Counter()
        self._last = holder.current  # what the workers have been sent
        self._seq = 0
        self._bound: list[tuple[str, str, int]] = []  # what the first worker listens on
        self._stopping = False
        self._acks = asyncio.Condition()
        holder.listener = self._published

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> list[tuple[str, str, int]]:
        """Start every worker and wait until each listens; what they bound."""
        loop = asyncio.get_running_loop()
        self._last = self.holder.current
        self.slots = [Slot(i, loop.create_future()) for i in range(self.count)]
        for slot in self.slots:
            slot.task = asyncio.create_task(self._run(slot))
        try:
            await asyncio.gather(*(slot.started for slot in self.slots))
        except Exception:
            await self.stop()
            raise
        return self._bound

    async def stop(self) -> None:
        self._stopping = True
        for slot in self.slots:
            if slot.proc is not None and slot.proc.returncode is None:
                slot.proc.terminate()
            elif slot.task is not None:
                slot.task.cancel()  # waiting to start one again
        tasks = [s.task for s in self.slots if s.task is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
            for slot in self.slots:
                if slot.proc is not None and slot.proc.returncode is None:
                    log.warning("worker: killed index=%d pid=%d", slot.index, slot.proc.pid)
                    slot.proc.kill()
            if late:
                await asyncio.wait(late, timeout=STOP_TIMEOUT)
            for task in late:
                task.cancel()

    async def _run(self, slot: Slot) -> None:
        """Keep a worker running in `slot` until stop, or until it keeps failing."""
        while not self._stopping:
            began = time.monotonic()
            try:
                reader = await self._spawn(slot)
                if not slot.started.done():
                    slot.started.set_result(None)
                await self._listen(slot, reader)
            except EOFError:
                pass  # the worker exited (or closed its end): reaped below
            except Exception as exc:  # the supervisor must outlive any one worker
                if not self._stopping:
                    log.error("worker: failed index=%d error=%r", slot.index, exc)
            finally:
                code = await self._reap(slot)
            if self._stopping:
                return
            if not slot.started.done():
                slot.started.set_exception(WorkerError(f"worker {slot.index} exited {code}"))
                return
            log.error("worker: exited index=%d code=%s", slot.index, code)
            slot.failures = slot.failures + 1 if time.monotonic() - began < QUICK else 0
            if slot.failures >= MAX_QUICK_FAILURES:
                log.error("worker: given up index=%d failures=%d", slot.index, slot.failures)
                if all(s.task is None or s.task.done() or s is slot for s in self.slots):
                    self.on_down()
                return
            await asyncio.sleep(min(BACKOFF[0] * 2**slot.failures, BACKOFF[1]))

    async def _spawn(self, slot: Slot) -> asyncio.StreamReader:
        """Start a worker process for `slot`; return once it listens."""
        ours, theirs = socket.socketpair()
        try:
            slot.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gslb.server.worker",
                f"--fd={theirs.fileno()}",
                f"--index={slot.index}",
                f"--log-level={self.log.level}",
                f"--log-format={self.log.format}",
                f"--log-timestamps={int(self.log.timestamps)}",
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        reader, slot.writer = await asyncio.open_connection(sock=ours)
        slot.acked = 0
        send(slot.writer, self._everything())
        async with asyncio.timeout(START_TIMEOUT):
            while not isinstance(message := await self._receive(slot, reader), Ready):
                pass
        self._bound = self._bound or message.bound
        return reader

    async def _listen(self, slot: Slot, reader: asyncio.StreamReader) -> None:
        """Take in the worker's messages until its end of the channel closes."""
        while True:
            await self._receive(slot, reader)

    async def _receive(self, slot: Slot, reader: asyncio.StreamReader) -> Ready | Ack | Report:
        try:
            message = await receive(reader)
        except asyncio.IncompleteReadError:
            raise EOFError("channel closed") from None
        if isinstance(message, Report):
            self._take(slot, message)
        elif isinstance(message, Ack):
            async with self._acks:
                slot.acked = message.seq
                self._acks.notify_all()
        elif isinstance(message, Ready):
            log.info("worker: listening index=%d pid=%d", slot.index, message.pid)
        else:
            raise ChannelError(f"a worker sent {type(message).__name__}")
        return message

    async def _reap(self, slot: Slot) -> int | None:
        """Wait for the worker's exit (killing it if it lingers); keep its counts."""
        if slot.writer is not None:
            slot.writer.close()
            slot.writer = None
        proc, slot.proc = slot.proc, None
        code = None
        if proc is not None:
            try:
                code = await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                proc.kill()
                code = await proc.wait()
        self._retire(slot)
        async with self._acks:
            self._acks.notify_all()  # `synced` waits no more for this one
        return code

    # -- state down ------------------------------------------------------------

    def _published(self, snap: Snapshot) -> None:
        """Send the workers what changed from the last snapshot they were sent."""
        last, self._last = self._last, snap
        reload = snap.config is not last.config
        if reload and snap.config.server.workers != self.count:
            log.warning(
                "reload: workers=%d takes a restart; running %d",
                snap.config.server.workers,
                self.count,
            )
        health = snap.health if reload or snap.health is not last.health else None
        changes = None
        if snap.proximity is not last.proximity:
            changes = _changes(last.proximity, snap.proximity) or None
        if not (reload or health or changes):
            return
        self._seq += 1
        update = Update(
            self._seq, snap.generation, snap.config if reload else None, health, changes
        )
        for slot in self.slots:
            if slot.writer is not None:
                send(slot.writer, update)

    def _everything(self) -> Update:
        """The first Update of a new worker: the whole current state."""
        snap = self._last
        return Update(
            self._seq, snap.generation, snap.config, snap.health, _changes(EMPTY, snap.proximity)
        )

    async def synced(self, timeout: float = SYNC_TIMEOUT) -> bool:
        """Wait until every live worker serves the last Update sent; False on timeout."""
        seq = self._seq

        def done() -> bool:
            return all(s.writer is None or s.acked >= seq for s in self.slots)

        try:
            async with asyncio.timeout(timeout), self._acks:
                await self._acks.wait_for(done)
        except TimeoutError:
            log.warning("worker: not synced seq=%d after %.1fs", seq, timeout)
            return False
        return True

    # -- counts up -------------------------------------------------------------

    def _take(self, slot: Slot, report: Report) -> None:
        slot.report = report
        if report.seen:
            self.scheduler.queried(report.seen)
        for key, peer in report.offers:
            self.scheduler.offer_key(key, peer)

    def _retire(self, slot: Slot) -> None:
        """Keep what an exited worker counted: its successor starts from zero."""
        if slot.report is not None:
            _add(self.retired, slot.report)
            self.retired_events.update(slot.report.events)
            slot.report = None

    def counters(self) -> QueryCounters:
        """The query counters of all workers, exited ones included."""
        out = QueryCounters()
        _add(out, self.retired)
        for slot in self.slots:
            if slot.report is not None:
                _add(out, slot.report)
        return out

    def events(self) -> Events:
        """The listeners' counts of all workers, exited ones included."""
        out = Counter(self.retired_events)
        for slot in self.slots:
            if slot.report is not None:
                out.update(slot.report.events)
        return dict(out)

    def persistence_records(self) -> int:
        return sum(s.report.persistence for s in self.slots if s.report is not None)

    def pids(self) -> dict[int, int]:
        """Slot -> PID of each live worker."""
        return {
            s.index: s.proc.pid
            for s in self.slots
            if s.proc is not None and s.proc.returncode is None
        }

    def status(self) -> dict[str, Any]:
        """For `gslbctl status`: the live workers, their PIDs and query counts."""
        live = [s for s in self.slots if s.proc is not None and s.proc.returncode is None]
        return {
            "workers": len(live),
            "worker_pids": [s.proc.pid for s in live if s.proc is not None],
            "worker_queries": [
                sum(s.report.queries.values()) if s.report is not None else 0 for s in live
            ],
        }


def _changes(old: object, new: object) -> dict[int, bytes]:
    """The LDNS view's changes, when both are the table's views (they always are
    in gslbd; another ProximityView cannot be sent)."""
    if isinstance(old, FrozenView) and isinstance(new, FrozenView):
        return new.changes_since(old)
    log.warning("worker: proximity view %s not sent", type(new).__name__)
    return {}


def _add(total: QueryCounters, counts: QueryCounters | Report) -> None:
    """Add `counts` (a worker's report or other totals) into `total`."""
    queries: Iterable[tuple[tuple[Labels, int, str], int]]
    if isinstance(counts, Report):
        queries = counts.queries.items()
        buckets, seconds = counts.duration
    else:
        queries = ((k, cell[0]) for k, cell in counts.queries.items())
        buckets, seconds = counts.duration.counts, counts.duration.sum
    for key, n in queries:
        cell = total.queries.get(key)
        if cell is None:
            cell = total.queries[key] = [0]
        cell[0] += n
    for i, n in enumerate(buckets):
        total.duration.counts[i] += n
    total.duration.sum += seconds
