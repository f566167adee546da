"""What the query path works out once per snapshot and keeps: memos, not state.

A published snapshot is never written to. What a query works out from it and
that every later query under the same configuration and health would work
out alike (a wide IP's compiled plan, what a persistence record still
decides) is kept here, by the object that answers queries (the responder),
and dropped when the snapshot's configuration or health changes. A new
proximity view alone keeps it: neither a plan nor a persisted decision reads
the view (the plan is handed it per query).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gslb.decide.decision import Decision
    from gslb.decide.plan import Plan, PlanPerChoice
    from gslb.health import Health
    from gslb.model import Config
    from gslb.snapshot import Snapshot

# (wide IP, record type) -> its compiled plan, or None for the general path
Plans = dict[tuple[int, int], "Plan | PlanPerChoice[Any] | None"]
# (wide IP, record type, pool name, member names) -> the decision a
# persistence record of them makes, for an LDNS to be measured and for one
# measured already (no probe wanted), or None when it no longer holds
Persisted = dict[tuple[int, int, str, tuple[str, ...]], "tuple[Decision, Decision] | None"]


class SnapshotMemo:
    """Plans and persisted decisions for the configuration and health of the
    snapshot last followed. Bounded by the configuration: one plan per (wide
    IP, record type) and one persisted decision per distinct persistence
    record (members of a pool, itself bounded by the persistence table)."""

    __slots__ = ("_config", "_health", "persisted", "plans", "snapshot")

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None  # the one last followed
        self._config: Config | None = None
        self._health: Health | None = None
        self.plans: Plans = {}
        self.persisted: Persisted = {}

    def follow(self, snap: Snapshot) -> None:
        """Forget everything unless `snap` has the configuration and health
        the memos were made for (identity: both are frozen, and replaced
        whole when they change). Callers on the hot path check `snapshot`
        first: the same snapshot needs no look."""
        self.snapshot = snap
        if snap.health is not self._health or snap.config is not self._config:
            self._config, self._health = snap.config, snap.health
            self.plans = {}
            self.persisted = {}
