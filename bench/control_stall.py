"""Answers while the control plane works: a save of a big LDNS table, and
reloads good and bad, under a steady stream of UDP queries to a real gslbd
(`workers = 1`, the default).

Not a test (CI runs a smaller version: tests/integration/test_control_work.py).
Run: `.venv/bin/python bench/control_stall.py` (a million LDNS entries,
about two minutes; `--entries 100000` for a quick run). It writes an LDNS
table file of `--entries` entries, starts gslbd on a copy of etc/ with
`max_entries` that large and `save_interval` short, and prints for each
phase the queries sent, lost, and the reply time (p50, p99, max) as the
client saw it:

- no work: the queries sent before the save (gslbd only answers): what
  the machine allows;
- save: the queries sent while the first periodic save ran (its start and
  end from gslbd's log);
- statuses: `--reloads` x `gslbctl status`, what starting gslbctl costs the
  replies on a machine of few cores (the baseline of the next);
- reloads: `--reloads` good reloads one after the other;
- big topology: a reload of a valid topology.csv of `--topology-records`
  records (the snapshot's index is built in a thread);
- bad reload: a topology.csv of `--bad-mb` MB of bad lines, then one that
  is a FIFO nobody writes to.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.conftest import copy_config, edit_config, start_gslbd  # noqa: E402
from tests.integration.ops.helpers import ctl, socket_of  # noqa: E402
from tests.integration.stream import QueryStream  # noqa: E402
from tests.integration.test_control_work import (  # noqa: E402
    bad_topology,
    big_topology,
    ldns_file,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=2000, help="queries a second")
    parser.add_argument("--reloads", type=int, default=20)
    parser.add_argument("--bad-mb", type=float, default=50)
    parser.add_argument("--topology-records", type=int, default=100_000)
    parser.add_argument("--save-only", action="store_true", help="stop after the save")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = copy_config(work / "etc")
        save_interval = 30 + args.entries / 20_000  # after the load, with time to spare
        probes = f"datacenters = []\nmax_entries = {args.entries}\nsave_interval = {save_interval}"
        edit_config(config, toml=(("datacenters = []", probes),))
        started = time.monotonic()
        ldns_file(config / "var" / "ldns.json", args.entries, time.time())
        size = (config / "var" / "ldns.json").stat().st_size
        print(f"ldns.json: {args.entries} entries, {size / 1e6:.0f} MB"
              f" ({time.monotonic() - started:.0f} s to write)")  # fmt: skip
        server = start_gslbd(config, timeout=600)
        try:
            assert server.logged(f"ldns_table: loaded={args.entries}", timeout=600)
            rss = _rss_mb(server.proc.pid)
            print(f"gslbd: loaded, {rss:.0f} MB resident; waiting for the periodic save")
            saved = f"ldns_table: saved entries={args.entries}"
            stream = QueryStream(server.host, server.port, rate=args.rate).start()
            server.logged(saved, timeout=save_interval + 600)
            time.sleep(1)
            result = stream.stop()
            line = next(x for x in server.log if saved in x)
            took = float(line.split("seconds=")[1].split()[0])
            end = _logged_at(line)
            before = result.between(0, end - took - 1)
            print(f"no work:    {before}   (the stream before the save, nothing else to do)")
            save = result.between(end - took, end)
            print(f"save:       {save}   ({took:.1f} s to save)")
            print(f"  from 1 s after the fork: {result.between(end - took + 1, end)}")
            slowest = sorted((x for x in save.queries if x[1] is not None), key=lambda x: -x[1])
            print("  slowest replies (ms, s after the save began): " + ", ".join(
                f"{latency * 1e3:.0f} at {sent - end + took:.2f}" for sent, latency in slowest[:6]
            ))  # fmt: skip
            print(f"load average: {_load()}")
            if args.save_only:
                return 0
            for command in ("status", "reload"):  # status: what running gslbctl costs
                stream = QueryStream(server.host, server.port, rate=args.rate).start()
                for _ in range(args.reloads):
                    assert ctl(server, command).returncode == 0
                print(f"{command + 's:':11} {stream.stop()}   ({args.reloads} x gslbctl {command})")
                print(f"load average: {_load()}")
            topology = config / "topology.csv"
            good = topology.read_text()
            topology.write_text(big_topology(good, args.topology_records))
            stream = QueryStream(server.host, server.port, rate=args.rate).start()
            began = time.monotonic()
            assert ctl(server, "reload").returncode == 0
            took = time.monotonic() - began
            print(f"big topology: {stream.stop()}   (a valid topology.csv of"
                  f" {args.topology_records} records, reloaded in {took:.1f} s)")  # fmt: skip
            print(f"load average: {_load()}")
            topology.write_text(good)
            topology.write_text(bad_topology(int(args.bad_mb * 1e6 / 33)))
            stream = QueryStream(server.host, server.port, rate=args.rate).start()
            began = time.monotonic()
            bad = subprocess.run(  # longer than ctl()'s 30 s: 50 MB takes its time
                [sys.executable, "-m", "gslb.cli", "reload", "--socket", str(socket_of(server))],
                capture_output=True,
                text=True,
                timeout=900,
            )
            took = time.monotonic() - began
            topology.unlink()
            os.mkfifo(topology)
            fifo = ctl(server, "reload")
            result = stream.stop()
            topology.unlink()
            topology.write_text(good)
            assert bad.returncode == fifo.returncode == 1
            print(f"bad reload: {result}   ({args.bad_mb:g} MB topology.csv rejected in"
                  f" {took:.1f} s, {len(bad.stderr.splitlines())} lines; then a FIFO)")  # fmt: skip
            print(f"gslbd: {_rss_mb(server.proc.pid):.0f} MB resident at the end")
            print(f"load average: {_load()}")
        finally:
            server.stop()
    return 0


def _logged_at(line: str) -> float:
    """The wall-clock time of a log line of gslbd (local time, milliseconds)."""
    stamp, millis = line[:23].split(",")
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000


def _load() -> str:
    """The machine's load average (1, 5, 15 minutes) and its cores: how much
    of the tail is other work's."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def _rss_mb(pid: int) -> float:
    status = subprocess.run(["ps", "-o", "rss=", str(pid)], capture_output=True, text=True)
    return int(status.stdout.strip() or 0) / 1024


if __name__ == "__main__":
    raise SystemExit(main())
