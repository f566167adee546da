from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from ipaddress import IPv4Address, ip_address

import pytest

from gslb.ldnsfile import (
    _lines,
    lines,
    load,
    remove_leftovers,
    save,
    save_forked,
    save_in_slices,
    temporary,
)
from gslb.proximity import LdnsTable

T0 = 1_000_000.0
DCS = ("CNC", "TEL")


def table(entries: int) -> LdnsTable:
    t = LdnsTable(max_entries=entries, ldns_ttl=3600.0)
    for n in range(entries):
        address = IPv4Address(0x0A000000 + n)
        t.add(address, address, T0 + n)
        t.record(address, n % 2, rtt_us=100 + n, protocol="udp", now=T0 + n)
    return t


def rows_of(path) -> list[list[object]]:
    header, *rows = path.read_text().splitlines()
    assert json.loads(header) == {"version": 2, "saved_at": T0}
    return [json.loads(row) for row in rows]


def test_the_file_is_a_header_then_a_row_a_line(tmp_path):
    t = table(2)
    save(tmp_path / "ldns.json", t.rows(DCS), T0)
    assert (tmp_path / "ldns.json").read_text() == (
        '{"version": 2, "saved_at": 1000000.0}\n'
        '["10.0.0.0",null,1000000.0,1000000.0,0,"udp",0,[["CNC",100,10000,1000000,1000000,0,0,"udp",0]]]\n'
        '["10.0.0.1",null,1000001.0,1000001.0,0,"udp",0,[["TEL",101,10000,1000001,1000001,0,0,"udp",0]]]\n'
    )  # fmt: skip


def test_the_saving_child_writes_the_lines_rows_would_give():
    t = table(3)
    t.max_entries = 10
    assert t.configure(("CNC", "TEL", 'say "hi"\\')) == (0, 1, 2)
    v6, subnet, resolver = ip_address("2001:db8::53"), ip_address("203.0.113.0"), ip_address("::1")
    t.add(v6, v6, T0 + 0.125)
    for dc, protocol in enumerate(("dns_dot", "dns_rev", "icmp")):
        t.record(v6, dc, rtt_us=1_000 + dc, hops=dc, protocol=protocol, now=T0 + dc)
    t.record(v6, 0, rtt_us=90_000, protocol="tcp", now=T0 + 5)  # held as pending
    t.record(v6, 1, rtt_us=None, now=T0 + 6)
    t.add(subnet, resolver, T0 + 7).queries = 12  # ECS: a target, no paths yet
    t.seen(ip_address("10.0.0.1"), T0 + 8.5, 3)
    t.configure(("TEL", 'say "hi"\\'))  # CNC removed: its paths are left out
    rows = t.rows(t.datacenters)
    assert [len(r[7]) for r in rows] == [0, 0, 2, 0, 1]
    assert "".join(lines(t, t.datacenters)) == _lines(rows)


def test_a_version_1_file_is_still_read(tmp_path):
    # As gslbd wrote it before version 2: one JSON document, entries in any
    # order, a path of 8 fields (no held sample).
    (tmp_path / "ldns.json").write_text(
        '{"version": 1, "saved_at": 1000000.0, "entries": ['
        '["10.0.0.1",null,1000001.0,1000001.0,0,"udp",0,[["TEL",101,10000,1000001,1000001,0,0,"udp"]]],'
        '["10.0.0.0",null,1000000.0,1000000.0,0,"udp",0,[["CNC",100,10000,1000000,1000000,0,0,"udp"]]]'
        ']}'
    )  # fmt: skip
    loaded = LdnsTable(max_entries=3, ldns_ttl=3600.0)
    assert load(tmp_path / "ldns.json", loaded, DCS, T0) == 2
    assert loaded.rows(DCS) == table(2).rows(DCS)  # the held sample: none (0)


@pytest.mark.parametrize("kind", ["fifo", "empty", "bad-row"])
def test_an_unreadable_file_is_an_empty_table_never_a_hang(tmp_path, caplog, kind):
    path = tmp_path / "ldns.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "empty":
        path.write_text("")
    else:
        path.write_text('{"version": 2, "saved_at": 1}\n["10.0.0.1"]\n')
    assert load(path, LdnsTable(max_entries=3, ldns_ttl=3600.0), DCS, T0) == 0
    assert f"ldns_table: unreadable file={path} error=" in caplog.text


def test_a_save_in_slices_writes_what_a_save_at_once_writes(tmp_path):
    t = table(1000)
    save(tmp_path / "whole.json", t.rows(DCS), T0)
    # A slice so short that every 64 rows give the event loop a turn.
    written = asyncio.run(save_in_slices(tmp_path / "sliced.json", t, DCS, T0, slice_seconds=0))
    assert written == 1000
    whole = (tmp_path / "whole.json").read_text()
    assert (tmp_path / "sliced.json").read_text() == whole
    assert len(rows_of(tmp_path / "whole.json")) == 1000
    loaded = LdnsTable(max_entries=1000, ldns_ttl=3600.0)
    assert load(tmp_path / "sliced.json", loaded, DCS, T0) == 1000
    assert loaded.rows(DCS) == t.rows(DCS)
    assert sorted(os.listdir(tmp_path)) == ["sliced.json", "whole.json"]


def test_entries_that_go_during_a_save_are_left_out(tmp_path):
    t = table(300)

    async def save_while_expiring() -> int:
        saving = asyncio.create_task(
            save_in_slices(tmp_path / "ldns.json", t, DCS, T0, slice_seconds=0)
        )
        await asyncio.sleep(0)  # the save has its keys and wrote its first slice
        t.expire(T0 + 3600 + 200)  # entries last seen before T0+200 go
        return await saving

    written = asyncio.run(save_while_expiring())
    rows = rows_of(tmp_path / "ldns.json")
    assert written == len(rows) == 64 + 100  # the first slice, then those still there
    assert [r[0] for r in rows[64:]] == [str(IPv4Address(0x0A000000 + n)) for n in range(200, 300)]


def test_a_cancelled_save_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "ldns.json"
    save(path, [], T0)
    old = path.read_text()

    async def cancelled() -> None:
        saving = asyncio.create_task(save_in_slices(path, table(500), DCS, T0, slice_seconds=0))
        await asyncio.sleep(0)
        saving.cancel()
        await asyncio.gather(saving, return_exceptions=True)

    asyncio.run(cancelled())
    assert path.read_text() == old
    assert os.listdir(tmp_path) == ["ldns.json"]


def test_leftovers_of_dead_processes_are_removed_others_kept(tmp_path):
    path = tmp_path / "ldns.json"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = temporary(path, int(dead.stdout))
    gone.write_text("{half a save")
    mine = temporary(path)
    mine.write_text("{a save under way")
    parent = temporary(path, os.getppid())
    parent.write_text("{another live process")
    other = tmp_path / ".other.json.1.tmp"
    other.write_text("")
    assert remove_leftovers(path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [mine.name, parent.name, other.name]
    )
    assert remove_leftovers(tmp_path / "missing" / "ldns.json") == 0


def test_a_forked_save_writes_the_table_as_it_was_at_the_fork(tmp_path, caplog):
    t = table(1000)
    save(tmp_path / "whole.json", t.rows(DCS), T0)

    async def save_then_change() -> int:
        saving = asyncio.create_task(save_forked(tmp_path / "forked.json", t, DCS, T0))
        await asyncio.sleep(0)  # forked by now
        t.expire(T0 + 3600 + 500)  # the parent's table changes; the child's copy does not
        return await saving

    caplog.set_level("INFO")
    assert asyncio.run(save_then_change()) == 1000
    assert len(t) == 500
    assert (tmp_path / "forked.json").read_text() == (tmp_path / "whole.json").read_text()
    assert sorted(os.listdir(tmp_path)) == ["forked.json", "whole.json"]
    assert "ldns_table: saved entries=1000 seconds=" in caplog.text


def test_a_forked_save_that_fails_says_why_and_leaves_no_temporary(tmp_path, caplog):
    path = tmp_path / "ldns.json"
    path.mkdir()  # in the way of the rename, even for root
    (path / "x").write_text("")
    assert asyncio.run(save_forked(path, table(10), DCS, T0)) == -1
    assert f"ldns_table: not saved file={path} error=IsADirectoryError: " in caplog.text
    assert sorted(os.listdir(tmp_path)) == ["ldns.json"]


def test_a_cancelled_forked_save_leaves_no_child_and_no_temporary(tmp_path):
    path = tmp_path / "ldns.json"

    async def cancelled() -> None:
        saving = asyncio.create_task(save_forked(path, table(200_000), DCS, T0))
        await asyncio.sleep(0.05)
        saving.cancel()
        await asyncio.gather(saving, return_exceptions=True)

    asyncio.run(cancelled())
    assert os.listdir(tmp_path) == []
    try:
        os.waitpid(-1, os.WNOHANG)
        raise AssertionError("a child process is left")
    except ChildProcessError:
        pass  # no child at all


def children() -> list[int]:
    """The processes this one forked (every thread's), still running."""
    found = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as listing:
            found += [int(pid) for pid in listing.read().split()]
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SCHED_IDLE is Linux's")
@pytest.mark.parametrize(("idle", "policy"), [(True, os.SCHED_IDLE), (False, os.SCHED_OTHER)])
def test_the_saving_child_takes_only_cpu_time_nothing_else_wants(tmp_path, idle, policy):
    policies: list[int] = []

    async def watched() -> int:
        saving = asyncio.create_task(
            save_forked(tmp_path / "ldns.json", table(100_000), DCS, T0, idle=idle)
        )
        while not saving.done():  # the child sets its class first thing: look until then
            for pid in children():
                with contextlib.suppress(OSError):  # gone meanwhile
                    policies.append(os.sched_getscheduler(pid))
            await asyncio.sleep(0.001)
        return await saving

    assert asyncio.run(watched()) == 100_000
    assert policies, "the child was never seen"
    assert policies[-1] == policy  # SCHED_OTHER: as the parent (the save when gslbd stops)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the parent keeps its own
