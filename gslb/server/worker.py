"""One worker process of gslbd (`[server] workers` > 1): it answers DNS, nothing else.

Started by the parent (gslb/server/supervisor.py) as

    python -m gslb.server.worker --fd=N --index=I --log-level=info --log-format=text \
        --log-timestamps=1

with its end of a socketpair as file descriptor N (gslb/server/channel.py).
It waits for its first Update (the whole state), builds its own snapshot
holder and responder from it, binds every listen address with SO_REUSEPORT,
says Ready, then applies each Update as it comes and sends a Report every
`worker_report_interval`. It keeps its own copy of the LDNS view, built from
the changes the parent sends and layered like `LdnsTable.view()` (an
immutable base, a small recent layer folded in once it grows), so applying a
change costs what the change costs.

SIGTERM (the parent's stop) or the channel closing (the parent is gone):
stop listening and exit 0. SIGHUP and SIGINT are the parent's: a signal
sent to the whole process group must not stop or reload a worker on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import socket
import sys
from collections import Counter

from gslb import collector
from gslb.dns.answer import Responder
from gslb.errors import GslbError
from gslb.layers import PAUSE
from gslb.model import IPAddress, LogSettings
from gslb.proximity import Published
from gslb.server import runtime
from gslb.server.channel import Ack, ChannelError, Ready, Report, Update, receive, send
from gslb.server.listeners import Events, bind
from gslb.snapshot import Snapshot, SnapshotHolder

log = logging.getLogger("gslb.server")
GC_GEN0_THRESHOLD = 50_000  # as the single process (gslb/server/app.py)


class Worker:
    """A holder and a responder fed by Updates; what to report."""

    def __init__(self, first: Update) -> None:
        if first.config is None:
            raise ChannelError("the first Update carries no config")
        self.mirror = Published()  # the parent's LDNS view, kept from its changes
        view = self.mirror.publish(first.proximity or {})
        snap = Snapshot.build(first.config, first.generation, first.health, view)
        self.holder = SnapshotHolder(snap)
        self.responder = Responder(self.holder, on_probe=self._offer)
        self.offers: dict[int, IPAddress | str] = {}  # LDNS key -> resolver

    def _offer(self, key: int, peer: IPAddress | str) -> None:
        # The parent's scheduler de-duplicates and bounds its queue; this only
        # keeps a burst of one LDNS's queries from becoming a burst of offers.
        if key not in self.offers and len(self.offers) < self.limit:
            self.offers[key] = peer

    @property
    def limit(self) -> int:
        return self.holder.current.config.probes.queue_size

    def apply(self, update: Update, built: Snapshot | None = None) -> None:
        """Take an Update in; `built`: its config's snapshot, made beforehand
        (off the event loop, as `serve` does)."""
        snap = self.holder.current
        view = self.mirror.publish(update.proximity) if update.proximity else self.mirror.view
        if update.config is not None:
            health = update.health or snap.health
            if built is None:
                built = Snapshot.build(update.config, update.generation)
            snap = built.with_health(health).with_proximity(view)
        else:
            if update.health is not None:
                snap = snap.with_health(update.health)
            if update.proximity:
                snap = snap.with_proximity(view)
        self.holder.publish(snap)

    def report(self, events: Events) -> Report:
        """What to send the parent; `events`: the listeners' counts."""
        r = self.responder
        seen = Counter(r.seen)  # in C, as the scheduler's tick does
        r.seen.clear()
        offers = list(self.offers.items())
        self.offers.clear()
        counters = r.counters
        return Report(
            seen=dict(seen),
            offers=offers,
            queries={k: cell[0] for k, cell in list(counters.queries.items())},
            duration=(list(counters.duration.counts), counters.duration.sum),
            persistence=len(r.persistence),
            events=events,
        )


async def serve(fd: int, index: int) -> int:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=fd))
    first = await receive(reader)
    if not isinstance(first, Update):
        raise ChannelError(f"expected an Update, got {type(first).__name__}")
    worker = Worker(first)
    settings = worker.holder.current.config.server
    listeners = await bind(settings, worker.responder.answer, reuse_port=True)
    send(writer, Ack(first.seq))
    send(writer, Ready(os.getpid(), listeners.bound))
    log.info(
        "worker: started index=%d pid=%d generation=%d",
        index,
        os.getpid(),
        worker.holder.current.generation,
    )
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)

    folding: set[asyncio.Task[None]] = set()

    async def fold() -> None:  # the view's new base, a step at a time (gslb/layers.py)
        try:
            while (view := worker.mirror.fold_step()) is None:
                await asyncio.sleep(PAUSE)
            worker.holder.publish(worker.holder.current.with_proximity(view))
        finally:
            folding.clear()

    async def updates() -> None:
        try:
            while True:
                message = await receive(reader)
                if not isinstance(message, Update):
                    raise ChannelError(f"expected an Update, got {type(message).__name__}")
                built = None
                if message.config is not None:  # a big topology: seconds to index
                    with collector.paused():
                        built = await asyncio.to_thread(
                            Snapshot.build, message.config, message.generation
                        )
                worker.apply(message, built)
                send(writer, Ack(message.seq))
                if worker.mirror.folding and not folding:
                    folding.add(asyncio.create_task(fold()))
        except asyncio.IncompleteReadError:
            log.info("worker: parent gone index=%d", index)
        finally:
            done.set()

    async def reports() -> None:
        try:
            while True:
                await asyncio.sleep(worker.holder.current.config.server.worker_report_interval)
                send(writer, worker.report(listeners.events()))
                await writer.drain()
        finally:
            done.set()  # a worker that cannot report exits; the parent starts another

    tasks = [asyncio.create_task(updates()), asyncio.create_task(reports())]
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    await done.wait()
    listeners.close()
    for task in [*tasks, *folding]:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    await listeners.wait_closed()
    failed = [r for r in results if isinstance(r, Exception)]
    for exc in failed:
        log.error("worker: failed index=%d error=%r", index, exc)
    log.info("worker: stopped index=%d pid=%d", index, os.getpid())
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parser = argparse.ArgumentParser(prog="gslb.server.worker")
    parser.add_argument("--fd", type=int, required=True, help="the channel to the parent")
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--log-format", default="text", choices=("text", "json"))
    parser.add_argument("--log-timestamps", default=1, type=int, choices=(0, 1))
    args = parser.parse_args(argv)
    log = LogSettings(args.log_level, args.log_format, bool(args.log_timestamps))
    try:
        return runtime.run(serve(args.fd, args.index), log)
    except GslbError as exc:  # a listen address it cannot bind: one line, not a traceback
        print(f"gslbd worker {args.index}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
