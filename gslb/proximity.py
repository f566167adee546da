"""The LDNS proximity table: the control plane's write side, the hot path's view.

Per LDNS (or, with ECS, per client subnet: the key is whatever address the
pipeline decided for), per data-center path: the RTT level (µs), hops,
completion rate (hundredths of a percent, 10000 = every probe round
answered), the protocol that worked, when it was last probed and last
answered, consecutive failures, and a pending sample (below); per entry: first/last seen, query
count, the protocol to try first, and the back-off of a failing LDNS.

The RTT follows a level, not an average: a sample that agrees with the
level (within AGREE_US or a fifth of the smaller, whichever is more) moves
it halfway; one that does not is held as `pending` and changes nothing. The
next sample decides: if it agrees with the pending one, the path's delay has
changed and the level becomes their mean (two probe rounds after a route
change, the answers follow); if it agrees with the level instead, the
pending one was an isolated outlier and is dropped. A 1/3 average would
take 2 to 5 rounds to follow a change and still be moved by one outlier.

Each entry's paths live in one packed `bytes` record (`PATH`, 24 bytes per
data center) keyed by an `int` (the address; IPv6 with bit 128 set), so the
frozen view the hot path reads costs a dict slot, an int and a small bytes
object per LDNS, shared with the write side. The control plane publishes a
new view in batches: `view()` copies only the keys changed since the last
one into a small `recent` layer over an immutable `base`, and folds them
into a new base a chunk at a time once that layer is big enough
(gslb/layers.py), so no publishing holds the event loop for long, however
big the table.

A path names its data center by an id the table gives the name once, for
the life of the process (`LdnsTable.configure`), not by its place in the
config: a reload that reorders or removes data centers leaves every record
as it is, and the snapshot maps each candidate's data center to its id
(`Candidate.path_id`, from `Config.datacenter_ids`). Re-indexing a million
entries on the event loop took about 13 s (bench/README.md, "Answers while
the control plane works").

The table is bounded (the least recently seen LDNS is evicted), forgets an
LDNS after `ldns_ttl` seconds without a query, and is saved atomically
(gslb/ldnsfile.py) as JSON rows, data centers by name, so a restart keeps
what was learned. A row: [address, target or null,
first_seen, last_seen, queries, protocol, failures, paths], a path:
[datacenter, rtt_us, completion_rate, measured_at, probed_at, failures,
hops, protocol, pending_us] (rows saved without pending_us load too).
"""

from __future__ import annotations

import dataclasses
import logging
import struct
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from types import MappingProxyType
from typing import Any, Final, NamedTuple, Protocol

from gslb.layers import Layers
from gslb.model import IPAddress, address_of, key_of
from gslb.probes import PROTOCOL_CODES, PROTOCOL_NAMES

__all__ = [
    "EMPTY",
    "PATH",
    "FrozenView",
    "LdnsEntry",
    "LdnsTable",
    "PathRecord",
    "address_of",
    "key_of",
]
log = logging.getLogger(__name__)


class Path(NamedTuple):
    """One measured path from a data center to an LDNS (proximity)."""

    rtt_us: int
    hops: int
    completion_rate: int  # hundredths of a percent, 10000 = every probe answered
    measured_at: float


class ProximityView(Protocol):
    """Paths by LDNS key (`gslb.model.key_of`)."""

    def paths(self, key: int) -> Mapping[int, Path]:
        """Fresh and stale paths for this LDNS, by data-center id (`Candidate.path_id`)."""
        ...

    def fresh(self, key: int, since: float, field: str) -> Mapping[int, float]:
        """One metric (a `Path` field) of the paths measured at or after `since`."""
        ...

    def measured(self, key: int, since: float) -> bool:
        """Whether any path of this LDNS was measured at or after `since`."""
        ...

    def best(
        self, key: int, since: float, field: str, first: Mapping[int, int], highest_first: bool
    ) -> int | None:
        """Of the data centers in `first` (data center -> a position), the
        position of the one whose path measured at or after `since` has the
        lowest (highest) `field`; ties go to the lower position. None when no
        such path."""
        ...


# datacenter, rtt_us, completion_rate, measured_at, probed_at, failures, hops, protocol,
# pending_us
PATH: Final = struct.Struct("<HIHIIHBBI")
SMOOTHING: Final = 3  # a probe round moves the completion rate a third of the way
AGREE_US: Final = 2_000  # two RTT samples agree within this or a fifth of the smaller
FULL: Final = 10_000  # completion rate: every probe round answered
_NO_PATHS: Final[Mapping[int, Path]] = MappingProxyType({})
_NO_VALUES: Final[Mapping[int, float]] = MappingProxyType({})
_FIELD_AT: Final = {"rtt_us": 1, "completion_rate": 2, "hops": 6}  # Path field -> PATH position
# Per Path field, a PATH record read as (datacenter, ..., ...) with only that
# field and measured_at, and their positions in it: what `best` reads per query.
_METRIC: Final = {
    "rtt_us": (struct.Struct("<HI2xI12x"), 1, 2),
    "completion_rate": (struct.Struct("<H4xHI12x"), 1, 2),
    "hops": (struct.Struct("<H6xI6xB5x"), 2, 1),
}
_PROBED_AT: Final = 12  # where a PATH record's probed_at (u32) starts
EXPIRE_STEP: Final = 2_048  # entries `LdnsTable.expire` forgets at most per call


def _probed_at(records: bytes, at: int) -> int:
    """The probe round (`probed_at`) of the PATH record at `at`."""
    return int.from_bytes(records[at + _PROBED_AT : at + _PROBED_AT + 4], "little")


def agree(a: int, b: int) -> bool:
    """Two RTTs (µs) that measure the same delay, give or take jitter."""
    return abs(a - b) <= max(AGREE_US, min(a, b) // 5)


def settle(level: int, pending: int, sample: int) -> tuple[int, int]:
    """The (level, pending sample) after `sample`; level 0: none yet, pending
    0: none. See the module docstring."""
    if not level:
        return sample, 0
    if agree(sample, level):
        return level + (sample - level) // 2, 0
    if pending and agree(sample, pending):
        return (pending + sample) // 2, 0
    return level, sample


def _third(value: int) -> int:
    """A third of `value`, rounded up so that a rate reaches 0 and FULL."""
    return -(-value // SMOOTHING)


@dataclass(frozen=True, slots=True)
class PathRecord:
    """One path of an entry, decoded (for the control socket and tests)."""

    datacenter: int
    rtt_us: int  # 0: never answered
    completion_rate: int
    measured_at: int  # last answered round (epoch seconds; 0: never)
    probed_at: int
    failures: int  # consecutive rounds without an answer
    hops: int
    protocol: str
    pending_us: int = 0  # a sample that disagreed with rtt_us, held for the next one


def unpack(packed: bytes) -> Iterator[PathRecord]:
    for dc, rtt, rate, measured, probed, failures, hops, proto, pending in PATH.iter_unpack(packed):
        yield PathRecord(
            dc, rtt, rate, measured, probed, failures, hops, PROTOCOL_NAMES[proto], pending
        )


def _pack(records: Sequence[PathRecord]) -> bytes:
    return b"".join(
        PATH.pack(
            r.datacenter,
            min(r.rtt_us, 0xFFFFFFFF),
            r.completion_rate,
            r.measured_at,
            r.probed_at,
            min(r.failures, 0xFFFF),
            min(r.hops, 0xFF),
            PROTOCOL_CODES.get(r.protocol, 0),
            min(r.pending_us, 0xFFFFFFFF),
        )
        for r in sorted(records, key=lambda r: r.datacenter)
    )


class FrozenView:
    """A published, read-only view of the LDNS table: two immutable layers."""

    __slots__ = ("_base", "_folded", "_recent")

    def __init__(
        self,
        base: Mapping[int, bytes] | None = None,
        recent: Mapping[int, bytes] | None = None,
        folded: tuple[Mapping[int, bytes], Mapping[int, bytes]] | None = None,
    ) -> None:
        self._base = base if base is not None else {}
        self._recent = recent if recent is not None else {}  # b"": removed from base
        # The base this one was made from and the recent layer folded into it
        # (gslb/layers.py): what changed across the fold, for `changes_since`.
        self._folded = folded

    @classmethod
    def of(cls, entries: Mapping[IPAddress, Mapping[int, Path]]) -> FrozenView:
        """A view holding these paths (tests and benchmarks)."""
        return cls(
            {
                key_of(a): _pack(
                    [
                        PathRecord(
                            dc, p.rtt_us, p.completion_rate, int(p.measured_at), 0, 0, p.hops, ""
                        )
                        for dc, p in paths.items()
                    ]
                )
                for a, paths in entries.items()
            }
        )

    def _packed(self, key: int) -> bytes | None:
        packed = self._recent.get(key)
        return self._base.get(key) if packed is None else packed

    def paths(self, key: int) -> Mapping[int, Path]:
        packed = self._packed(key)
        if not packed:
            return _NO_PATHS
        return {
            dc: Path(rtt, hops, rate, measured)
            for dc, rtt, rate, measured, _, _, hops, _, _ in PATH.iter_unpack(packed)
            if measured
        }

    def fresh(self, key: int, since: float, field: str) -> Mapping[int, float]:
        # What rtt, hops and completion_rate read on every query: straight
        # from the packed records, no Path objects.
        packed = self._packed(key)
        if not packed:
            return _NO_VALUES
        at = _FIELD_AT[field]
        return {r[0]: r[at] for r in PATH.iter_unpack(packed) if r[3] and r[3] >= since}

    def measured(self, key: int, since: float) -> bool:
        # What a persistence hit reads (does the LDNS still want a probe?): no dict.
        packed = self._recent.get(key)
        if packed is None:
            packed = self._base.get(key)
        if packed:
            for record in PATH.iter_unpack(packed):
                if record[3] and record[3] >= since:
                    return True
        return False

    def best(
        self, key: int, since: float, field: str, first: Mapping[int, int], highest_first: bool
    ) -> int | None:
        # What rtt, hops and completion_rate read on every query when the pool
        # gives one answer: one pass over the packed records, reading only
        # the data center, the metric and when it was measured (`_METRIC`),
        # no dict, no tuple per comparison.
        packed = self._recent.get(key)
        if packed is None:
            packed = self._base.get(key)
        if not packed:
            return None
        metric, at, measured_at = _METRIC[field]
        best: int | None = None
        least = 0
        for record in metric.iter_unpack(packed):
            measured = record[measured_at]
            if measured and measured >= since:
                position = first.get(record[0])
                if position is not None:
                    value = record[at]
                    if (
                        best is None
                        or (value > least if highest_first else value < least)
                        or (value == least and position < best)
                    ):
                        best, least = position, value
        return best

    def changes_since(self, older: FrozenView) -> dict[int, bytes]:
        """Key -> packed paths (b"": removed) that differ from `older`: what a
        copy of the view in another process needs (gslb/server/supervisor.py).
        Proportional to the recent layers while both share a base or this
        base was folded from the older one's; one pass over the table when
        more than one fold lies between them."""
        if self._base is older._base:
            out = {k: v for k, v in self._recent.items() if older._recent.get(k) != v}
            for k in older._recent.keys() - self._recent.keys():
                out[k] = self._base.get(k, b"")
            return out
        if self._folded is not None and self._folded[0] is older._base:
            keys = older._recent.keys() | self._folded[1].keys() | self._recent.keys()
            out = {}
            for k in keys:
                packed = self._packed(k) or b""
                if packed != (older._packed(k) or b""):
                    out[k] = packed
            return out
        new = dict(self._base)
        new.update(self._recent)
        old = dict(older._base)
        old.update(older._recent)
        out = {k: v for k, v in new.items() if old.get(k, b"") != v}
        out.update((k, b"") for k in old.keys() - new.keys() if old[k])
        return out

    def __len__(self) -> int:
        """LDNS with paths (recently removed ones still counted until folded)."""
        return len(self._base) + sum(
            1 for k, v in self._recent.items() if v and k not in self._base
        )


EMPTY = FrozenView()


class Published:
    """The latest `FrozenView` of a map written elsewhere: the table's, or
    a worker's copy of it. Changes go into `Layers` (gslb/layers.py), whose
    new base is made a step at a time: while `folding`, the owner calls
    `fold_step` with turns of the event loop between."""

    def __init__(self) -> None:
        self.view = EMPTY
        self._layers = Layers()

    def publish(self, changes: Mapping[int, bytes]) -> FrozenView:
        """The view with these changes (key -> packed paths, b"": removed)."""
        self._layers.publish(changes)
        return self._made()

    @property
    def folding(self) -> bool:
        return self._layers.folding

    def fold_step(self) -> FrozenView | None:
        """One step of the new base (about a millisecond); the view with it,
        once it is done."""
        return self._made() if self._layers.step() else None

    def _made(self) -> FrozenView:
        layers = self._layers
        self.view = FrozenView(layers.base, layers.recent, layers.folded)
        return self.view


class LdnsEntry:
    __slots__ = (
        "failures",
        "first_seen",
        "last_seen",
        "next_probe",
        "paths",
        "protocol",
        "queries",
        "rescaled",
        "target",
    )

    def __init__(self, target: IPAddress | None, now: float, rescaled: int = 0) -> None:
        self.target = target  # whom to probe when it is not the key itself (ECS)
        self.first_seen = now
        self.last_seen = now
        self.queries = 0
        self.protocol = ""  # the protocol that last worked, tried first next time
        self.failures = 0  # consecutive probe jobs with no answer from any data center
        self.next_probe = 0.0  # back-off: not before this
        # The probe settings next_probe was set under: how many re-probe
        # waits the scheduler had rescaled by then (gslb/probes/scheduler.py).
        self.rescaled = rescaled
        self.paths = b""


class LdnsTable:
    """The write side: only the control plane touches it."""

    MAX_IDS = 0x10000  # data-center ids a path record can carry (PATH's H)

    def __init__(self, *, max_entries: int, ldns_ttl: float) -> None:
        self.max_entries = max_entries
        self.ldns_ttl = ldns_ttl
        self.evicted = 0
        self._entries: OrderedDict[int, LdnsEntry] = OrderedDict()  # least recently seen first
        self._dirty: set[int] = set()
        self._published = Published()
        # (key, data center) measured here since the sync group last took
        # them (gslb/sync/paths.py); None: a standalone node keeps no such set.
        self.recorded: set[tuple[int, int]] | None = None
        # Data-center ids (`configure`): name -> id of the configured ones,
        # and by id every name given one (the ids of paths), "" in
        # `datacenters` for those no longer configured.
        self._ids: dict[str, int] = {}
        self._names: list[str] = []
        self.datacenters: tuple[str, ...] = ()
        self.compactions = 0  # times the ids ran out (`_compact`)
        self.rescaled = 0  # what new entries get as theirs (LdnsEntry.rescaled)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, address: IPAddress) -> bool:
        return key_of(address) in self._entries

    def get(self, address: IPAddress) -> LdnsEntry | None:
        return self._entries.get(key_of(address))

    def get_key(self, key: int) -> LdnsEntry | None:
        """`get` by the table's int key (`key_of`), as the hot path offers it."""
        return self._entries.get(key)

    def items(self) -> Iterator[tuple[IPAddress, LdnsEntry]]:
        for key, entry in self._entries.items():
            yield address_of(key), entry

    def add(self, address: IPAddress, target: IPAddress | None, now: float) -> LdnsEntry:
        """The entry of `address`, created if new (evicting the least recently seen)."""
        return self.add_key(key_of(address), None if target == address else target, now)

    def add_key(self, key: int, target: IPAddress | None, now: float) -> LdnsEntry:
        """`add` by the table's int key; `target` None when it is the key itself."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = LdnsEntry(target, now, self.rescaled)
            # Two out per one in: a lowered max_entries is reached a little at
            # a time (and by `expire`), never by one walk of the table.
            for _ in range(2):
                if len(self._entries) <= self.max_entries:
                    break
                old = next(iter(self._entries))
                del self._entries[old]
                self._dirty.add(old)
                self.evicted += 1
        return entry

    def seen(self, address: IPAddress, now: float, count: int = 1) -> LdnsEntry | None:
        """A known LDNS queried `count` times: last seen, query count, recency."""
        return self.seen_key(key_of(address), now, count)

    def seen_key(self, key: int, now: float, count: int = 1) -> LdnsEntry | None:
        """`seen` by the table's int key (`key_of`), as the responder reports it."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.last_seen = max(entry.last_seen, now)
            entry.queries += count
            self._entries.move_to_end(key)
        return entry

    def record(
        self,
        address: IPAddress,
        datacenter: int,
        *,
        rtt_us: int | None,
        hops: int = 0,
        protocol: str = "",
        now: float,
    ) -> None:
        """One probe round of one path: answered (`rtt_us`) or not (None)."""
        key = key_of(address)
        entry = self._entries.get(key)
        names = self.datacenters
        if entry is None or (datacenter < len(names) and not names[datacenter]):
            return  # evicted or expired while the probe was out, or its data center removed
        records = self._held(entry)
        old = records.get(datacenter)
        at = int(now)
        if rtt_us is None:
            if old is None:
                new = PathRecord(datacenter, 0, 0, 0, at, 1, 0, "")
            else:
                rate = old.completion_rate - _third(old.completion_rate)
                new = dataclasses.replace(
                    old, completion_rate=rate, probed_at=at, failures=old.failures + 1
                )
        else:
            sample = max(rtt_us, 1)
            if old is None:
                (rtt, pending), rate = (sample, 0), FULL
            else:
                level = old.rtt_us if old.measured_at else 0
                rtt, pending = settle(level, old.pending_us, sample)
                rate = old.completion_rate + _third(FULL - old.completion_rate)
            new = PathRecord(datacenter, rtt, rate, at, at, 0, hops, protocol, pending)
            entry.protocol = protocol
        records[datacenter] = new
        entry.paths = _pack(list(records.values()))
        self._dirty.add(key)
        if self.recorded is not None:
            self.recorded.add((key, datacenter))

    def merge(
        self, address: IPAddress, target: IPAddress | None, path: PathRecord, now: float
    ) -> bool:
        """A path measured by another node of the sync group; the entry is
        created if new. A round not newer than the one held (`probed_at`) is
        ignored, so this node's own paths coming back from the bus do not
        reset what it holds beyond them (a held sample); whether it was taken."""
        key = key_of(address)
        return self.merge_packed(key, None if target == address else target, _pack([path]), now) > 0

    def merge_packed(self, key: int, target: IPAddress | None, packed: bytes, now: float) -> int:
        """`merge` of packed paths (`PATH` records, this node's data-center
        indices, sorted), as the sync group reads them in bulk: a new entry
        takes them as they are; how many were taken."""
        entry = self._entries.get(key)
        if entry is None:
            self.add_key(key, target, now).paths = packed
            self._dirty.add(key)
            return len(packed) // PATH.size
        # Records as they are, by data center, compared by their probe round
        # (`probed_at`) without unpacking: a path from the bus costs a few
        # slices. A removed data center's go (as `_held`).
        names, size = self.datacenters, PATH.size
        count, old = len(names), entry.paths
        held: dict[int, bytes] = {}
        for at in range(0, len(old), size):
            dc = old[at] | old[at + 1] << 8
            if dc >= count or names[dc]:
                held[dc] = old[at : at + size]
        taken = 0
        for at in range(0, len(packed), size):
            dc = packed[at] | packed[at + 1] << 8
            current = held.get(dc)
            if current is None or _probed_at(current, 0) < _probed_at(packed, at):
                held[dc] = packed[at : at + size]
                taken += 1
        if taken:
            entry.paths = b"".join([held[dc] for dc in sorted(held)])
            self._dirty.add(key)
        return taken

    def forget(self, key: int, datacenter: int) -> bool:
        """A path withdrawn by its writer (its LDNS expired there): dropped,
        and the entry with it when no path is left and it was never queried
        here; whether a path was held."""
        entry = self._entries.get(key)
        if entry is None:
            return False
        kept = [r for r in PATH.iter_unpack(entry.paths) if r[0] != datacenter]
        if len(kept) * PATH.size == len(entry.paths):
            return False
        if kept or entry.queries:
            entry.paths = b"".join(PATH.pack(*r) for r in kept)
        else:
            del self._entries[key]
        self._dirty.add(key)
        return True

    def _held(self, entry: LdnsEntry) -> dict[int, PathRecord]:
        """The entry's paths by data-center id, but those of removed data centers."""
        names = self.datacenters
        return {
            r.datacenter: r
            for r in unpack(entry.paths)
            if r.datacenter >= len(names) or names[r.datacenter]
        }

    def path(self, key: int, datacenter: int) -> tuple[LdnsEntry, PathRecord] | None:
        """The entry of `key` and its path from `datacenter`, if both are held."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        for r in unpack(entry.paths):
            if r.datacenter == datacenter:
                return entry, r
        return None

    def configure(self, names: Sequence[str]) -> tuple[int, ...]:
        """The ids of these data centers (the config's, in its order) in this
        table's paths; a name not seen before gets the next id, a name
        removed and added back a new one. Ids are kept for the life of the
        process, so a reload that reorders or removes data centers re-indexes
        nothing: costs the number of data centers, not the table's size. The
        paths of a removed one stay in their records, read by no snapshot
        (no candidate carries its id), and are dropped when the entry is next
        written (`record`, `merge`), saved or forgotten. After MAX_IDS ids the
        table is re-indexed once (the only reload that walks it)."""
        names = tuple(names)
        kept = set(names)
        for name in self._ids.keys() - kept:
            del self._ids[name]  # its id is retired; the name gets a new one if it returns
        if len(self._names) + len(kept - self._ids.keys()) > self.MAX_IDS:
            self._compact(names)
        for name in names:
            if name not in self._ids:
                self._ids[name] = len(self._names)
                self._names.append(name)
        ids = self._ids
        self.datacenters = tuple(n if ids.get(n) == i else "" for i, n in enumerate(self._names))
        return tuple(self._ids[name] for name in names)

    def _compact(self, names: tuple[str, ...]) -> None:
        """Ids run out: these names become ids 0.., every path is re-indexed
        (those of other data centers dropped), on the event loop."""
        log.warning("ldns_table: data center ids re-indexed entries=%d", len(self._entries))
        index = {name: i for i, name in enumerate(names)}
        moved = {self._ids[n]: index[n] for n in names if n in self._ids}
        for key, entry in self._entries.items():
            entry.paths = _pack(
                [
                    dataclasses.replace(r, datacenter=to)
                    for r in unpack(entry.paths)
                    if (to := moved.get(r.datacenter)) is not None
                ]
            )
            self._dirty.add(key)
        if self.recorded is not None:
            self.recorded = {(k, moved[dc]) for k, dc in self.recorded if dc in moved}
        self._names = list(names)
        self._ids = index
        self.compactions += 1

    def expire(self, now: float, limit: int = EXPIRE_STEP) -> int:
        """Forget LDNS not seen for `ldns_ttl` seconds, and the least recently
        seen beyond `max_entries` (lowered by a reload); how many were. At
        most `limit` a call: the caller (the scheduler's tick, every second)
        comes back for the rest, so an old file loaded at start-up or a
        shorter `ldns_ttl` does not hold the event loop for the whole table
        at once (bench/README.md, "Answers while the control plane works")."""
        oldest = now - self.ldns_ttl
        entries = self._entries
        gone = 0
        while entries and gone < limit:
            key, entry = next(iter(entries.items()))
            if len(entries) > self.max_entries:
                self.evicted += 1
            elif entry.last_seen >= oldest:
                break
            elif self.recorded is not None and entry.queries:
                # Queried here and no more: the sync group withdraws the
                # paths this node wrote (gslb/sync/paths.py).
                self.recorded.update((key, r[0]) for r in PATH.iter_unpack(entry.paths))
            del entries[key]
            self._dirty.add(key)
            gone += 1
        return gone

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    def view(self) -> FrozenView:
        """The view with every change so far; cheap when nothing changed.
        Bounded however big the table (gslb/layers.py); while `folding`, the
        caller is to call `fold_step` with turns of the loop between."""
        if not self._dirty:
            return self._published.view
        get = self._entries.get
        changes = {key: (e.paths if (e := get(key)) is not None else b"") for key in self._dirty}
        self._dirty.clear()
        return self._published.publish(changes)

    @property
    def folding(self) -> bool:
        """A new base of the view is being made a step at a time."""
        return self._published.folding

    def fold_step(self) -> FrozenView | None:
        """One step of the view's new base; the view with it once it is done."""
        return self._published.fold_step()

    def keys(self) -> list[int]:
        """Every key, least recently seen first: a copy made at C speed, so a
        save can walk it a slice at a time while the table changes."""
        return list(self._entries)

    def row(self, key: int, datacenters: Sequence[str]) -> list[object] | None:
        """The entry of `key` as a JSON-able row (data centers by name:
        `datacenters` by id, as `self.datacenters`; "" leaves the paths of a
        removed one out); None when it has gone meanwhile."""
        e = self._entries.get(key)
        if e is None:
            return None
        return [
            str(address_of(key)),
            None if e.target is None else str(e.target),
            e.first_seen,
            e.last_seen,
            e.queries,
            e.protocol,
            e.failures,
            [
                [
                    datacenters[r.datacenter],
                    r.rtt_us,
                    r.completion_rate,
                    r.measured_at,
                    r.probed_at,
                    r.failures,
                    r.hops,
                    r.protocol,
                    r.pending_us,
                ]
                for r in unpack(e.paths)
                if r.datacenter < len(datacenters) and datacenters[r.datacenter]
            ],
        ]

    def rows(self, datacenters: Sequence[str]) -> list[list[object]]:
        """Every entry as a JSON-able row, for `save`."""
        return [row for key in self._entries if (row := self.row(key, datacenters)) is not None]

    def restore(self, rows: Iterable[Sequence[Any]], datacenters: Sequence[str], now: float) -> int:
        """Add saved rows (as `row` makes them; least recently seen first)
        not expired by `now`; how many. A malformed row raises ValueError,
        KeyError, TypeError or AttributeError (gslb/ldnsfile.py reads them)."""
        index = {name: i for i, name in enumerate(datacenters) if name}
        loaded = 0
        for address, target, first, last, queries, protocol, failures, paths in rows:
            if last < now - self.ldns_ttl:
                continue
            ldns = ip_address(address)
            entry = self.add(ldns, ip_address(target) if target else None, first)
            entry.last_seen, entry.queries = last, queries
            entry.protocol, entry.failures = protocol, failures
            entry.paths = _pack([PathRecord(index[p[0]], *p[1:]) for p in paths if p[0] in index])
            self._dirty.add(key_of(ldns))
            loaded += 1
        return loaded
