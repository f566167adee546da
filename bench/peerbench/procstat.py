"""CPU time of a server process tree, from /proc/PID/stat.

utime + stime of a process already include all of its threads; child
processes (a server that forks workers) are found through
/proc/PID/task/*/children and added. Resolution is one clock tick (10 ms at
the usual 100 Hz), small against a 10-second run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _own_seconds(pid: int) -> float:
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / TICKS


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        out.extend(int(c) for c in task.read_text().split())
    return out


def tree(pid: int) -> list[int]:
    """The process and all of its descendants still alive."""
    seen: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        try:
            todo.extend(_children(p))
        except FileNotFoundError:
            continue
    return seen


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and its live descendants, in seconds."""
    total = 0.0
    for p in tree(pid):
        try:
            total += _own_seconds(p)
        except FileNotFoundError:
            continue
    return total


def loadavg() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


@dataclass(frozen=True, slots=True)
class CoreTimes:
    """Seconds one core spent in process context and in interrupts, from /proc/stat."""

    tasks: float  # user + nice + system: attributed to processes
    interrupts: float  # irq + softirq: not attributed to any process

    def __sub__(self, other: CoreTimes) -> CoreTimes:
        return CoreTimes(self.tasks - other.tasks, self.interrupts - other.interrupts)


def core_times(core: int) -> CoreTimes:
    for line in Path("/proc/stat").read_text().splitlines():
        name, *ticks = line.split()
        if name == f"cpu{core}":
            user, nice, system, _idle, _iowait, irq, softirq = (int(t) for t in ticks[:7])
            return CoreTimes((user + nice + system) / TICKS, (irq + softirq) / TICKS)
    raise ValueError(f"no cpu{core} in /proc/stat")


def udp_rcvbuf_errors() -> int:
    """Datagrams the kernel dropped because a UDP socket's buffer was full (all sockets)."""
    lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines()]
    head, values = (ln for ln in lines if ln[0] == "Udp:")
    return int(values[head.index("RcvbufErrors")])
