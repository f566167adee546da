"""Each data center's LDNS paths, written by the nodes in it, merged by all.

    $KV.gslb_paths.<datacenter>._<writer>-<n>  ->  a bundle: many paths (below)
    $KV.gslb_paths.<datacenter>.<LDNS key, hex>  ->  one path (still read)

A path measured here (`LdnsTable.record` notes the key and data center) is
published at the next batch, once per batch however often it changed, in
one bundle per data center and batch (at most PER_BUNDLE paths a message):
a message costs the reading nodes' NATS client about 10 µs whatever its
size, a path in a bundle 2. Each bundle has its own key (this process's
random writer id and a count), kept for the bucket's max age
(`retention`), so the bucket holds each writer's bundles in order, and a
reader replays them: a later one's path is a newer probe round, a
withdrawn path a later withdrawal. A node skips its own bundles coming
back (its table has them). With
the bus down the notes wait, so a node catches up when it comes back. A
node publishes only its own vantage points' paths, so each key of the
bucket has one writing data center (two nodes in one data center measure
the same path). Paths from the bucket go into the same table through
`LdnsTable.merge_packed` (an older probe round than the one held is
ignored), and the hot path sees them in the next published view, as it sees
its own. A data center this node's config does not know is counted and
skipped. A new node does not read the bucket from its start: it loads the
newest checkpoint of the group's paths first (gslb/sync/checkpoint.py).

A withdrawn path (in a bundle, or a delete of a one-path key) withdraws it: its writer expired the
LDNS (not queried there for `ldns_ttl`; only an LDNS queried at the writer,
so a node probing on request never withdraws what others still use). Every
other node drops that data center's path, and the entry with it when it
holds no path and was never queried there; a node measuring from that data
center itself keeps its own path (another node of the DC may still serve
the LDNS; its next probe writes the key again).

A value is the table's own record (`proximity.PATH`) without its
data-center index (the key names the DC), after a version byte, then the
probe target's address (4 or 16 bytes) when it is not the key's own address
(ECS). The protocol byte is the prober's stable code (`PROTOCOL_CODES`).
Version 1 (no held sample, 20 bytes) is still read. A bundle is a version
byte 3, then per path: a length byte and the LDNS key (big-endian), a
length byte and the path's value as above (0: withdrawn).
"""

from __future__ import annotations

import itertools
import logging
import os
import struct
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from ipaddress import IPv4Address, IPv6Address

from gslb.model import IPAddress
from gslb.proximity import PATH, FrozenView, LdnsTable

log = logging.getLogger(__name__)
BUCKET = "gslb_paths"
VERSION = 2
DATACENTER = struct.Struct("<H")  # the table record's first field
if not PATH.format.startswith("<H"):
    raise ImportError("proximity.PATH no longer starts with its data-center index")
RECORD = PATH.size - DATACENTER.size  # a value's record: the table's, less the index
# Version 1: version, rtt_us, completion_rate, measured_at, probed_at,
# failures, hops, protocol code; no held sample.
V1 = struct.Struct("<BIHIIHBB")
BUNDLE = 3  # the version byte of a bundle of paths
MIN_KEEP = 3600.0  # seconds the bucket keeps a message at the least (`retention`)
PER_BUNDLE = 2048  # paths in one message at most (about 100 KB with ECS targets)

Outgoing = list[tuple[int, int, bytes | None]]  # (data center id, LDNS key, value; None: withdrawn)


def encode(record: bytes, target: IPAddress | None) -> bytes:
    """The value of one table record (`PATH`, with its data-center index)."""
    value = bytes((VERSION,)) + record[DATACENTER.size : PATH.size]
    return value if target is None else value + target.packed


def decode(value: bytes, datacenter: int) -> tuple[bytes, IPAddress | None]:
    """The table record (for this node's index of its data center) and the
    probe target."""
    version = value[0] if value else -1
    if version == VERSION:
        record = DATACENTER.pack(datacenter) + value[1 : 1 + RECORD]
        rest = value[1 + RECORD :]
        if len(record) != PATH.size:
            raise ValueError(f"path value of {len(value)} bytes")
    elif version == 1:
        _, *fields = V1.unpack_from(value)
        record = PATH.pack(datacenter, *fields, 0)
        rest = value[V1.size :]
    else:
        raise ValueError(f"path value version {version}")
    if not rest:
        return record, None
    if len(rest) == 4:
        return record, IPv4Address(rest)
    if len(rest) == 16:
        return record, IPv6Address(rest)
    raise ValueError(f"path value of {len(value)} bytes")


def retention(ldns_ttl: float, interval: float, checkpoint_age: float) -> float:
    """Seconds the bucket keeps a message (its `max_age`). Bundles have keys
    of their own, so the bucket holds every one it keeps: kept as long as an
    LDNS (28 days by default) they would pile up without bound. A new node
    needs only what came after the newest checkpoint (written within
    `checkpoint_age` of any path read or written), and every LDNS still
    queried is probed again, so written again, within `interval`: twice the
    longer of the two is enough, and an LDNS's own `ldns_ttl` if shorter."""
    return min(ldns_ttl, max(2 * checkpoint_age, 2 * interval, MIN_KEEP))


def bundle(paths: list[tuple[int, bytes | None]]) -> bytes:
    """One message of (LDNS key, value or None: withdrawn) paths of one data center."""
    out = bytearray((BUNDLE,))
    for key, value in paths:
        packed = key.to_bytes((key.bit_length() + 7) // 8 or 1, "big")
        out.append(len(packed))
        out += packed
        if value is None:
            out.append(0)
        else:
            out.append(len(value))
            out += value
    return bytes(out)


def unbundle(payload: bytes) -> Iterator[tuple[int, bytes | None]]:
    """The (LDNS key, value or None) paths of a bundle; ValueError if it is cut."""
    if not payload or payload[0] != BUNDLE:
        raise ValueError(f"bundle version {payload[0] if payload else -1}")
    at, end = 1, len(payload)
    while at < end:
        size = payload[at]
        key = int.from_bytes(payload[at + 1 : at + 1 + size], "big")
        at += 1 + size
        if at >= end:
            raise ValueError("bundle cut after a key")
        size = payload[at]
        at += 1 + size
        if at > end:
            raise ValueError("bundle cut in a value")
        yield key, (payload[at - size : at] if size else None)


def find(packed: bytes, datacenter: int) -> bytes | None:
    """The record of `datacenter` in an entry's packed paths."""
    for at in range(0, len(packed), PATH.size):
        if DATACENTER.unpack_from(packed, at)[0] == datacenter:
            return packed[at : at + PATH.size]
    return None


class PathReplica:
    def __init__(
        self,
        table: LdnsTable,
        datacenters: Callable[[], tuple[str, ...]],
        clock: Callable[[], float],
        own: Callable[[], Collection[int]] = tuple,
    ) -> None:
        self.table = table
        self.datacenters = datacenters  # names by data-center id ("": removed; LdnsTable)
        self.clock = clock
        self.own = own  # the indices of the data centers this node probes from
        # published, withdrawn_sent, read, merged, older, withdrawn, unknown_dc, bad
        self.counts: Counter[str] = Counter()
        self._index: tuple[tuple[str, ...], dict[str, int]] = ((), {})
        self.writer = os.urandom(4).hex()  # this process's bundles: "_<writer>-<n>"
        # Told of each path withdrawn here (a checkpoint merging: Checkpoints.withdrawn).
        self.on_withdrawn: Callable[[int, int], None] | None = None
        self._bundles = itertools.count()
        table.recorded = set()

    def index(self) -> dict[str, int]:
        """Data center name -> this node's id of it, remade when a reload changed them."""
        names = self.datacenters()
        if names is not self._index[0]:
            self._index = (names, {name: i for i, name in enumerate(names) if name})
        return self._index[1]

    @property
    def waiting(self) -> int:
        """Paths measured here not yet published."""
        return len(self.table.recorded or ())

    def batch(self, most: int | None = None) -> Outgoing:
        """(data center id, LDNS key, value) of every path measured here since
        the last batch, or of `most` of them (the others wait for the next);
        value None: withdrawn (the LDNS expired here, see the module's doc)."""
        recorded = self.table.recorded
        if not recorded:
            return []
        if most is None or most >= len(recorded):
            self.table.recorded = set()
        else:
            taken = set(itertools.islice(recorded, most))
            recorded -= taken  # the same set: the others wait in the table
            recorded = taken
        names = self.datacenters()
        own = self.own()
        out: Outgoing = []
        for key, dc in recorded:
            if dc >= len(names) or not names[dc]:
                continue  # its data center removed by a reload
            entry = self.table.get_key(key)
            record = None if entry is None else find(entry.paths, dc)
            if entry is not None and record is not None:
                out.append((dc, key, encode(record, entry.target)))
            elif dc in own and entry is None:
                out.append((dc, key, None))  # expired here
                self.counts["withdrawn_sent"] += 1
        self.counts["published"] += len(out)
        return out

    def bundles(self, batch: Outgoing) -> list[tuple[str, bytes, Outgoing]]:
        """A batch as messages: (subject, bundle, the part of the batch in it),
        one a data center and PER_BUNDLE paths."""
        by_dc: dict[int, Outgoing] = {}
        for path in batch:
            by_dc.setdefault(path[0], []).append(path)
        names = self.datacenters()
        out = []
        for dc, part in by_dc.items():
            for at in range(0, len(part), PER_BUNDLE):
                chunk = part[at : at + PER_BUNDLE]
                subject = f"$KV.{BUCKET}.{names[dc]}._{self.writer}-{next(self._bundles):x}"
                out.append((subject, bundle([(key, value) for _, key, value in chunk]), chunk))
        return out

    def take(self, key: str, value: bytes, deleted: bool) -> None:
        """One message of the bucket: `<datacenter>._<writer>-<n>` (a bundle)
        or `<datacenter>.<LDNS key>` (one path)."""
        name, _, rest = key.partition(".")
        index = self.index().get(name)
        if index is None:
            self.counts["unknown_dc"] += 1
            return
        if rest.startswith("_"):
            if deleted or rest[1:].partition("-")[0] == self.writer:
                return  # a bundle purged, or this process's own coming back
            try:
                self._bundle(index, value)
            except ValueError:
                self.counts["bad"] += 1
            return
        try:
            int_key = int(rest, 16)
        except ValueError:
            self.counts["bad"] += 1
            return
        self._path(index, int_key, value, deleted)

    def _bundle(self, index: int, payload: bytes) -> None:
        """The paths of a bundle, as `_path` takes each, with one reading of
        the clock and the counts added once (a bundle holds hundreds)."""
        counts, merge, now = self.counts, self.table.merge_packed, self.clock()
        read = merged = bad = 0
        try:
            for int_key, value in unbundle(payload):
                if value is None:
                    self._path(index, int_key, b"", True)
                    continue
                read += 1
                try:
                    record, target = decode(value, index)
                except (ValueError, struct.error):
                    bad += 1
                    continue
                if merge(int_key, target, record, now):
                    merged += 1
        finally:
            for name, n in (("read", read), ("merged", merged), ("bad", bad)):
                if n:
                    counts[name] += n
            if read - merged - bad:
                counts["older"] += read - merged - bad

    def _path(self, index: int, int_key: int, value: bytes, deleted: bool) -> None:
        self.counts["read"] += 1
        try:
            if deleted:
                if index not in self.own():
                    if self.table.forget(int_key, index):
                        self.counts["withdrawn"] += 1
                    if self.on_withdrawn is not None:
                        self.on_withdrawn(int_key, index)
                return
            record, target = decode(value, index)
        except (ValueError, struct.error):
            self.counts["bad"] += 1
            return
        if self.table.merge_packed(int_key, target, record, self.clock()):
            self.counts["merged"] += 1
        else:
            self.counts["older"] += 1

    def view(self) -> FrozenView | None:
        """A new view when paths were merged since the last one."""
        return self.table.view() if self.table.dirty else None
