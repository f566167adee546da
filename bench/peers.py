"""Peer benchmark: gslbd against gdnsd, PowerDNS and Knot DNS, in one run.

    .venv/bin/python bench/peers.py                 # what `make bench` runs
    .venv/bin/python bench/peers.py --servers gslbd,knot --runs 1 --duration 5
    .venv/bin/python bench/peers.py --servers gslbd --workers 2 --clients 16
    .venv/bin/python bench/peers.py --workloads cold,warm --runs 2 --duration 5

Each workload (bench/peerbench/workloads.py: `mix`, bench/queries.txt from
one address; `cold` and `warm`, the wide IP with a distinct EDNS Client Subnet
per query) is measured on its own: all servers started afresh, measured, then
stopped. All servers run at once, pinned to core 0, dnsperf pinned to core 1,
all on 127.0.0.1 (`--no-pin`, or gslbd `--workers` N > 1: nothing is pinned,
every process shares every core); one server is loaded at a time, in
interleaved rounds: a warm-up, `--runs` full-load runs (q/s, server CPU time
per answered query), then `--runs` runs at each fixed `--rates` (latency
percentiles). Every run is bounded by dnsperf's -l and a timeout; the whole
benchmark by --max-minutes. Prints a table per workload (see bench/README.md)
and writes the raw figures to bench/results/peers-*.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import functools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import dns.exception
from peerbench import (
    dnsperf,
    ecsload,
    install,
    natsd,
    procstat,
    report,
    servers,
    syncpeer,
    workloads,
)

BENCH = Path(__file__).resolve().parent
QUERIES = BENCH / "queries.txt"
RESULTS = BENCH / "results"
CLIENT_CORE = 1
NX_EXPECTED = 0.20  # share of NXDOMAIN names in queries.txt


class OutOfTime(Exception):
    """The --max-minutes budget is spent."""


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/peers.py", description=__doc__.splitlines()[0])
    p.add_argument(
        "--servers",
        default=",".join(servers.DEFAULT),
        help=f"comma-separated, of {', '.join(servers.SPECS)}",
    )
    p.add_argument(
        "--workloads", default=",".join(workloads.NAMES), help="comma-separated: mix,cold,warm"
    )
    p.add_argument(
        "--subnets", type=int, default=ecsload.SUBNETS, help="client subnets of cold and warm"
    )
    p.add_argument(
        "--ecs-warmup",
        type=float,
        default=120.0,
        help="cold/warm: gslbd's warm-up is one pass over the subnets (every subnet seen"
        " once, so warm's re-probe offers after a restart are over), at most this many"
        " seconds; the peers keep no state and warm up for --warmup",
    )
    p.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    p.add_argument("--rates", default="2000,20000", help="fixed rates for latency, q/s")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    p.add_argument("--max-minutes", type=float, default=45.0, help="stop the whole run after")
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of server and dnsperf (e.g. -10 to push back other load on a shared box)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="N > 1: also run gslbd with N worker processes, as server gslbd-wN; implies"
        " --no-pin (one core would hold them all)",
    )
    p.add_argument(
        "--no-pin",
        action="store_true",
        help="pin nothing: servers, dnsperf and the harness share every core",
    )
    p.add_argument(
        "--clients",
        type=int,
        default=4,
        help="dnsperf client sockets (source ports: SO_REUSEPORT spreads by them)",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        help="a source tree of gslb (e.g. `git archive main | tar -x -C DIR`): also run its"
        " gslbd, as server gslbd-base, in the same rounds (before/after a change)",
    )
    p.add_argument(
        "--sync",
        action="store_true",
        help="also run gslbd with [sync], as server gslbd-sync, in the same rounds: a"
        " nats-server on loopback, and a stand-in second node publishing --sync-rate paths"
        " a second (bench/peerbench/syncpeer.py) the whole time",
    )
    p.add_argument("--sync-rate", type=int, default=1000, help="paths a second from the peer")
    p.add_argument(
        "--sync-unfilled",
        action="store_true",
        help="--sync as before 2026-12-01: pre-fill neither server with the peer's LDNS (gslbd"
        " then holds none of them, gslbd-sync the peer's paths: the comparison includes the"
        " cost of holding 50 000 more LDNS, which is rtt's, not sync's)",
    )
    p.add_argument("--no-install", action="store_true", help="never call apt-get")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    p.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    args = p.parse_args(argv)
    args.names = [s for s in args.servers.split(",") if s]
    unknown = [s for s in args.names if s not in servers.SPECS]
    if unknown:
        p.error(f"unknown server(s) {', '.join(unknown)}; known: {', '.join(servers.SPECS)}")
    args.rate_list = [int(r) for r in args.rates.split(",") if r]
    args.workload_names = [w for w in args.workloads.split(",") if w]
    odd = [w for w in args.workload_names if w not in workloads.NAMES]
    if odd:
        p.error(f"unknown workload(s) {', '.join(odd)}; known: {', '.join(workloads.NAMES)}")
    if args.runs < 1 or args.duration <= 0 or args.workers < 1:
        p.error("--runs, --duration and --workers must be positive")
    args.pin = not args.no_pin and args.workers == 1
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.deadline = time.monotonic() + args.max_minutes * 60
        self.count = 0
        self.workload = workloads.Workload("mix", QUERIES, nxdomain_share=NX_EXPECTED)

    def measure(
        self, server: servers.Running, rate: int | None, duration: float, passes: int | None = None
    ) -> report.Measured:
        if time.monotonic() + duration + 5 > self.deadline:
            raise OutOfTime(f"--max-minutes {self.args.max_minutes:g} spent")
        load = dnsperf.Load(
            server.port,
            self.workload.queries,
            duration,
            rate=rate,
            clients=self.args.clients,
            core=CLIENT_CORE if self.args.pin else None,
            nice=self.args.nice,
            binary=self.workload.binary,
            passes=passes,
        )
        self.count += 1
        log = self.tmp / f"dnsperf-{server.spec.name}-{self.count:03d}.log"
        drops_before = procstat.udp_rcvbuf_errors()
        before = procstat.cpu_seconds(server.pid)
        core_before = procstat.core_times(servers.SERVER_CORE)
        client_before = procstat.core_times(CLIENT_CORE)
        run = dnsperf.run(load, log)
        client = procstat.core_times(CLIENT_CORE) - client_before
        core = procstat.core_times(servers.SERVER_CORE) - core_before
        after = procstat.cpu_seconds(server.pid)
        drops = procstat.udp_rcvbuf_errors() - drops_before
        if server.proc.poll() is not None:
            raise servers.ServerError(f"{server.spec.name} died during the run")
        if not self.args.keep:
            log.unlink()
        server_cpu = after - before
        # Interrupt time is left out of "other": on loopback it is mostly the
        # packets of this very run (softirq delivery), which no process is
        # charged for, so it would make fast servers look disturbed.
        return report.Measured(
            run,
            server_cpu,
            core_other=max(0.0, core.tasks - server_cpu),
            rcvbuf_drops=drops,
            client_core_other=max(0.0, client.tasks - run.client_cpu),
            core_interrupts=core.interrupts,
        )

    def run(self, specs: list[servers.Spec]) -> list[report.ServerResult]:
        """Start every server, then measure them in interleaved rounds, then stop them.

        Round by round (run 1 of every server, then run 2, ...) rather than
        server by server, so that other work on a shared machine falls on all
        servers alike instead of on whichever ran at the wrong minute. An idle
        server uses no CPU, so the others waiting on core 0 cost nothing.
        """
        results = {
            s.name: report.ServerResult(s.name, s.record, notes=list(s.notes)) for s in specs
        }
        running: dict[str, servers.Running] = {}
        root = self.tmp / self.workload.name
        root.mkdir(exist_ok=True)
        try:
            for spec in specs:
                result = results[spec.name]
                try:
                    server = servers.start(spec, root, nice=self.args.nice, pin=self.args.pin)
                    running[spec.name] = server
                    result.argv = server.argv
                    result.check = servers.check(server)
                except (servers.ServerError, OSError, dns.exception.DNSException) as err:
                    self._fail(result, running.pop(spec.name, None), err)
                    continue
                _say(f"{spec.name}: pid={server.pid} port={server.port} answers {result.check}")
            if self.workload.binary:  # one pass: every subnet seen once (warm: re-probe offers)
                self._round(running, results, None, self.args.ecs_warmup, None, passes=1)
            else:
                self._round(running, results, None, self.args.warmup, None)
            for i in range(self.args.runs):
                self._round(running, results, None, self.args.duration, f"full load run {i + 1}")
            for rate in self.args.rate_list:
                for i in range(self.args.runs):
                    self._round(
                        running, results, rate, self.args.duration, f"{rate} q/s run {i + 1}"
                    )
        finally:
            for name, server in running.items():
                _say(f"{name}: stopped, exit {server.stop()}")
        expected = self.workload.nxdomain_share
        for result in results.values():
            if any(abs(m.nxdomain_share - expected) > 0.02 for m in result.all_runs()):
                result.notes.append(f"NXDOMAIN share off the expected {expected:.0%} in some run")
        return [results[s.name] for s in specs]

    def _round(
        self,
        running: dict[str, servers.Running],
        results: dict[str, report.ServerResult],
        rate: int | None,
        duration: float,
        label: str | None,  # None: warm-up, not kept
        passes: int | None = None,
    ) -> None:
        for name, server in list(running.items()):
            result = results[name]
            # Only gslbd keeps state a pass over the subnets warms.
            stateless = passes is not None and not server.spec.name.startswith("gslbd")
            try:
                m = self.measure(server, rate, self.args.warmup if stateless else duration, passes)
            except (servers.ServerError, dnsperf.DnsperfError, OutOfTime, OSError) as err:
                self._fail(result, running.pop(name), err)
                continue
            except subprocess.TimeoutExpired as err:
                self._fail(result, running.pop(name), err)
                continue
            if label is None:
                continue
            if rate is None:
                result.full.append(m)
            else:
                result.rates.setdefault(rate, []).append(m)
            _say(
                f"{name}: {label}: {m.run.qps:,.0f} q/s, {m.cpu_per_query_us:.1f} µs CPU/query, "
                f"lost {m.run.lost} ({m.rcvbuf_drops} at a full socket buffer), other load "
                f"on server/client core {m.core_other / m.run.run_time:.0%}/"
                f"{m.client_core_other / m.run.run_time:.0%}"
            )

    def _fail(
        self, result: report.ServerResult, server: servers.Running | None, err: Exception
    ) -> None:
        result.error = f"{type(err).__name__}: {err}"
        _say(f"{result.name}: {result.error}")
        if server is not None:
            _say(f"{result.name}: stopped, exit {server.stop()}")
            if self.args.keep:
                _say(f"{result.name}: log in {server.log}")


class SyncGroup:
    """--sync: the NATS server and the stand-in peer, for the whole benchmark."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.nats = natsd.Nats(tmp / "nats", CLIENT_CORE if args.pin else None)
        self.before = self.nats.varz()
        self.started = time.monotonic()
        argv = [sys.executable, str(BENCH / "peerbench" / "syncpeer.py"), self.nats.url]
        argv += ["--rate", str(args.sync_rate), "--seconds", str(args.max_minutes * 60)]
        if args.pin:
            argv = ["taskset", "-c", str(CLIENT_CORE), *argv]  # off the server's core
        self.peer = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)

    def stop(self) -> dict[str, float]:
        """The bus's traffic meanwhile, per second."""
        seconds = time.monotonic() - self.started
        after = self.nats.varz()
        self.peer.terminate()
        self.peer.wait(timeout=10)
        self.nats.stop()
        keys = ("in_msgs", "in_bytes", "out_msgs", "out_bytes")
        return {f"{k}_per_second": round((after[k] - self.before[k]) / seconds) for k in keys}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _package_version(package: str) -> str:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", package],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.stdout.strip() or "?"


def _specs(
    args: argparse.Namespace, subnets: Sequence[int], nats_url: str = ""
) -> list[servers.Spec]:
    """The servers to run; gslbd's LDNS table pre-filled with `subnets` too, and
    with --sync, every gslbd's with the stand-in peer's LDNS (their CNC paths):
    a standalone node facing the same LDNS holds its own data center's paths
    to them, the sync node the peer's TEL paths besides."""
    specs = [servers.SPECS[n] for n in args.names]
    gslbd = servers.SPECS["gslbd"]
    own = syncpeer.keys() if args.sync and not args.sync_unfilled else ()
    if subnets or own:
        prepare = functools.partial(servers.gslbd_config, subnets=subnets, own=own)
        specs = [
            dataclasses.replace(s, prepare=prepare) if s.prepare is servers.gslbd_config else s
            for s in specs
        ]
    if args.baseline is not None:
        specs.append(
            dataclasses.replace(
                gslbd,
                name="gslbd-base",
                prepare=functools.partial(servers.gslbd_config, subnets=subnets, own=own),
                record=f"gslbd from {args.baseline}",
                env=(("PYTHONPATH", str(args.baseline.resolve())),),
            )
        )
    if nats_url:
        specs.append(
            dataclasses.replace(
                gslbd,
                name="gslbd-sync",
                prepare=functools.partial(
                    servers.gslbd_sync_config, url=nats_url, subnets=subnets, own=own
                ),
                record="gslbd with [sync]: NATS on loopback, a peer publishing paths",
            )
        )
    if args.workers > 1:
        # Beside the single process, measured in the same interleaved rounds.
        specs.append(
            dataclasses.replace(
                gslbd,
                name=f"gslbd-w{args.workers}",
                prepare=functools.partial(
                    servers.gslbd_config, workers=args.workers, subnets=subnets, own=own
                ),
                record=f"gslbd with {args.workers} worker processes",
            )
        )
    return specs


def _workloads(args: argparse.Namespace, tmp: Path) -> Iterator[workloads.Workload]:
    """The chosen workloads, in order; the ECS stream is written once, when first needed."""
    stream = tmp / "ecs-subnets.bin"
    nets: list[int] = []
    for name in args.workload_names:
        if name == "mix":
            yield workloads.Workload(name, QUERIES, nxdomain_share=NX_EXPECTED)
            continue
        if not nets:
            nets = ecsload.subnets(args.subnets)
            ecsload.write_stream(stream, nets)
        yield workloads.Workload(
            name, stream, binary=True, warm_subnets=nets if name == "warm" else ()
        )


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if (os.cpu_count() or 1) >= 2 and args.pin:
        # The harness itself stays off the server's core.
        os.sched_setaffinity(0, {CLIENT_CORE})
    specs = _specs(args, ())
    needed = [install.DNSPERF, install.TASKSET] + [s.package for s in specs if s.package]
    if args.no_install:
        absent = install.missing(needed)
        if absent:
            _say("missing: " + ", ".join(p.binary for p in absent))
            return 2
        installed: list[str] = []
    else:
        installed = install.ensure(needed)
    started = datetime.datetime.now(datetime.UTC)
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "server_core": servers.SERVER_CORE if args.pin else None,
        "client_core": CLIENT_CORE if args.pin else None,
        "gslbd_workers": args.workers,
        "clients": args.clients,
        "runs": args.runs,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "nice": args.nice,
        "rates": args.rate_list,
        "queries": str(QUERIES.relative_to(BENCH.parent)),
        "installed_now": installed,
        "loadavg_before": procstat.loadavg(),
        "versions": {
            "python": sys.version.split()[0],
            **{p: _package_version(p) for p in ("dnsperf", "gdnsd", "pdns-server", "knot")},
        },
    }
    meta["workloads"] = args.workload_names
    if args.sync:  # which comparison (bench/README.md, "Sync on against sync off")
        meta["sync_prefill"] = 0 if args.sync_unfilled else len(syncpeer.keys())
    meta["subnets"] = args.subnets
    tmp = Path(tempfile.mkdtemp(prefix="gslb-bench-"))
    bench = Bench(args, tmp)
    done: dict[str, list[report.ServerResult]] = {}
    group = SyncGroup(args, tmp) if args.sync else None
    try:
        for workload in _workloads(args, tmp):
            _say(f"workload {workload.name}: {workload.queries.name}")
            bench.workload = workload
            url = group.nats.url if group else ""
            done[workload.name] = bench.run(_specs(args, workload.warm_subnets, url))
    finally:
        if group is not None:
            meta["sync"] = group.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            _say(f"configs and logs kept in {tmp}")
    meta["loadavg_after"] = procstat.loadavg()
    meta["elapsed_s"] = round((datetime.datetime.now(datetime.UTC) - started).total_seconds())
    out = args.results / f"peers-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    report.write_json(out, meta, done)
    for name, results in done.items():
        print(f"\n{name}:")
        print(report.table(results, args.rate_list))
    print()
    for r in next(iter(done.values()), []):
        print(f"  {r.name}: {r.record}" + "".join(f"; {n}" for n in r.notes))
    print(
        f"\n  ÷ = gslbd ÷ peer. Medians of {args.runs} × {args.duration:g} s runs; "
        f"latency pooled over the runs at each rate. Load average "
        f"{meta['loadavg_before']} before, {meta['loadavg_after']} after.\n  Raw results: {out}"
    )
    return 1 if any(r.error for results in done.values() for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
