"""What the control plane needs of the gslbd it serves, and nothing more.

The control socket API (`api.py`), the /metrics collector (`metrics.py`) and
the HTTP listener (`plane.py`) read the published snapshot, the health the
monitor runner concluded, the probe scheduler's LDNS table and counts, and
what the process counted; they ask for a reload, a member's admin state, a
probe now. `gslb.server.app.Server` is one `Served`; the control plane never
imports it, so a test can hand it a smaller one. Read-only properties:
what is read here, the control plane does not set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from gslb.counters import Histogram, QueryCounters
    from gslb.dns.answer import Responder
    from gslb.errors import ConfigError
    from gslb.model import Config, DataCenter, VirtualServer
    from gslb.snapshot import SnapshotHolder

Status = tuple[str, str]  # (up | down | unknown | disabled, reason)


class HealthCounters(Protocol):
    @property
    def results(self) -> Mapping[tuple[str, str, str], int]:
        """(monitor, type, up|down) -> checks run."""
        ...

    @property
    def durations(self) -> Mapping[tuple[str, str], Histogram]:
        """(monitor, type) -> how long checks took."""
        ...

    @property
    def transitions(self) -> Mapping[tuple[str, str, str], int]:
        """(member|datacenter, from, to) -> state changes."""
        ...


class Monitors(Protocol):
    """The monitor runner, as the control plane reads it."""

    @property
    def counters(self) -> HealthCounters: ...

    def member_status(self, config: Config, vs: VirtualServer) -> Status: ...

    def datacenter_status(self, dc: DataCenter) -> Status: ...


class ProbeScheduler(Protocol):
    """The probe scheduler and its LDNS table, as the control plane reads it."""

    @property
    def counts(self) -> Mapping[str, int]:
        """Queue full, refused, expired ... and `<protocol>_ok|failed`."""
        ...

    @property
    def probe_results(self) -> Mapping[tuple[str, str, str], int]:
        """(protocol, data center, ok|failed) -> probes."""
        ...

    @property
    def probe_rtt(self) -> Mapping[tuple[str, str], Histogram]:
        """(protocol, data center) -> round-trip times of answered probes."""
        ...

    def entries(
        self, address: str | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """`show ldns`: the table's entries (one address's, when given; at
        most `limit`, least recently seen first)."""
        ...

    async def probe_now(self, address: str) -> list[dict[str, Any]]:
        """`probe IP`: probe it now; its entry afterwards."""
        ...


class SyncGroup(Protocol):
    """The sync group (gslb/sync/group.py), as the control plane reads it."""

    def status(self) -> list[dict[str, Any]]:
        """`show sync`: this node and every peer it has heard of."""
        ...

    def metrics(self) -> Iterable[Metric]:
        """The `gslb_sync_*` families, made now."""
        ...

    def member_views(self, config: Config) -> dict[str, dict[str, Any]]:
        """`show members`: per member, the group's state, its rule, each node's view."""
        ...


class Served(Protocol):
    @property
    def holder(self) -> SnapshotHolder: ...

    @property
    def responder(self) -> Responder:
        """What `explain` decides with (its clock, cursors, persistence, memos)."""
        ...

    @property
    def probe_scheduler(self) -> ProbeScheduler: ...

    @property
    def monitors(self) -> Monitors: ...

    @property
    def sync(self) -> SyncGroup | None:
        """`[sync]`: the group's bus; None: a standalone node."""
        ...

    @property
    def config_dir(self) -> Path: ...

    @property
    def pid(self) -> int: ...

    @property
    def started_at(self) -> float: ...

    @property
    def reloads(self) -> Counter[str]:
        """ok | failed -> reloads."""
        ...

    @property
    def last_reload_error(self) -> ConfigError | None:
        """Why the last reload was rejected (None: it was not)."""
        ...

    @property
    def bound(self) -> list[tuple[str, str, int]]:
        """(protocol, host, port) of every DNS listener."""
        ...

    @property
    def ready(self) -> bool:
        """Configuration loaded, listeners bound and not stopping (/readyz)."""
        ...

    def worker_status(self) -> dict[str, Any]:
        """`workers` and what `gslbctl status` says of each worker process."""
        ...

    def worker_pids(self) -> dict[int, int]:
        """Slot -> PID of each live worker process."""
        ...

    def query_counters(self) -> QueryCounters: ...

    def transport_events(self) -> Mapping[tuple[str, str], int]: ...

    def persistence_records(self) -> int: ...

    async def reload(self) -> bool:
        """Load the configuration again; False (and `last_reload_error`)
        when it is rejected and the old one keeps serving."""
        ...

    async def synced(self) -> None:
        """Return once every worker serves what was just published."""
        ...

    def set_member_disabled(self, name: str, disabled: bool) -> None: ...
