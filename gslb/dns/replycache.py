"""The reply cache in front of the responder.

A repeated UDP query is answered with one dictionary look-up: the key is the
query's bytes after the ID (so letter case, EDNS size, DO and ECS are all
part of it), the value the reply's bytes after the ID. Static replies do not
depend on who asks and live as long as the configuration (a snapshot that
brings only new health or paths keeps them); a wide IP reply is kept
per peer and for at most `DYNAMIC_LIFETIME` seconds, because paths go stale
and persistence records expire on the clock, not on a snapshot change. The
responder decides what may be cached (never an error, a truncated or a
rate-limited reply, nor a wide IP whose methods rotate).

Clients choose the keys, so the cache is bounded in bytes, and only queries
of an ordinary size are cached.

Wide IP replies are kept in two generations of `DYNAMIC_LIFETIME` each: a
reply goes into the young one, a look-up tries the young then the old, and
once a lifetime has passed the young becomes the old one and the old one
(every reply in it expired by then) is let go: `DROP_PER_PUT` of its
entries with each wide IP reply put after, the rest at the next turn. So
nothing frees many replies at once: dropping 32 MiB of them in one go
(about 190,000) held the event loop for 31 ms, and one second of 20,000
for 3.4 ms (bench/README.md, "Long turns of the event loop").

A wide IP reply is reused only if the same peer asks the same question
within the second; under load from many resolvers or client subnets (ECS:
the subnet is part of the key) that hardly happens, and every insert is
work and memory for nothing. So the cache watches how many of the wide IP
replies it keeps are reused: every `ADMIT_WINDOW` offered, if fewer than one
in `SPARSE_BELOW` kept was hit, it keeps only one offer in `SPARSE_STRIDE`
(enough to see the traffic change back), else every one. What is answered
does not change: a reply not kept is decided again, the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

MAX_QUERY: Final = 512  # bytes; a larger query is answered but never cached
MAX_BYTES: Final = 32 << 20  # keys and replies together; past it the cache starts afresh
DYNAMIC_LIFETIME: Final = 1.0  # seconds a cached wide IP reply may be reused
_FOREVER: Final = float("inf")
ADMIT_WINDOW: Final = 4096  # wide IP replies offered between two looks at how many were reused
SPARSE_BELOW: Final = 8  # fewer hits than kept / this: few are reused
SPARSE_STRIDE: Final = 16  # then one offer in this many is kept
DROP_PER_PUT: Final = 2  # expired replies let go with each wide IP reply put

# (reply bytes after the ID, counter cell to bump, LDNS key to report as seen, expiry)
Entry = tuple[bytes, list[int] | None, int | None, float]


class Seen(Protocol):
    def append(self, key: int, /) -> None: ...


class ReplyCache:
    __slots__ = (
        "_config",
        "_dropping",
        "_dynamic",
        "_dynamic_bytes",
        "_for",
        "_hits",
        "_kept",
        "_offered",
        "_older",
        "_older_bytes",
        "_static",
        "_static_bytes",
        "_turn_at",
        "clock",
        "seen",
        "stride",
    )

    def __init__(self, clock: Callable[[], float], seen: Seen) -> None:
        self.clock = clock
        self.seen = seen  # where a replayed wide IP reply reports its LDNS
        self._static: dict[bytes, Entry] = {}
        self._dynamic: dict[tuple[bytes, object], Entry] = {}  # the young generation
        self._older: dict[tuple[bytes, object], Entry] = {}
        self._dropping: dict[tuple[bytes, object], Entry] = {}  # expired, let go a few a put
        self._turn_at = 0.0  # when the young generation becomes the old one
        # Keys and replies held (MAX_BYTES bounds the three together).
        self._static_bytes = self._dynamic_bytes = self._older_bytes = 0
        self._for: object = None
        self._config: object = None
        # Admission of wide IP replies, over the current window of offers.
        self.stride = 1  # keep one offer in this many
        self._offered = self._kept = self._hits = 0

    def follow(self, snapshot: object, config: object) -> None:
        """A new snapshot forgets the wide IP replies; a new configuration
        (`config`, the snapshot's) the static ones too."""
        if snapshot is self._for:
            return
        self._for = snapshot
        if config is not self._config:
            self._config = config
            self.clear()
            return
        self._forget_dynamic()

    def clear(self) -> None:
        self._static.clear()
        self._static_bytes = 0
        self._forget_dynamic()

    def _forget_dynamic(self) -> None:
        self._dynamic = {}
        self._older = {}
        self._dropping = {}
        self._dynamic_bytes = self._older_bytes = 0

    def _turn(self, now: float) -> None:
        """The young generation becomes the old one; the old one, expired, is
        let go (what is left of the one before goes at once)."""
        self._dropping = self._older
        self._older = self._dynamic
        self._older_bytes = self._dynamic_bytes
        self._dynamic = {}
        self._dynamic_bytes = 0
        self._turn_at = now + DYNAMIC_LIFETIME

    def replay(self, wire: bytes, peer: object) -> bytes | None:
        """The cached reply to this query from `peer` (its ID copied in), counted
        and its LDNS seen as if answered; None when there is none."""
        tail = wire[2:]
        hit = self._static.get(tail)
        if hit is None:
            key = (tail, peer)
            hit = self._dynamic.get(key)
            if hit is None:
                hit = self._older.get(key)
            if hit is None or hit[3] <= self.clock():
                return None
            self._hits += 1
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
        if ldns is not None:
            self._offered += 1
            if self._offered % self.stride:
                return
            self._kept += 1
            if self._offered >= ADMIT_WINDOW:
                few = self._hits * SPARSE_BELOW < self._kept
                self.stride = SPARSE_STRIDE if few else 1
                self._offered = self._kept = self._hits = 0
        size = len(wire) + len(reply)
        now = 0.0
        if ldns is not None:  # the generations first: a turn may make the room
            now = self.clock()
            if now >= self._turn_at:
                self._turn(now)
            elif self._dropping:
                dropping = self._dropping
                for _ in range(DROP_PER_PUT):
                    if dropping:
                        dropping.popitem()
        if self._static_bytes + self._dynamic_bytes + self._older_bytes + size > MAX_BYTES:
            self.clear()
        if ldns is None:
            self._static_bytes += size
            self._static[wire[2:]] = (reply[2:], cell, None, _FOREVER)
        else:
            self._dynamic_bytes += size
            self._dynamic[wire[2:], peer] = (reply[2:], cell, ldns, now + DYNAMIC_LIFETIME)

    def __len__(self) -> int:
        return len(self._static) + len(self._dynamic) + len(self._older)

    @property
    def letting_go(self) -> int:
        """Expired wide IP replies not yet let go (not in `len`)."""
        return len(self._dropping)
