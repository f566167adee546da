"""Answers while the control plane works: a save of the LDNS table and
reloads, good and bad, under a steady stream of queries (`workers = 1`, the
default: the process that saves and reloads is the one that answers).

The margins are for a shared, loaded machine: a p99 of 50 ms (the goal on a
quiet one is 5 ms, bench/README.md), and not one query lost. A save or a
reload that held the event loop for a second would lose or delay hundreds of
the queries of that second and fail both.
"""

from __future__ import annotations

import time
from ipaddress import IPv4Address
from pathlib import Path

from gslb.ldnsfile import save
from gslb.proximity import LdnsTable
from tests.integration.conftest import copy_config, edit_config, start_gslbd
from tests.integration.stream import QueryStream, StreamResult

RATE = 1000  # queries a second
P99_LIMIT = 0.050
ENTRIES = 100_000


def ldns_file(path: Path, entries: int, now: float) -> None:
    table = LdnsTable(max_entries=entries, ldns_ttl=10**7)
    first = int(IPv4Address("10.0.0.0"))
    for n in range(entries):
        address = IPv4Address(first + n)
        table.add(address, address, now)
        table.record(address, 0, rtt_us=1000 + n % 5000, protocol="udp", now=now)
        table.record(address, 1, rtt_us=2000 + n % 3000, protocol="udp", now=now)
    save(path, table.rows(("CNC", "TEL")), now)


def assert_answered(result: StreamResult) -> None:
    assert result.sent >= RATE  # the stream ran
    assert result.lost == 0, str(result)
    assert result.percentile(99) < P99_LIMIT, str(result)


def test_a_save_of_the_ldns_table_does_not_stall_answers(tmp_path):
    config = copy_config(tmp_path / "etc")
    edit_config(config, toml=(("datacenters = []", "datacenters = []\nsave_interval = 4"),))
    ldns_file(tmp_path / "var" / "ldns.json", ENTRIES, time.time())
    server = start_gslbd(config, timeout=60)
    try:
        assert server.logged(f"ldns_table: loaded={ENTRIES}")
        saved = f"ldns_table: saved entries={ENTRIES}"
        assert not server.logged(saved, timeout=0)
        stream = QueryStream(server.host, server.port, rate=RATE).start()
        found = server.logged(saved, timeout=30)
        time.sleep(0.5)
        result = stream.stop()
        assert found, "".join(server.log)
        assert_answered(result)
    finally:
        server.stop()
