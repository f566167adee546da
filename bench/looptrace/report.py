"""Read a GSLB_LOOPTRACE file (bench/looptrace/sitecustomize.py): loop
callbacks over a threshold, per second, by cause, within a time window.

    .venv/bin/python bench/looptrace/report.py TRACE [--window T0:T1 ...] [--over 0.3]

T0:T1: Unix times, the window of a fixed-rate run (peers.py prints each
run's end; it lasted --duration); of those, only the seconds in which
--min-datagrams to --max-datagrams were answered.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict


def _cause(name: str, gc_s: float, gen: int, spent: float, cpu: float, datagrams: int) -> str:
    if cpu < spent / 2:
        return "preempted (another process had the core)"
    if gen >= 0 and gc_s >= spent / 2:
        return f"gc gen{gen}"
    if datagrams:
        return f"{name}: {min(datagrams // 16 * 16, 64)}+ datagrams"
    return re.sub(r"0x[0-9a-f]+", "", name)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("trace")
    p.add_argument("--window", action="append", default=[], help="T0:T1, Unix seconds")
    p.add_argument("--over", type=float, default=0.3, help="ms")
    p.add_argument("--min-datagrams", type=int, default=15000)
    p.add_argument("--max-datagrams", type=int, default=25000)
    args = p.parse_args()
    with open(args.trace) as f:
        data = json.load(f)
    windows = [tuple(map(float, w.split(":"))) for w in args.window] or [(0, float("inf"))]
    seconds = {int(k): v for k, v in data["seconds"].items()}
    window = sorted(
        s
        for s, (_, _, n, _) in seconds.items()
        if any(t0 <= s < t1 for t0, t1 in windows) and args.min_datagrams <= n <= args.max_datagrams
    )
    if not window:
        print("no second in the window")
        return
    inside = set(window)
    over = args.over / 1000
    causes: Counter[str] = Counter()
    time_in: defaultdict[str, float] = defaultdict(float)
    worst: defaultdict[str, float] = defaultdict(float)
    for at, spent, name, gc_s, gen, cpu, datagrams in data["long"]:
        if int(at) in inside and spent >= over:
            cause = _cause(name, gc_s, gen, spent, cpu, datagrams)
            causes[cause] += 1
            time_in[cause] += spent
            worst[cause] = max(worst[cause], spent)
    n = len(window)
    datagrams = sum(seconds[s][2] for s in window)
    busy = sum(seconds[s][1] for s in window)
    preempted = sum(seconds[s + 1][3] - seconds[s][3] for s in window if s + 1 in seconds)
    print(
        f"{n} s ({window[0]}..{window[-1]}), {datagrams / n:,.0f} datagrams/s, "
        f"loop busy {busy / n:.1%}, preempted {preempted / n:.0f}/s, callbacks >= {args.over} ms: "
        f"{sum(causes.values()) / n:.1f}/s"
    )
    for cause, count in causes.most_common():
        print(
            f"  {count / n:6.2f}/s  mean {time_in[cause] / count * 1000:6.2f} ms  "
            f"max {worst[cause] * 1000:6.2f} ms  {cause}"
        )
    gcs: Counter[int] = Counter()
    gc_time: defaultdict[int, float] = defaultdict(float)
    for at, gen, spent, _ in data["gc"]:
        if int(at) in inside:
            gcs[gen] += 1
            gc_time[gen] += spent
    for gen in sorted(gcs):
        print(f"  gc gen{gen}: {gcs[gen] / n:.1f}/s, mean {gc_time[gen] / gcs[gen] * 1000:.3f} ms")


if __name__ == "__main__":
    main()
