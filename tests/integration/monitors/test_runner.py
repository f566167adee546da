"""The runner against real listeners: rise/fall, link monitors, reloads, saved state."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import Callable
from ipaddress import ip_address
from pathlib import Path

from gslb.config import load
from gslb.model import Config
from gslb.monitors.runner import MonitorRunner
from gslb.snapshot import Snapshot, SnapshotHolder
from gslb.statefile import load_state, save_state
from tests.integration.monitors.servers import HttpServer, UdpEcho

ETC = Path(__file__).resolve().parents[3] / "etc"


def config(tmp_path: Path, monitors: str, *, cnc: str = "", tel: str = "", dc: str = "") -> Config:
    """The default config plus `monitors`; `cnc`/`tel` lines go into vs_cnc/vs_tel,
    `dc` into data center CNC."""
    directory = tmp_path / "etc"
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(ETC, directory)
    path = directory / "wideips.toml"
    text = path.read_text()
    text = text.replace('datacenter = "CNC"\n', f'datacenter = "CNC"\n{cnc}\n', 1)
    text = text.replace('datacenter = "TEL"\n', f'datacenter = "TEL"\n{tel}\n', 1)
    text = text.replace('probe_source = "127.0.0.2"\n', f'probe_source = "127.0.0.2"\n{dc}\n', 1)
    path.write_text(text + monitors)
    return load(directory)


def http_monitor(port: int, **extra: object) -> str:
    fields = {"interval": 0.05, "timeout": 0.5, "rise": 2, "fall": 2, "port": port, **extra}
    lines = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in fields.items())
    return f'\n[[monitor]]\nname = "web"\ntype = "http"\n{lines}'


class Recorder(SnapshotHolder):
    """A holder that remembers what each publication said, and when."""

    def __init__(self, snapshot: Snapshot, runner: Callable[[], MonitorRunner | None]) -> None:
        super().__init__(snapshot)
        self.runner = runner
        self.log: list[tuple[tuple[bool, ...], dict[tuple[str, str, str], int]]] = []

    def publish(self, snapshot: Snapshot) -> None:
        super().publish(snapshot)
        r = self.runner()
        self.log.append((snapshot.available, dict(r.counters.results) if r else {}))


async def until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def started(cfg: Config) -> tuple[Recorder, MonitorRunner]:
    runners: list[MonitorRunner] = []
    holder = Recorder(Snapshot.build(cfg), lambda: runners[0] if runners else None)
    runner = MonitorRunner(holder, concurrency=4)
    runners.append(runner)
    holder.publish(Snapshot.build(cfg, health=runner.configure(cfg)))
    return holder, runner


async def test_rise_and_fall(tmp_path: Path):
    server = await HttpServer().start(host="127.0.10.1")
    cfg = config(tmp_path, http_monitor(server.port), cnc='monitors = ["web"]')
    holder, runner = started(cfg)
    assert holder.current.available == (False, True, True)  # unknown: not handed out
    assert runner.statuses["member", "vs_cnc"] == ("unknown", "")
    runner.start()
    try:
        await until(lambda: holder.current.available[0])
        assert holder.log[-1][1] == {("web", "http", "up"): 1}  # the first check decides
        server.status = 503
        await until(lambda: not holder.current.available[0])
        assert holder.log[-1][1].get(("web", "http", "down")) == 2  # fall = 2
        assert runner.statuses["member", "vs_cnc"] == ("down", "web: status 503")
        ups = holder.log[-1][1][("web", "http", "up")]
        server.status = 200
        await until(lambda: holder.current.available[0])
        assert holder.log[-1][1][("web", "http", "up")] == ups + 2  # rise = 2
    finally:
        await runner.stop()
        await server.stop()
    assert runner.counters.transitions["member", "unknown", "up"] == 1
    assert runner.counters.transitions["member", "up", "down"] == 1
    assert runner.counters.transitions["member", "down", "up"] == 1


async def test_link_down_takes_the_datacenter_down(tmp_path: Path):
    gateway = await UdpEcho().start()
    link = (
        '\n[[monitor]]\nname = "gw"\ntype = "udp"\nsend = "x"\n'
        "interval = 0.05\ntimeout = 0.2\nrise = 1\nfall = 1\n"
    )
    cfg = config(tmp_path, link.replace('send = "x"', f'send = "x"\nport = {gateway.port}'),
                 dc='link_monitor = "gw"\nlink_address = "127.0.0.1"')  # fmt: skip
    holder, runner = started(cfg)
    assert holder.current.available == (True, True, True)  # an unchecked link is up
    runner.start()
    try:
        await until(lambda: runner.statuses["datacenter", "CNC"][0] == "up")
        gateway.stop()  # port unreachable from now on
        await until(lambda: holder.current.available == (False, True, False))
        assert runner.statuses["datacenter", "CNC"] == ("down", "link gw: connection refused")
        assert runner.statuses["member", "vs_cnc"] == (
            "down",
            "datacenter CNC link gw: connection refused",
        )
        assert holder.current.health.datacenter_up == (False, True)
    finally:
        await runner.stop()


async def test_reload_keeps_unchanged_checks_and_restarts_changed_ones(tmp_path: Path):
    servers = [await HttpServer().start(host="127.0.10.1")]
    port = servers[0].port
    for host in ("127.0.20.1", "127.0.30.1"):
        servers.append(await HttpServer().start(host=host, port=port))
    both = 'monitors = ["web"]'
    cfg = config(tmp_path, http_monitor(port), cnc=both, tel=both)
    holder, runner = started(cfg)
    runner.start()
    try:
        await until(lambda: holder.current.available == (True, True, True))
        kept = runner.checks["member/vs_cnc/web"]
        # vs_tel's address changes: its check is new; vs_cnc's is the same check.
        changed = config(tmp_path, http_monitor(port), cnc=both, tel=both)
        changed = dataclasses.replace(
            changed,
            virtual_servers=(
                changed.virtual_servers[0],
                dataclasses.replace(changed.virtual_servers[1], address=ip_address("127.0.30.1")),
                changed.virtual_servers[2],
            ),
        )
        health = runner.configure(changed)
        assert runner.checks["member/vs_cnc/web"] is kept
        assert health.member_up[0] and 1 in health.unknown
        holder.publish(Snapshot.build(changed, 2, health))
        await until(lambda: holder.current.available == (True, True, True))
    finally:
        await runner.stop()
        for server in servers:
            await server.stop()
    assert [len(s.requests) > 0 for s in servers] == [True, True, True]


async def test_saved_state_is_restored_for_the_same_check_only(tmp_path: Path):
    cfg = config(tmp_path, http_monitor(9), cnc='monitors = ["web"]', tel='monitors = ["web"]')
    holder, runner = started(cfg)
    runner.checks["member/vs_cnc/web"].threshold.observe(True, "status 200", 1.0)
    runner.checks["member/vs_tel/web"].threshold.observe(False, "status 503", 1.0)
    runner.set_disabled("vs_tel", True)
    save_state(tmp_path / "var", runner.saved())

    saved = load_state(tmp_path / "var")
    assert saved.disabled == frozenset({"vs_tel"})
    again = MonitorRunner(holder, saved=saved)
    assert again.configure(cfg).member_up == (True, False, True)
    assert again.statuses["member", "vs_tel"] == ("disabled", "disabled by hand")

    other = config(tmp_path, http_monitor(10), cnc='monitors = ["web"]')  # a changed monitor
    fresh = MonitorRunner(holder, saved=saved).configure(other)
    assert (fresh.member_up[0], fresh.unknown) == (False, frozenset({0}))
