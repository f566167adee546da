"""The reply cache in front of the responder.

A repeated UDP query is answered with one dictionary look-up: the key is the
query's bytes after the ID (so letter case, EDNS size, DO and ECS are all
part of it), the value the reply's bytes after the ID. Static replies do not
depend on who asks and live as long as the snapshot; a wide IP reply is kept
per peer and for at most `DYNAMIC_LIFETIME` seconds, because paths go stale
and persistence records expire on the clock, not on a snapshot change. The
responder decides what may be cached (never an error, a truncated or a
rate-limited reply, nor a wide IP whose methods rotate).

Clients choose the keys, so the cache is bounded in bytes, and only queries
of an ordinary size are cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

MAX_QUERY = 512  # bytes; a larger query is answered but never cached
MAX_BYTES = 32 << 20  # keys and replies together; past it the cache starts afresh
DYNAMIC_LIFETIME = 1.0  # seconds a cached wide IP reply may be reused
_FOREVER = float("inf")

# (reply bytes after the ID, counter cell to bump, LDNS key to report as seen, expiry)
Entry = tuple[bytes, list[int] | None, int | None, float]


class Seen(Protocol):
    def append(self, key: int, /) -> None: ...


class ReplyCache:
    __slots__ = ("_bytes", "_dynamic", "_for", "_static", "clock", "seen")

    def __init__(self, clock: Callable[[], float], seen: Seen) -> None:
        self.clock = clock
        self.seen = seen  # where a replayed wide IP reply reports its LDNS
        self._static: dict[bytes, Entry] = {}
        self._dynamic: dict[tuple[bytes, object], Entry] = {}
        self._bytes = 0
        self._for: object = None

    def follow(self, snapshot: object) -> None:
        """Forget everything when a new snapshot is published."""
        if snapshot is not self._for:
            self.clear()
            self._for = snapshot

    def clear(self) -> None:
        self._static.clear()
        self._dynamic.clear()
        self._bytes = 0

    def replay(self, wire: bytes, peer: object) -> bytes | None:
        """The cached reply to this query from `peer` (its ID copied in), counted
        and its LDNS seen as if answered; None when there is none."""
        tail = wire[2:]
        hit = self._static.get(tail)
        if hit is None:
            hit = self._dynamic.get((tail, peer))
            if hit is None or hit[3] <= self.clock():
                return None
        if hit[2] is not None:  # a wide IP reply: its LDNS asked again
            self.seen.append(hit[2])
        if hit[1] is not None:
            hit[1][0] += 1
        return wire[:2] + hit[0]

    def put(
        self,
        wire: bytes,
        peer: object,
        reply: bytes,
        cell: list[int] | None,
        ldns: int | None,
    ) -> None:
        """Remember a reply: static when `ldns` (an LDNS table key) is None, else a
        wide IP reply for `peer`."""
        if len(wire) > MAX_QUERY:
            return
        size = len(wire) + len(reply)
        if self._bytes + size > MAX_BYTES:
            self.clear()
        self._bytes += size
        if ldns is None:
            self._static[wire[2:]] = (reply[2:], cell, None, _FOREVER)
        else:
            expires = self.clock() + DYNAMIC_LIFETIME
            self._dynamic[wire[2:], peer] = (reply[2:], cell, ldns, expires)

    def __len__(self) -> int:
        return len(self._static) + len(self._dynamic)
