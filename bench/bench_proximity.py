"""What the LDNS table costs: an `rtt` decision and memory per entry.

Not a test (CI does not run it). Run: `.venv/bin/python bench/bench_proximity.py`
(add `--sizes 100000` for a quick run). For each table size it fills an
LDNS table with that many IPv4 LDNS, two data-center paths each, publishes
the frozen view, and measures:

- decision cost: `pipeline.decide` for the benchmark's wide IP and chain
  (`["rtt", "topology", "global_availability"]`, bench/gslbd/, no
  persistence), one distinct LDNS per query, for LDNS in the table (rtt
  decides) and not in it (rtt is unsuccessful, topology decides: the table
  has `any` records);
- answer cost: the same queries through `Responder.answer()` as UDP from
  distinct peers, wire bytes in and out (parse, the zone look-up, the
  decision, the reply, the counters, and a reply-cache entry that is never
  reused: every peer asks once);
- publishing: the first view of a full table, then one after 1000 changes;
- memory per LDNS entry, with tracemalloc: the frozen view alone (a fresh
  dict, keys and packed paths, nothing shared) and the write side.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from ipaddress import IPv4Address
from pathlib import Path
from random import Random

from dns.message import from_wire, make_query

from gslb.config import load
from gslb.decide.memo import SnapshotMemo
from gslb.decide.pipeline import Cursors, decide
from gslb.dns.answer import Responder
from gslb.model import A, address_of
from gslb.proximity import PATH, FrozenView, LdnsTable
from gslb.snapshot import Snapshot, SnapshotHolder

CONFIG = Path(__file__).resolve().parent / "gslbd"
NOW = 1_900_000_000.0
FIRST = int(IPv4Address("1.0.0.0"))
QUERIES = 100_000


def fill(size: int) -> LdnsTable:
    table = LdnsTable(max_entries=size, ldns_ttl=2_419_200)
    rng = Random(7)
    at = int(NOW)
    for i in range(size):
        address = IPv4Address(FIRST + i * 7)
        entry = table.add(address, address, NOW)
        cnc, tel = rng.randrange(1_000, 300_000), rng.randrange(1_000, 300_000)
        entry.paths = PATH.pack(0, cnc, 10_000, at, at, 0, 3, 1, 0) + PATH.pack(
            1, tel, 10_000, at, at, 0, 5, 1, 0
        )
        table._dirty.add(FIRST + i * 7)  # as record() would
    return table


def decisions(snap: Snapshot, addresses: list[int]) -> tuple[float, dict[str, int]]:
    """Microseconds per decision, and which method decided how often."""
    rng, cursors, memo = Random(1), Cursors(), SnapshotMemo()
    methods: dict[str, int] = {}
    started = time.perf_counter()
    for ldns in addresses:
        d = decide(snap, 0, A, ldns, now=NOW, rng=rng, cursors=cursors, memo=memo)
        methods[d.method] = methods.get(d.method, 0) + 1
    return (time.perf_counter() - started) / len(addresses) * 1e6, methods


def answers(snap: Snapshot, keys: list[int]) -> float:
    """Microseconds per `Responder.answer()`, one query from each LDNS as UDP."""
    responder = Responder(SnapshotHolder(snap), clock=lambda: NOW, rng=Random(1))
    peers = [str(address_of(k)) for k in keys]
    query = make_query("www.gslb.example.", "A", use_edns=0, payload=1232)
    wire = query.to_wire()
    gc.collect()
    gc.freeze()  # as gslbd does after start-up
    started = time.perf_counter()
    for peer in peers:
        responder.answer(wire, peer, "udp")
    took = time.perf_counter() - started
    gc.unfreeze()
    reply = from_wire(responder.answer(wire, peers[-1], "tcp") or b"")
    assert reply.id == query.id and len(reply.answer) == 1, reply
    return took / len(peers) * 1e6


def view_bytes(table: LdnsTable) -> float:
    """Bytes per entry of a frozen view built from scratch (nothing shared)."""
    items = [(k, bytes(bytearray(e.paths))) for k, e in table._entries.items()]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    view = FrozenView({int(str(k)): bytes(bytearray(p)) for k, p in items})  # fresh objects
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(view) == len(items)
    return size / len(items)


def table_bytes(size: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    table = fill(size)
    table._dirty.clear()
    total = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return total / len(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    config = load(CONFIG)
    empty = Snapshot.build(config)
    rows = []
    for size in args.sizes:
        table = fill(size)
        started = time.perf_counter()
        view = table.view()
        publish = time.perf_counter() - started
        for i in range(1000):  # a second's worth of probe results, say
            table._dirty.add(FIRST + i * 7 * (size // 1000))
        started = time.perf_counter()
        view = table.view()
        batch = time.perf_counter() - started
        snap = empty.with_proximity(view)
        rng = Random(size)
        hits = [FIRST + i * 7 for i in rng.sample(range(size), QUERIES)]
        misses = [FIRST + i * 7 + 1 for i in rng.sample(range(size), QUERIES)]
        hit_us, hit_methods = decisions(snap, hits)
        miss_us, miss_methods = decisions(snap, misses)
        assert set(hit_methods) == {"rtt"}
        assert set(miss_methods) == {"topology"}  # `any` records: it always matches
        answer_us = (answers(snap, hits), answers(snap, misses))
        memory = (view_bytes(table), table_bytes(size))
        rows.append((size, hit_us, miss_us, *answer_us, publish * 1e3, batch * 1e3, *memory))
        del table, view, snap
    base_us, _ = decisions(empty, [FIRST + i for i in range(QUERIES)])
    print(f"decision with an empty table (topology decides): {base_us:.1f} µs")
    print(
        f"{'entries':>10} {'decide: hit µs':>15} {'miss µs':>8} {'answer: hit µs':>15} "
        f"{'miss µs':>8} {'first view ms':>14} {'1k changes ms':>14} {'view B/entry':>13} "
        f"{'table B/entry':>14}"
    )
    for size, hit, miss, a_hit, a_miss, first, batch, view_b, table_b in rows:
        print(
            f"{size:>10} {hit:>15.1f} {miss:>8.1f} {a_hit:>15.1f} {a_miss:>8.1f} "
            f"{first:>14.0f} {batch:>14.1f} {view_b:>13.0f} {table_b:>14.0f}"
        )


if __name__ == "__main__":
    main()
