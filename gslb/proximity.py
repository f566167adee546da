"""The LDNS proximity table as the hot path reads it.

The write side (probers, scheduler, persistence to disk) arrives with the
proximity issue; what the methods read is a frozen mapping from LDNS address
to its paths, one per data center.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gslb.algorithms.base import Path
from gslb.model import IPAddress

_NO_PATHS: Mapping[int, Path] = MappingProxyType({})


class FrozenView:
    """A published, read-only view of the LDNS table."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[IPAddress, Mapping[int, Path]] | None = None) -> None:
        self._entries = dict(entries or {})

    def paths(self, ldns: IPAddress) -> Mapping[int, Path]:
        return self._entries.get(ldns, _NO_PATHS)

    def __len__(self) -> int:
        return len(self._entries)


EMPTY = FrozenView()
