"""Persistence records: an LDNS network keeps the members it was given.

Per wide IP, the LDNS (or ECS) address masked to `cidr_v4` / `cidr_v6` maps
to the pool and members of its first decision for `ttl` seconds, as long as
those members stay available. Bounded: past `max_entries` the oldest record
goes. The table lives beside the snapshot (it is written on the query path),
and is carried across reloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_network

from gslb.model import IPAddress, Persistence


@dataclass(frozen=True, slots=True)
class Sticky:
    pool: str
    members: tuple[str, ...]  # virtual-server names, so a reload keeps them
    expires: float


class PersistenceTable:
    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._records: dict[tuple[str, int, str], Sticky] = {}

    @staticmethod
    def key(wideip: str, rtype: int, ldns: IPAddress, p: Persistence) -> tuple[str, int, str]:
        cidr = p.cidr_v4 if ldns.version == 4 else p.cidr_v6
        return (wideip, rtype, str(ip_network(f"{ldns}/{cidr}", strict=False)))

    def get(self, key: tuple[str, int, str], now: float) -> Sticky | None:
        s = self._records.get(key)
        if s is not None and s.expires <= now:
            del self._records[key]
            return None
        return s

    def put(self, key: tuple[str, int, str], sticky: Sticky) -> None:
        self._records.pop(key, None)
        while len(self._records) >= self.max_entries > 0:
            del self._records[next(iter(self._records))]
        if self.max_entries > 0:
            self._records[key] = sticky

    def copy(self) -> PersistenceTable:
        """A detached copy: `gslbctl explain` reads and writes it, never the real one."""
        other = PersistenceTable(self.max_entries)
        other._records = dict(self._records)
        return other

    def __len__(self) -> int:
        return len(self._records)
