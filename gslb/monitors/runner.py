"""The monitor runner: runs every check on its interval and publishes Health.

One check per (virtual server, monitor) and one per data center with a link
monitor, each sent from the data center's `probe_source` (when it is of the
target's address family). Checks wait for one of `monitor_concurrency` slots,
so a thousand members do not open a thousand sockets at once. A result feeds
the check's `Threshold`; when a state changes, the member and data-center
states are worked out again, transitions are logged once and counted, and a
new snapshot is published with the new `Health` — the hot path only reads it.

A reload hands the new config to `configure()`: checks that did not change
keep their state (and keep running), changed or new ones start `unknown`,
removed ones stop. Admin overrides (`disable`/`enable`) are kept by name.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from gslb.counters import CHECK_BUCKETS, Histogram
from gslb.errors import GslbError
from gslb.health import Health
from gslb.model import Config, DataCenter, IPAddress, Monitor, VirtualServer
from gslb.monitors import REGISTRY
from gslb.monitors.base import CheckResult, down
from gslb.monitors.http import reserve_threads
from gslb.monitors.threshold import State, Threshold, combine
from gslb.snapshot import SnapshotHolder
from gslb.statefile import SavedCheck, SavedState

log = logging.getLogger(__name__)

Status = tuple[str, str]  # (up | down | unknown | disabled, reason)


class UnknownMember(GslbError):
    """No virtual server has this name."""


@dataclass(frozen=True, slots=True)
class Target:
    """What one check looks at; a change of any part makes it a new check."""

    monitor: Monitor
    address: IPAddress
    port: int
    source: IPAddress | None

    def signature(self) -> str:
        return repr(self)


@dataclass(slots=True, eq=False)
class Check:
    key: str  # "member/<vs>/<monitor>" or "link/<dc>/<monitor>"
    target: Target
    threshold: Threshold
    task: asyncio.Task[None] | None = None


def member_key(vs: str, monitor: str) -> str:
    return f"member/{vs}/{monitor}"


def link_key(dc: str, monitor: str) -> str:
    return f"link/{dc}/{monitor}"


def targets(config: Config) -> dict[str, Target]:
    """Every check the config asks for, by key; disabled objects are not checked."""
    monitors = {m.name: m for m in config.monitors}

    def source(dc: DataCenter, address: IPAddress) -> IPAddress | None:
        src = dc.probe_source
        return src if src is not None and src.version == address.version else None

    out: dict[str, Target] = {}
    for vs in config.virtual_servers:
        dc = config.datacenters[vs.datacenter]
        if vs.enabled and dc.enabled:
            for name in vs.monitors:
                m = monitors[name]
                out[member_key(vs.name, name)] = Target(
                    m, vs.address, m.port or vs.port, source(dc, vs.address)
                )
    for dc in config.datacenters:
        if dc.enabled and dc.link_monitor is not None and dc.link_address is not None:
            m = monitors[dc.link_monitor]
            out[link_key(dc.name, m.name)] = Target(
                m, dc.link_address, m.port or 0, source(dc, dc.link_address)
            )
    return out


@dataclass(slots=True)
class MonitorCounters:
    """Read by the metrics collector."""

    # (monitor, type, up|down) -> checks; (monitor, type) -> durations;
    # (member|datacenter, from, to) -> state transitions
    results: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    durations: dict[tuple[str, str], Histogram] = field(default_factory=dict)
    transitions: Counter[tuple[str, str, str]] = field(default_factory=Counter)


class MonitorRunner:
    def __init__(
        self,
        holder: SnapshotHolder,
        *,
        saved: SavedState | None = None,
        concurrency: int = 32,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.holder = holder
        self.clock = clock
        saved = saved or SavedState()
        self.disabled: set[str] = set(saved.disabled)
        self._saved: dict[str, SavedCheck] = dict(saved.checks)
        self.checks: dict[str, Check] = {}
        self.statuses: dict[tuple[str, str], Status] = {}  # ("member"|"datacenter", name)
        self.counters = MonitorCounters()
        self.concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None
        # The sync group's views over this node's own (gslb/sync/views.py).
        self.combine: Callable[[Config, Health], Health] | None = None

    # -- configuration ---------------------------------------------------------

    def configure(self, config: Config) -> Health:
        """Make the checks match `config`; the Health to publish with it."""
        wanted = targets(config)
        for key, check in list(self.checks.items()):
            if wanted.get(key) != check.target:
                self._stop_check(self.checks.pop(key))
        for key, target in wanted.items():
            if key not in self.checks:
                self.checks[key] = self._new_check(key, target)
        self._evaluate(config)
        return self.health(config)

    def _new_check(self, key: str, target: Target) -> Check:
        check = Check(key, target, Threshold(target.monitor.rise, target.monitor.fall))
        saved = self._saved.pop(key, None)
        if saved is not None and saved.signature == target.signature():
            check.threshold.state = "up" if saved.state == "up" else "down"
            check.threshold.detail = saved.detail
            check.threshold.checked_at = saved.checked_at
        if self._slots is not None:
            check.task = asyncio.create_task(self._loop(check), name=f"monitor {key}")
        return check

    # -- state -----------------------------------------------------------------

    def health(self, config: Config) -> Health:
        """What the hot path reads: this node's verdict, or the group's."""
        own = self.own_health(config)
        return own if self.combine is None else self.combine(config, own)

    def own_health(self, config: Config) -> Health:
        """What this node's own checks say."""
        member_up: list[bool] = []
        unknown: set[int] = set()
        for i, vs in enumerate(config.virtual_servers):
            state = self._monitor_state(vs)[0]
            member_up.append(state == "up")
            if state == "unknown":
                unknown.add(i)
        dc_up = tuple(self._link_state(dc)[0] != "down" for dc in config.datacenters)
        return Health(tuple(member_up), dc_up, frozenset(self.disabled), frozenset(unknown))

    def _monitor_state(self, vs: VirtualServer) -> tuple[State, str]:
        checks = [self.checks.get(member_key(vs.name, m)) for m in vs.monitors]
        states: list[State] = [c.threshold.state if c else "unknown" for c in checks]
        state = combine(states, vs.monitor_quorum)
        if state != "down":
            return state, ""
        failed = [c for c in checks if c is not None and c.threshold.state == "down"]
        reasons = [f"{c.target.monitor.name}: {c.threshold.detail}" for c in failed]
        return state, "; ".join(reasons)

    def _link_state(self, dc: DataCenter) -> tuple[State, str]:
        if dc.link_monitor is None:
            return "up", ""
        check = self.checks.get(link_key(dc.name, dc.link_monitor))
        if check is None:
            return "unknown", ""
        t = check.threshold
        return t.state, (f"link {dc.link_monitor}: {t.detail}" if t.state == "down" else "")

    def member_status(self, config: Config, vs: VirtualServer) -> Status:
        dc = config.datacenters[vs.datacenter]
        if not vs.enabled or not dc.enabled:
            return "disabled", "disabled in config"
        if vs.name in self.disabled:
            return "disabled", "disabled by hand"
        link, reason = self._link_state(dc)
        if link == "down":
            return "down", f"datacenter {dc.name} {reason}"
        return self._monitor_state(vs)

    def datacenter_status(self, dc: DataCenter) -> Status:
        return ("disabled", "disabled in config") if not dc.enabled else self._link_state(dc)

    def _evaluate(self, config: Config) -> None:
        """Work the statuses out again; log and count each transition once."""
        statuses: dict[tuple[str, str], Status] = {}
        for dc in config.datacenters:
            statuses["datacenter", dc.name] = self.datacenter_status(dc)
        for vs in config.virtual_servers:
            statuses["member", vs.name] = self.member_status(config, vs)
        for (kind, name), (state, reason) in statuses.items():
            before = self.statuses.get((kind, name))
            if before is not None and before[0] != state:
                self.counters.transitions[kind, before[0], state] += 1
                level = logging.WARNING if state == "down" else logging.INFO
                log.log(
                    level,
                    "%s: name=%s %s -> %s reason=%s",
                    kind,
                    name,
                    before[0],
                    state,
                    reason or "-",
                )
        self.statuses = statuses

    def publish(self) -> None:
        snap = self.holder.current
        self._evaluate(snap.config)
        self.holder.publish(snap.with_health(self.health(snap.config)))

    # -- admin -----------------------------------------------------------------

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable or enable a member by hand; takes effect at once."""
        config = self.holder.current.config
        if not any(vs.name == name for vs in config.virtual_servers):
            raise UnknownMember(f"no such member: {name}")
        if disabled:
            self.disabled.add(name)
        else:
            self.disabled.discard(name)
        self.publish()

    def saved(self) -> SavedState:
        checks = {
            key: SavedCheck(
                c.threshold.state, c.target.signature(), c.threshold.detail, c.threshold.checked_at
            )
            for key, c in self.checks.items()
            if c.threshold.state != "unknown"
        }
        return SavedState(frozenset(self.disabled), checks)

    # -- running ---------------------------------------------------------------

    def start(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)
        reserve_threads(self.concurrency)  # every slot's https check has a thread
        for check in self.checks.values():
            check.task = asyncio.create_task(self._loop(check), name=f"monitor {check.key}")

    async def stop(self) -> None:
        tasks = [c.task for c in self.checks.values() if c.task is not None]
        for check in self.checks.values():
            self._stop_check(check)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._slots = None

    @staticmethod
    def _stop_check(check: Check) -> None:
        if check.task is not None:
            check.task.cancel()
            check.task = None

    async def _loop(self, check: Check) -> None:
        target = check.target
        monitor = REGISTRY[target.monitor.type]
        assert self._slots is not None
        slots = self._slots
        while True:
            started = time.monotonic()
            async with slots:
                began = time.monotonic()
                try:
                    result = await monitor.check(
                        target.address,
                        target.port,
                        source=target.source,
                        timeout=target.monitor.timeout,
                        spec=target.monitor.spec,
                    )
                except Exception as exc:  # a monitor bug must not stop its loop
                    log.exception("monitor: error check=%s", check.key)
                    result = down(f"internal error: {exc.__class__.__name__}")
                self._record(check, result, time.monotonic() - began)
            await asyncio.sleep(max(0.0, target.monitor.interval - (time.monotonic() - started)))

    def _record(self, check: Check, result: CheckResult, seconds: float) -> None:
        m = check.target.monitor
        self.counters.results[m.name, m.type, "up" if result.ok else "down"] += 1
        hist = self.counters.durations.get((m.name, m.type))
        if hist is None:
            hist = self.counters.durations[m.name, m.type] = Histogram(CHECK_BUCKETS)
        hist.observe(seconds)
        log.debug("monitor: check=%s ok=%s detail=%s", check.key, result.ok, result.detail)
        if check.threshold.observe(result.ok, result.detail, self.clock()):
            log.debug(
                "check: key=%s %s detail=%s", check.key, check.threshold.state, result.detail or "-"
            )
            self.publish()
