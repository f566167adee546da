"""CPU per `Responder.answer()` for distinct clients: every query decided.

Not a test (CI does not run it). Run: `.venv/bin/python bench/bench_answer.py`
(`--queries 20000 --rounds 5` by default; `--profile cold` prints a cProfile
of one cold round instead). On the benchmark's config (bench/gslbd/: `www`
through `rtt`, `topology`, `global_availability`, ECS allowed) it times,
in process with `time.process_time` (CPU, not wall: the machine may be
loaded), the median over rounds of CPU µs per answer for three loads:

- **cold**: each query from a new peer address carrying a new ECS /24 that
  is not in the LDNS table: `rtt` is unsuccessful, `topology` decides, the
  subnet is offered for probing (`on_probe`, here a list append);
- **warm**: the same, with every subnet in the LDNS table (two fresh
  data-center paths each): `rtt` decides;
- **one address**: one peer sending the same query again and again with
  new IDs (as `make bench`): reply-cache hits.

Each round gets a fresh responder and new subnets (a subnet's reply is never
reused), as the server sees them. Every reply is checked to carry one answer.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import time
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path
from random import Random

import dns.edns
from dns.message import from_wire, make_query

from gslb.config import load
from gslb.dns.answer import Responder
from gslb.model import IPAddress
from gslb.proximity import PATH, LdnsTable
from gslb.server.app import GC_GEN0_THRESHOLD
from gslb.snapshot import Snapshot, SnapshotHolder

CONFIG = Path(__file__).resolve().parent / "gslbd"
NOW = 1_900_000_000.0
FIRST = int(IPv4Address("10.0.0.0")) >> 8  # the first /24, as a 24-bit number
PEERS = int(IPv4Address("172.16.0.0"))
MARK = b"\x01\x02\x03"  # the template's ECS address bytes, replaced per query


def template() -> tuple[bytes, int]:
    """A `www A` query with EDNS and an ECS /24 option, and where its 3
    address bytes are."""
    ecs = dns.edns.ECSOption("1.2.3.0", 24)
    query = make_query("www.gslb.example.", "A", use_edns=0, payload=1232, options=[ecs])
    query.id = 0
    wire = query.to_wire()
    at = wire.rindex(MARK)
    return wire, at


def queries(n: int, start: int) -> list[tuple[bytes, str]]:
    """n queries, each with its own ECS /24 (from `start`) and its own peer."""
    wire, at = template()
    out = []
    for i in range(n):
        net = (FIRST + start + i).to_bytes(3, "big")
        qid = (i & 0xFFFF).to_bytes(2, "big")
        out.append((qid + wire[2:at] + net + wire[at + 3 :], str(IPv4Address(PEERS + start + i))))
    return out


def warm_table(first: int, n: int) -> LdnsTable:
    """The LDNS table with the subnets `first` .. `first + n` in it."""
    table = LdnsTable(max_entries=n + 1, ldns_ttl=2_419_200)
    rng = Random(7)
    at = int(NOW)
    for i in range(n):
        address = IPv4Address((FIRST + first + i) << 8)
        entry = table.add(address, address, NOW)
        cnc, tel = rng.randrange(1_000, 300_000), rng.randrange(1_000, 300_000)
        entry.paths = PATH.pack(0, cnc, 10_000, at, at, 0, 3, 1, 0) + PATH.pack(
            1, tel, 10_000, at, at, 0, 5, 1, 0
        )
        table._dirty.add(int(address))  # as record() would
    return table


def responder(snap: Snapshot) -> tuple[Responder, list[object]]:
    offered: list[object] = []

    def on_probe(ldns: int, peer: IPAddress | str) -> None:
        offered.append(ldns)

    r = Responder(SnapshotHolder(snap), clock=lambda: NOW, rng=Random(1), on_probe=on_probe)
    return r, offered


def run(snap: Snapshot, load: list[tuple[bytes, str]]) -> tuple[float, Responder, list[object]]:
    """CPU µs per answer over `load`, through a fresh responder."""
    r, offered = responder(snap)
    answer = r.answer
    gc.collect()
    gc.freeze()  # as gslbd does after start-up, with the same young-generation threshold
    threshold = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, *threshold[1:])
    started = time.process_time()
    for wire, peer in load:
        answer(wire, peer, "udp")
    took = time.process_time() - started
    gc.set_threshold(*threshold)
    gc.unfreeze()
    wire, peer = load[-1]
    reply = from_wire(answer(wire, peer, "tcp") or b"")
    assert len(reply.answer) == 1 and reply.rcode() == 0, reply
    return took / len(load) * 1e6, r, offered


def median(rounds: int, one: Callable[[int], float]) -> float:
    return statistics.median(one(i) for i in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=["cold", "warm", "one"])
    args = parser.parse_args()
    n, rounds = args.queries, args.rounds
    config = load(CONFIG)
    empty = Snapshot.build(config)
    warm = empty.with_proximity(warm_table(0, n * rounds).view())

    def cold_round(i: int) -> float:
        us, _, offered = run(empty, queries(n, n * (rounds + i)))
        assert len(offered) == n + 1, len(offered)  # and the tcp check
        return us

    def warm_round(i: int) -> float:
        us, r, offered = run(warm, queries(n, n * i))
        assert not offered, len(offered)
        methods = {labels[4] for labels, _, _ in r.counters.queries}
        assert methods == {"rtt"}, methods
        return us

    def one_round(i: int) -> float:
        wire, peer = queries(1, i)[0]
        load = [((j & 0xFFFF).to_bytes(2, "big") + wire[2:], peer) for j in range(n)]
        return run(empty, load)[0]

    loads = {"cold": cold_round, "warm": warm_round, "one": one_round}
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(loads[args.profile], 0)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return
    for name, one in loads.items():
        print(f"{name:>5}: {median(rounds, one):5.2f} µs/answer (CPU, median of {rounds})")


if __name__ == "__main__":
    main()
