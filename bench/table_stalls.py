"""How long the LDNS table's control-plane work holds the event loop, per call,
at a large table: what bench/control_stall.py sees from outside as reply
times, taken apart.

Run: `.venv/bin/python bench/table_stalls.py [--entries 1000000]`. In one
process, no server: fills a table of `--entries` LDNS with two paths each,
then times, each the longest single call on the event loop:

- reload: `LdnsTable.configure` with the data centers reordered, one added,
  then one removed (before: `remap`, which re-indexed every entry);
- publish: `view()` after a batch of `--batch` changed entries, until
  `--changes` entries changed (the recent layer's copy), and each step of
  the new base that follows (`fold_step`), and the same folds done at
  once (before: the whole base copied in one call);
- fork: `os.fork()` of the process holding the table (what a save costs the
  parent before the child takes over);
- a worker's first view: `changes_since(EMPTY)`, the whole table for a
  worker that starts (`workers` > 1);
- rescale: a reload that changes `[probes] interval` (the scheduler's
  `configure`; before: every entry's next probe time rescaled at once);
- expire: every entry gone past `ldns_ttl` (a lowered ldns_ttl, an old
  file loaded), each `expire` call as the scheduler's tick makes it, once a
  second (before: one call for all);
- machine: the same number of runs of half a millisecond of pure Python,
  what a loaded machine does to any work that short.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gslb.config import load
from gslb.probes.scheduler import Scheduler
from gslb.proximity import EMPTY, LdnsTable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2_000, help="changes between publishes")
    parser.add_argument("--changes", type=int, default=200_000)
    args = parser.parse_args()
    table = LdnsTable(max_entries=args.entries, ldns_ttl=10**7)
    table.configure(("CNC", "TEL"))
    now = time.time()
    first = int(IPv4Address("10.0.0.0"))
    for n in range(args.entries):
        address = IPv4Address(first + n)
        table.add(address, address, now)
        table.record(address, 0, rtt_us=1000 + n % 5000, protocol="udp", now=now)
        table.record(address, 1, rtt_us=2000 + n % 3000, protocol="udp", now=now)
    table.view()
    while table.fold_step() is None:
        pass
    gc.collect()
    gc.freeze()  # as gslbd does after start-up
    rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    print(f"table: {args.entries} entries, process {rss / 1e6:.0f} MB resident")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    for names in (("HK", "TEL", "CNC"), ("HK", "CNC")):
        started = time.perf_counter()
        table.configure(names)
        view = table.view()
        took = time.perf_counter() - started
        print(f"reload to {names}: {took * 1e3:.3f} ms (configure + view)")

    keys = table.keys()
    publish, step = [], []
    folds = 0
    for start in range(0, args.changes, args.batch):
        for key in keys[start : start + args.batch]:
            table.record(IPv4Address(key), 0, rtt_us=777, now=now + 1)
        started = time.perf_counter()
        view = table.view()
        publish.append(time.perf_counter() - started)
        while table.folding:  # gslbd: a step every layers.PAUSE, answering between
            started = time.perf_counter()
            done = table.fold_step()
            step.append(time.perf_counter() - started)
            folds += done is not None
    print(f"publish after {args.batch} changes: {_spread(publish)}")
    if step:
        print(f"new base: {folds} folds in {len(step)} steps: {_spread(step)}")
    base = dict(view._base)
    started = time.perf_counter()
    dict(base)
    took = time.perf_counter() - started
    print(f"the same fold at once (a copy of the base): {took * 1e3:.1f} ms")
    noise = []
    for _ in range(len(step) or 100):  # what the machine does to half a millisecond of work
        started = time.perf_counter()
        sum(range(30_000))
        noise.append(time.perf_counter() - started)
    print(f"machine: a loop of pure Python, {len(noise)} times: {_spread(noise)}")

    forks = []
    for _ in range(3):
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        forks.append(time.perf_counter() - started)
        os.waitpid(pid, 0)
    print(f"fork: {', '.join(f'{f * 1e3:.1f}' for f in forks)} ms")

    started = time.perf_counter()
    view.changes_since(EMPTY)
    print(f"a worker's first view: {(time.perf_counter() - started) * 1e3:.1f} ms")

    config = load(Path(__file__).resolve().parents[1] / "etc")
    probes = dataclasses.replace(config.probes, max_entries=args.entries, ldns_ttl=10**7)
    scheduler = Scheduler(table, dataclasses.replace(config, probes=probes), probers={})
    longer = dataclasses.replace(probes, interval=probes.interval * 2)
    started = time.perf_counter()
    scheduler.configure(dataclasses.replace(config, probes=longer))
    took = time.perf_counter() - started
    print(f"rescale: a reload that doubles the interval, {took * 1e3:.3f} ms")

    table.ldns_ttl = 1.0
    calls = []
    while True:
        started = time.perf_counter()
        gone = table.expire(now + 10)
        calls.append(time.perf_counter() - started)
        if not gone:
            break
    print(f"expire: {args.entries} entries in {len(calls) - 1} calls: {_spread(calls[:-1])}")
    return 0


def _spread(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p50, p99 = (ordered[min(len(ordered) - 1, int(len(ordered) * q))] for q in (0.5, 0.99))
    over = sum(1 for s in ordered if s > 0.005)
    return (
        f"median {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.1f} ms, max {ordered[-1] * 1e3:.1f} ms,"
        f" {over} of {len(ordered)} over 5 ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
