"""Each data center's LDNS paths, written by the nodes in it, merged by all.

    $KV.gslb_paths.<datacenter>.<LDNS key, hex>  ->  one path (PATH_VALUE)

A path measured here (`LdnsTable.record` notes the key and data center) is
published at the next batch, once per batch however often it changed; with
the bus down the notes wait, so a node catches up when it comes back. A
node publishes only its own vantage points' paths, so each key of the
bucket has one writing data center (two nodes in one data center measure
the same path). Paths from the bucket go into the same table through
`LdnsTable.merge` (an older probe round than the one held is ignored), and
the hot path sees them in the next published view, as it sees its own.
A data center this node's config does not know is counted and skipped.
"""

from __future__ import annotations

import logging
import struct
from collections import Counter
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address

from gslb.model import IPAddress, address_of
from gslb.probes import PROBE_PROTOCOLS
from gslb.proximity import FrozenView, LdnsTable, PathRecord

log = logging.getLogger(__name__)
BUCKET = "gslb_paths"
VERSION = 1
# version, rtt_us, completion_rate, measured_at, probed_at, failures, hops,
# protocol (index in PROBE_PROTOCOLS + 1, 0: none); then the probe target's
# address (4 or 16 bytes) when it is not the key's own address (ECS).
PATH_VALUE = struct.Struct("<BIHIIHBB")
_PROTOCOLS = ("", *PROBE_PROTOCOLS)


def encode(path: PathRecord, target: IPAddress | None) -> bytes:
    protocol = _PROTOCOLS.index(path.protocol) if path.protocol in _PROTOCOLS else 0
    head = PATH_VALUE.pack(
        VERSION,
        path.rtt_us,
        path.completion_rate,
        path.measured_at,
        path.probed_at,
        path.failures,
        path.hops,
        protocol,
    )
    return head if target is None else head + target.packed


def decode(value: bytes, datacenter: int) -> tuple[PathRecord, IPAddress | None]:
    """The path (for this node's id of its data center) and the probe target."""
    version, rtt, rate, measured, probed, failures, hops, protocol = PATH_VALUE.unpack_from(value)
    if version != VERSION:
        raise ValueError(f"path value version {version}")
    rest = value[PATH_VALUE.size :]
    target: IPAddress | None = None
    if len(rest) == 4:
        target = IPv4Address(rest)
    elif len(rest) == 16:
        target = IPv6Address(rest)
    elif rest:
        raise ValueError(f"path value of {len(value)} bytes")
    name = _PROTOCOLS[protocol] if protocol < len(_PROTOCOLS) else ""
    return PathRecord(datacenter, rtt, rate, measured, probed, failures, hops, name), target


class PathReplica:
    def __init__(
        self,
        table: LdnsTable,
        datacenters: Callable[[], tuple[str, ...]],
        clock: Callable[[], float],
    ) -> None:
        self.table = table
        self.datacenters = datacenters  # names by data-center id ("": removed; LdnsTable)
        self.clock = clock
        self.counts: Counter[str] = Counter()  # published, merged, older, unknown_dc, bad
        self._index: tuple[tuple[str, ...], dict[str, int]] = ((), {})
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

    def batch(self) -> list[tuple[str, bytes]]:
        """(subject, value) of every path measured here since the last batch."""
        recorded = self.table.recorded
        if not recorded:
            return []
        self.table.recorded = set()
        names = self.datacenters()
        out = []
        for key, dc in recorded:
            held = self.table.path(key, dc)
            if held is None or dc >= len(names) or not names[dc]:
                continue  # evicted, or its data center removed by a reload
            entry, path = held
            subject = f"$KV.{BUCKET}.{names[dc]}.{key:x}"
            out.append((subject, encode(path, entry.target)))
        self.counts["published"] += len(out)
        return out

    def unsent(self, batch: list[tuple[str, bytes]]) -> None:
        """A batch the bus did not take: its paths go out with the next one."""
        index = self.index()
        assert self.table.recorded is not None
        for subject, _ in batch:
            _, _, dc, key = subject.rsplit(".", 3)
            if dc in index:
                self.table.recorded.add((int(key, 16), index[dc]))
        self.counts["published"] -= len(batch)

    def take(self, key: str, value: bytes, deleted: bool) -> None:
        """One message of the bucket: `<datacenter>.<LDNS key>`."""
        if deleted:
            return  # a path stays until its LDNS expires here
        name, _, hex_key = key.partition(".")
        index = self.index().get(name)
        if index is None:
            self.counts["unknown_dc"] += 1
            return
        try:
            address = address_of(int(hex_key, 16))
            path, target = decode(value, index)
        except (ValueError, struct.error):
            self.counts["bad"] += 1
            return
        if self.table.merge(address, target, path, self.clock()):
            self.counts["merged"] += 1
        else:
            self.counts["older"] += 1

    def view(self) -> FrozenView | None:
        """A new view when paths were merged since the last one."""
        return self.table.view() if self.table.dirty else None
