"""What the hot-path counters cost: Responder.answer() with and without them.

    .venv/bin/python bench/metrics_overhead.py [--queries 200000] [--rounds 7]

In-process, no sockets: the default etc/ config, a mix of queries (60 % the
wide IP from 256 LDNS addresses, 25 % static names, 15 % NXDOMAIN), answered
by one Responder with `counting` on and off in alternating rounds, so both
see the same caches and the same machine noise. Rates are per second of
this process's CPU time, so time the process spends descheduled does not
count; the best round of each is kept. Prints the rates and the overhead in
percent; bench/README.md has a run's figures.
"""

from __future__ import annotations

import argparse
import time
from ipaddress import IPv4Address
from pathlib import Path

from dnslib import DNSRecord

from gslb.config import load
from gslb.dns.answer import Responder
from gslb.snapshot import Snapshot, SnapshotHolder

ETC = Path(__file__).resolve().parents[1] / "etc"
MIX = [("www.gslb.example.", "A")] * 12 + [
    ("ns1.gslb.example.", "A"),
    ("gslb.example.", "MX"),
    ("gslb.example.", "SOA"),
    ("gslb.example.", "NS"),
    ("gslb.example.", "TXT"),
    ("nx1.gslb.example.", "A"),
    ("nx2.gslb.example.", "AAAA"),
    ("nx3.gslb.example.", "A"),
]


def workload(n: int) -> list[tuple[bytes, IPv4Address]]:
    wires = [bytes(DNSRecord.question(name, qtype).pack()) for name, qtype in MIX]
    peers = [IPv4Address(f"198.51.100.{i}") for i in range(256)]
    return [(wires[i % len(wires)], peers[(i * 7) % len(peers)]) for i in range(n)]


def run(responder: Responder, queries: list[tuple[bytes, IPv4Address]]) -> float:
    answer = responder.answer
    start = time.process_time()  # CPU time: other work on the machine does not count
    for wire, peer in queries:
        answer(wire, peer, "udp")
    return len(queries) / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    responder = Responder(SnapshotHolder(Snapshot.build(load(ETC))))
    queries = workload(args.queries)
    run(responder, queries[:20_000])  # warm the caches
    rates: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.rounds):
        for counting in (False, True):
            responder.counting = counting
            rates[counting].append(run(responder, queries))
    off, on = max(rates[False]), max(rates[True])
    print(f"queries per round: {args.queries}, rounds: {args.rounds}")
    print(f"counters off: {off:10.0f} q/s  ({1e6 / off:.2f} µs/query)")
    print(f"counters on:  {on:10.0f} q/s  ({1e6 / on:.2f} µs/query)")
    print(f"overhead:     {100 * (off - on) / off:10.1f} %")


if __name__ == "__main__":
    main()
