"""`[server] workers = 2`: two worker processes share the port; the parent runs the rest.

Each DNS query here comes from a new socket, so from a new source port, and
the kernel's SO_REUSEPORT hash spreads them over both workers (all on one
worker would take 2^-N luck). Answers are exact: the default etc/ decides
`www` by topology (rtt has no path with probing off): TEL 100 beats CNC 50
for 127.0.0.0/8.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import dns.message
import dns.rdatatype

from tests.integration.conftest import Gslbd, tcp_connect
from tests.integration.ops.helpers import ctl, ctl_json, metric, wait_for
from tests.integration.test_dns_tcp import wait_closed

TEL, CNC = "127.0.20.1", "127.0.10.1"
WORKERS = (
    'nsid = "gslb-default"',
    'nsid = "gslb-default"\nworkers = 2\nworker_report_interval = 0.1',
)
NO_PERSISTENCE = ("[wideip.persistence]\nttl = 300\ncidr_v4 = 24\ncidr_v6 = 56\n", "")
CNC_FIRST = "server,ldns,score\ndc:CNC,127.0.0.0/8,100\ndc:TEL,127.0.0.0/8,50\n"
STARTED = re.compile(r"worker: started index=(\d+) pid=(\d+)")


def children(pid: int) -> set[int]:
    return {
        int(c)
        for task in Path(f"/proc/{pid}/task").glob("*/children")
        for c in task.read_text().split()
    }


def gone(pid: int) -> bool:
    """Exited (a zombie counts: whoever inherited it may not reap it at once)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def started(server: Gslbd) -> list[tuple[int, int]]:
    """(index, pid) of every worker start in the log, in order."""
    return [(int(m[1]), int(m[2])) for line in server.log if (m := STARTED.search(line))]


def addresses(server: Gslbd, name: str, transport: str) -> str:
    """The A records of one answer, from a new socket (a new source port)."""
    ask = server.udp if transport == "udp" else server.tcp
    reply = ask(dns.message.make_query(name, "A"))
    return ",".join(
        sorted(r.address for rrset in reply.answer for r in rrset if r.rdtype == dns.rdatatype.A)
    )


def answers(server: Gslbd, n: int, name: str = "www.gslb.example.") -> set[str]:
    """Every distinct answer to `n` queries over UDP and `n` over TCP."""
    return {addresses(server, name, t) for t in ("udp", "tcp") for _ in range(n)}


def queries_total(server: Gslbd) -> float:
    return metric(server, "gslb_queries_total")


def test_the_workers_tcp_events_are_counted_together(make_gslbd: Callable[..., Gslbd]):
    server = make_gslbd(toml=(WORKERS, ("tcp_idle_timeout = 10", "tcp_idle_timeout = 1")))
    idle = [tcp_connect(server) for _ in range(4)]  # whichever worker each one reaches
    try:
        for sock in idle:
            assert wait_closed(sock, timeout=3.0) is not None, "idle connection still open"
        events = "gslb_transport_events_total"
        wait_for(
            lambda: metric(server, events, transport="tcp", event="idle_timeout") == 4,
            what="4 idle timeouts counted",
        )
        assert metric(server, events, transport="tcp", event="refused") == 0
    finally:
        for sock in idle:
            sock.close()


def test_two_workers_answer_and_are_counted_together(make_gslbd: Callable[..., Gslbd]):
    server = make_gslbd(toml=(WORKERS,))
    workers = children(server.proc.pid)
    assert len(workers) == 2
    # A worker logs its start after it says Ready, so the parent's `ready:`
    # (where start_gslbd stops waiting) may come first.
    wait_for(lambda: len(started(server)) == 2, what="two worker starts logged")
    assert {pid for _, pid in started(server)} == workers
    assert sorted(index for index, _ in started(server)) == [0, 1]

    assert answers(server, 40) == {TEL}
    assert answers(server, 10, "mail.gslb.example.") == {"127.0.0.25"}
    sent = 100

    wait_for(lambda: queries_total(server) == sent, what=f"queries_total == {sent}")
    status = ctl_json(server, "status")
    assert status["workers"] == 2
    assert set(status["worker_pids"]) == workers
    assert sum(status["worker_queries"]) == status["queries"] == sent
    assert all(n > 0 for n in status["worker_queries"]), status["worker_queries"]


def test_reload_and_member_disable_reach_every_worker(make_gslbd: Callable[..., Gslbd]):
    server = make_gslbd(toml=(WORKERS, NO_PERSISTENCE))
    assert answers(server, 20) == {TEL}

    (server.config_dir / "topology.csv").write_text(CNC_FIRST)
    done = ctl(server, "reload")
    assert done.returncode == 0, done.stderr
    assert answers(server, 20) == {CNC}

    done = ctl(server, "member", "disable", "vs_cnc")
    assert done.returncode == 0, done.stderr
    assert answers(server, 20) == {TEL}
    status = ctl_json(server, "status")
    assert status["generation"] == 2
    assert all(n > 0 for n in status["worker_queries"]), status["worker_queries"]


def test_a_dead_worker_is_restarted_and_sigterm_stops_all(make_gslbd: Callable[..., Gslbd]):
    server = make_gslbd(toml=(WORKERS,))
    first = children(server.proc.pid)
    assert answers(server, 10) == {TEL}
    wait_for(lambda: queries_total(server) == 20, what="the first 20 queries counted")

    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: len(children(server.proc.pid)) == 2 and victim not in children(server.proc.pid),
        what="a new worker",
    )
    wait_for(lambda: len(started(server)) == 3, what="the new worker's start")
    index = next(i for i, pid in started(server) if pid == victim)
    assert started(server)[-1][0] == index
    assert server.logged(f"worker: exited index={index} code=-9")

    # What the dead worker had reported stays counted.
    assert answers(server, 10) == {TEL}
    wait_for(lambda: queries_total(server) == 40, what="all 40 queries counted")

    workers = children(server.proc.pid)
    assert server.stop() == 0
    for pid in workers:
        wait_for(lambda pid=pid: gone(pid), what=f"worker {pid} gone")
    assert server.logged("worker: stopped index=0")


def test_workers_exit_when_the_parent_dies(make_gslbd: Callable[..., Gslbd]):
    server = make_gslbd(toml=(WORKERS,))
    workers = children(server.proc.pid)
    server.proc.kill()
    server.proc.wait()
    for pid in workers:
        wait_for(lambda pid=pid: gone(pid), what=f"worker {pid} gone")
