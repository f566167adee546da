"""A checkpoint of the group's paths: how a new node loads them in seconds.

The paths bucket (gslb/sync/paths.py) holds every bundle of paths written
within its max age (two hours by default): replaying it all would re-merge
every path many times over (and nodes of older versions wrote one message
per path: a million LDNS x 2 data centers took 29 s, most of it the
client's cost per message). So every node also writes, now and then, its
whole table's paths (every data center's, its own and those merged from
the bus) as one object of the `gslb_checkpoints` object store, named after
the node, with the paths bucket's stream sequence it had read up to when it
began (its revision). A node starting with an empty table (a new node, or
one restarted without its state file) loads the checkpoint with the highest
revision, then reads the paths bucket from that revision on: every path
written since is there (a checkpoint is written within `checkpoint_age`
of any change, the bucket keeps twice that), and `LdnsTable.merge_packed`
keeps the newest probe round whichever arrives first, so the two may be
merged in any order; a withdrawal read meanwhile is remembered so that the
merge does not bring its path back (`Checkpoints.withdrawn`). The
checkpoint is merged a slice at a time, the queries' turn between two.

A node that has read the bucket up to date writes its checkpoint when the
bucket took `[sync] checkpoint_changes` paths (or as many as its table holds
LDNS, if more) since the last one it wrote or loaded, or `checkpoint_age` seconds
went by with any; each node writes its own object (a reader takes the
newest), so a lost node loses no checkpoint.

    checkpoint := version u8 (1), revision u64, data-center count u8,
                  that many (name length u8, name UTF-8), then per LDNS:
    record     := flags u8 (bit 0: IPv6 key, bit 1: IPv4 target,
                  bit 2: IPv6 target), key (4 or 16 bytes, big-endian),
                  target (0, 4 or 16 bytes), path count u8, that many
                  table records (`proximity.PATH`, data centers by their
                  index in the name list above, protocol by stable code)

All integers but the addresses little-endian, as `PATH`.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any

from nats.js.api import ObjectMeta, ObjectStoreConfig
from nats.js.errors import BucketNotFoundError, NotFoundError

from gslb.model import V6, IPAddress, SyncSettings
from gslb.proximity import PATH, LdnsTable

if TYPE_CHECKING:
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)
STORE = "gslb_checkpoints"
VERSION = 1
HEADER = struct.Struct("<BQB")  # version, revision, data-center count
SLICE = 1024  # LDNS merged between two turns of the event loop
ENCODE_SLICE = 512  # LDNS encoded a turn when writing: 0.4 ms, about 0.9 under load
_V6_KEY, _V4_TARGET, _V6_TARGET = 1, 2, 4
_LOW = V6 - 1


def meta(name: str, revision: int, stream: str, ldns: int) -> ObjectMeta:
    """A checkpoint object's name and description: what a reader picks it by."""
    description = json.dumps({"revision": revision, "stream": stream, "ldns": ldns})
    return ObjectMeta(name=name, description=description)


class Entry:
    """One LDNS of a checkpoint: its key, probe target and packed paths."""

    __slots__ = ("key", "packed", "target")

    def __init__(self, key: int, target: IPAddress | None, packed: bytes) -> None:
        self.key, self.target, self.packed = key, target, packed


def header(revision: int, names: Iterable[str]) -> bytes:
    encoded = [name.encode() for name in names]
    out = HEADER.pack(VERSION, revision, len(encoded))
    return out + b"".join(bytes((len(n),)) + n for n in encoded)


def record(key: int, target: IPAddress | None, packed: bytes) -> bytes:
    """One LDNS: `packed` is its table entry's paths (`LdnsEntry.paths`)."""
    out = bytearray()
    _record(out, key, target, packed, {})
    return bytes(out)


def encode(out: bytearray, table: LdnsTable, keys: Iterable[int]) -> int:
    """The records of these keys' entries with paths, added to `out`; how
    many. A probe target's bytes are made once, not per LDNS (most LDNS share
    a handful of targets)."""
    targets: _Targets = {}
    get, count = table.get_key, 0
    for key in keys:
        entry = get(key)
        if entry is not None and entry.paths:
            _record(out, key, entry.target, entry.paths, targets)
            count += 1
    return count


_Targets = dict[IPAddress, tuple[int, bytes]]  # target -> its flag and bytes


def _record(
    out: bytearray, key: int, target: IPAddress | None, packed: bytes, targets: _Targets
) -> None:
    flag, address = 0, b""
    if target is not None:
        head = targets.get(target)
        if head is None:
            kind = _V6_TARGET if target.version == 6 else _V4_TARGET
            head = targets[target] = (kind, target.packed)
        flag, address = head
    if key & V6:
        out.append(flag | _V6_KEY)
        out += (key & _LOW).to_bytes(16, "big")
    else:
        out.append(flag)
        out += key.to_bytes(4, "big")
    out += address
    out.append(len(packed) // PATH.size)
    out += packed


def read(data: bytes) -> tuple[int, tuple[str, ...], int]:
    """The revision, the data-center names and where the records start."""
    version, revision, count = HEADER.unpack_from(data)
    if version != VERSION:
        raise ValueError(f"checkpoint version {version}")
    at, names = HEADER.size, []
    for _ in range(count):
        size = data[at]
        names.append(data[at + 1 : at + 1 + size].decode())
        at += 1 + size
    return revision, tuple(names), at


def records(data: bytes, at: int) -> Iterator[Entry]:
    """The LDNS of a checkpoint, from `at` (after its header) on; a truncated
    one raises ValueError."""
    end, size = len(data), PATH.size
    while at < end:
        flags = data[at]
        if flags & _V6_KEY:
            key = int.from_bytes(data[at + 1 : at + 17], "big") | V6
            at += 17
        else:
            key = int.from_bytes(data[at + 1 : at + 5], "big")
            at += 5
        target: IPAddress | None = None
        if flags & _V4_TARGET:
            target = IPv4Address(data[at : at + 4])
            at += 4
        elif flags & _V6_TARGET:
            target = IPv6Address(data[at : at + 16])
            at += 16
        length = data[at] * size
        packed = data[at + 1 : at + 1 + length]
        at += 1 + length
        if len(packed) != length:
            raise ValueError("checkpoint truncated")
        yield Entry(key, target, packed)


def remap(packed: bytes, moved: dict[int, int]) -> bytes:
    """A record's paths with the writer's data-center indices made this
    node's (`moved`); paths of a data center this node does not know dropped."""
    paths = sorted((moved[r[0]], *r[1:]) for r in PATH.iter_unpack(packed) if r[0] in moved)
    return b"".join(PATH.pack(*r) for r in paths)


class Checkpoints:
    """This node's checkpoints: written to the store, the newest loaded at start."""

    def __init__(
        self,
        settings: SyncSettings,
        table: LdnsTable,
        datacenters: Callable[[], tuple[str, ...]],
        clock: Callable[[], float],
        counts: Counter[str] | None = None,
    ) -> None:
        self.settings, self.table, self.datacenters, self.clock = (
            settings,
            table,
            datacenters,
            clock,
        )
        # checkpoint_: written, loaded, ldns, merged, unknown_dc, withdrawn
        self.counts: Counter[str] = Counter() if counts is None else counts
        # (key, data center) withdrawn from the bucket while a checkpoint
        # merges: its record of them is older, and is not taken (`withdrawn`).
        self._withdrawn: set[tuple[int, int]] = set()
        self.revision = 0  # of the last checkpoint written (or loaded)
        self.paths_at = 0  # paths written to the bucket when the last one was written
        self.written = time.monotonic()  # of the last one written (or of the start)
        self.loading: asyncio.Task[None] | None = None

    async def store(self, js: JetStreamContext) -> Any:
        try:
            return await js.object_store(STORE)
        except BucketNotFoundError:
            config = ObjectStoreConfig(replicas=self.settings.replicas)
            return await js.create_object_store(STORE, config=config)

    # -- the reading side -------------------------------------------------------

    async def load(self, js: JetStreamContext, stream: str) -> int:
        """Fetch the newest checkpoint made against the paths bucket's stream
        `stream` (its creation time) and merge it in the background; its
        revision (0: none)."""
        started = time.monotonic()
        store = await self.store(js)
        try:
            infos = await store.list(ignore_deletes=True)
        except NotFoundError:
            return 0
        best: tuple[int, str] = (0, "")
        for info in infos:
            try:
                meta = json.loads(info.description or "{}")
            except ValueError:
                continue
            if meta.get("stream") == stream and meta.get("revision", 0) > best[0]:
                best = (int(meta["revision"]), info.name)
        if not best[0]:
            return 0
        chunks = _Chunks()
        await store.get(best[1], writeinto=chunks)
        data = b"".join(chunks.parts)
        revision, names, at = read(data)
        log.info(
            "sync: checkpoint fetched from=%s revision=%d bytes=%d seconds=%.3f",
            best[1],
            revision,
            len(data),
            time.monotonic() - started,
        )
        self.revision = revision
        self.loading = asyncio.create_task(self.merge(data, names, at, started))
        return revision

    def withdrawn(self, key: int, datacenter: int) -> None:
        """A path withdrawn from the bucket (PathReplica): a newest probe
        round wins whichever comes first, but a withdrawal read before the
        merge reaches its LDNS would find nothing to drop, and the merge
        would bring the path back; so the merge leaves it out."""
        if self.loading is not None and not self.loading.done():
            self._withdrawn.add((key, datacenter))

    def _without_withdrawn(self, key: int, packed: bytes) -> bytes:
        gone = self._withdrawn
        return b"".join(
            packed[at : at + PATH.size]
            for at in range(0, len(packed), PATH.size)
            if (key, PATH.unpack_from(packed, at)[0]) not in gone
        )

    async def merge(self, data: bytes, names: tuple[str, ...], at: int, started: float) -> None:
        index = {name: i for i, name in enumerate(self.datacenters()) if name}
        moved = {i: index[name] for i, name in enumerate(names) if name in index}
        same = all(moved.get(i) == i for i in range(len(names)))
        self.counts["checkpoint_unknown_dc"] += len(names) - len(moved)
        merge, now, ldns = self.table.merge_packed, self.clock(), 0
        # A million new entries, no cycles among them: the cyclic collector
        # would walk the growing table again and again (a query waiting
        # hundreds of ms); after, they are set aside as a state file's are at
        # start-up (gslb/server/app.py).
        gc.disable()
        try:
            for ldns, entry in enumerate(records(data, at), 1):
                packed = entry.packed if same else remap(entry.packed, moved)
                if self._withdrawn:
                    packed = self._without_withdrawn(entry.key, packed)
                if packed:
                    self.counts["checkpoint_merged"] += merge(entry.key, entry.target, packed, now)
                if ldns % SLICE == 0:
                    await asyncio.sleep(0)  # the queries' turn
        except ValueError as exc:
            log.warning("sync: checkpoint bad after ldns=%d error=%s", ldns, exc)
        finally:
            gc.enable()
            gc.freeze()
            self._withdrawn.clear()
        self.counts["checkpoint_loaded"] += 1
        self.counts["checkpoint_ldns"] += ldns
        log.info(
            "sync: checkpoint loaded ldns=%d paths=%d seconds=%.3f",
            ldns,
            self.counts["checkpoint_merged"],
            time.monotonic() - started,
        )

    # -- the writing side -------------------------------------------------------

    def due(self, last: int) -> bool:
        """Whether a checkpoint is due, the paths feed having read up to `last`."""
        if last <= self.revision or (self.loading is not None and not self.loading.done()):
            return False
        # Paths, not messages: a node's batch of paths is one message (a bundle).
        # At least as many as the table holds LDNS: writing a checkpoint costs
        # about 0.8 µs an LDNS, so each path written costs at most that much
        # more (a quarter of the table cost four times as much a path, more
        # than reading and merging it), and a reader replays at most as many
        # paths after it as it loads LDNS from it.
        if self.paths() - self.paths_at >= max(self.settings.checkpoint_changes, len(self.table)):
            return True
        return time.monotonic() - self.written >= self.settings.checkpoint_age

    def paths(self) -> int:
        """Paths written to the bucket (here, or read from it) since the start."""
        return self.counts["published"] + self.counts["read"]

    async def write(self, js: JetStreamContext, revision: int, stream: str) -> None:
        """This node's table as its checkpoint, the paths feed having read up
        to `revision` of the bucket's stream `stream` when it began."""
        started, paths = time.monotonic(), self.paths()
        out = bytearray(header(revision, self.datacenters()))
        keys, ldns = self.table.keys(), 0
        for at in range(0, len(keys), ENCODE_SLICE):
            ldns += encode(out, self.table, keys[at : at + ENCODE_SLICE])
            await asyncio.sleep(0)
        data = bytes(out)
        del out, keys
        store = await self.store(js)
        node = self.settings.node
        await store.put(node, data, meta=meta(node, revision, stream, ldns))
        self.revision, self.written, self.paths_at = revision, time.monotonic(), paths
        self.counts["checkpoint_written"] += 1
        log.info(
            "sync: checkpoint written ldns=%d bytes=%d revision=%d seconds=%.3f",
            ldns,
            len(data),
            revision,
            time.monotonic() - started,
        )


class _Chunks:
    """What nats-py's object store writes a fetched object into (in a thread)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)
