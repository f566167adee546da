"""Persistence records: an LDNS network keeps the members it was given.

Per wide IP, the LDNS (or ECS) address masked to `cidr_v4` / `cidr_v6` maps
to the pool and members of its first decision for `ttl` seconds, as long as
those members stay available. Bounded: past `max_entries` the oldest record
goes. A hit on a wide IP whose pools use a dynamic method (rtt, hops,
completion_rate, qos) still asks for the LDNS to be probed while it has no
fresh path, so the resolvers behind a record are measured and its successor
is decided by their paths. The table lives beside the snapshot (it is
written on the query path), and is carried across reloads.
"""

from __future__ import annotations

from dataclasses import dataclass

from gslb.model import V6, Persistence

Key = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Sticky:
    pool: str
    members: tuple[str, ...]  # virtual-server names, so a reload keeps them
    expires: float


class PersistenceTable:
    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._records: dict[Key, Sticky] = {}

    @staticmethod
    def key(wideip: str, rtype: int, ldns: int, p: Persistence) -> Key:
        """(wide IP, type, IP version, network address as an int, prefix length)
        for the LDNS with this key (`gslb.model.key_of`)."""
        if ldns & V6:
            version, cidr, bits, address = 6, p.cidr_v6, 128, ldns ^ V6
        else:
            version, cidr, bits, address = 4, p.cidr_v4, 32, ldns
        shift = bits - cidr
        return (wideip, rtype, version, (address >> shift) << shift, cidr)

    def get(self, key: Key, now: float) -> Sticky | None:
        s = self._records.get(key)
        if s is not None and s.expires <= now:
            del self._records[key]
            return None
        return s

    def put(self, key: Key, sticky: Sticky) -> None:
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
