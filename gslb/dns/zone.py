"""The served names: static zone records and wide IP names, and how a name resolves.

Built once per config. Names are keyed by their lower-cased wire form (a
length byte is never an ASCII capital, so `bytes.lower()` is exact). The
result of resolving a (name, type) is a `Resolution` of ready-made RR bytes;
only the wide IP part of an answer is decided per query.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

from gslb.model import AAAA, A, Config, Record

CNAME: Final = 5
NS: Final = 2
SOA: Final = 6
DNAME: Final = 39
DS: Final = 43
ANY: Final = 255
NOERROR: Final = 0
FORMERR: Final = 1
SERVFAIL: Final = 2
NXDOMAIN: Final = 3
NOTIMP: Final = 4
REFUSED: Final = 5
YXDOMAIN: Final = 6
QNAME_POINTER: Final = b"\xc0\x0c"  # the question's name always starts at offset 12
MAX_CNAME_CHAIN: Final = 8


def to_wire(name: str) -> bytes:
    """`www.gslb.example.` -> b'\\x03www\\x04gslb\\x07example\\x00' (lower case)."""
    labels = [lab for lab in name.lower().rstrip(".").split(".") if lab]
    return b"".join(bytes([len(lab)]) + lab.encode() for lab in labels) + b"\x00"


def parent(wire: bytes) -> bytes:
    return wire[wire[0] + 1 :]


def rr(owner: bytes, rtype: int, ttl: int, rdata: bytes) -> bytes:
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


@dataclass(frozen=True, slots=True)
class Resolution:
    """What the static data says for one (name, type); RRs encoded for the wire."""

    rcode: int = NOERROR
    aa: bool = True
    answer: tuple[bytes, ...] = ()
    authority: tuple[bytes, ...] = ()
    additional: tuple[bytes, ...] = ()
    # A wide IP reached by the name (or its CNAME chain): its index, and the
    # owner to use for its RRs. The per-query decision appends to `answer`.
    wideip: int = -1
    wideip_owner: bytes = QNAME_POINTER
    zone: int = -1


REFUSED_RESOLUTION = Resolution(rcode=REFUSED, aa=False)


@dataclass(slots=True)
class _Node:
    rrsets: dict[int, list[Record]] = field(default_factory=dict)
    wideip: int = -1


class ZoneIndex:
    def __init__(self, config: Config) -> None:
        self._apex = [to_wire(z.origin) for z in config.zones]
        self.origins: dict[bytes, int] = {w: i for i, w in enumerate(self._apex)}
        self._nodes: dict[bytes, _Node] = {}
        self._exists: set[bytes] = set()  # names and empty non-terminals
        self._cuts: set[bytes] = set()  # delegation points below an apex
        self._dnames: set[bytes] = set()  # owners of a DNAME
        self._wild_wideips: dict[bytes, int] = {}  # parent of "*." alias -> wide IP
        self._soa: dict[int, bytes] = {}  # zone -> SOA RR for negative answers
        self._memo: dict[tuple[bytes, int, bool], Resolution] = {}
        self.memo_limit = 50_000
        for z in config.zones:
            for rec in z.records:
                node = self._node(to_wire(rec.name))
                node.rrsets.setdefault(rec.rtype, []).append(rec)
                if rec.rtype == NS and rec.name != z.origin:
                    self._cuts.add(to_wire(rec.name))
                elif rec.rtype == DNAME:
                    self._dnames.add(to_wire(rec.name))
        for i, w in enumerate(config.wideips):
            for name in (w.name, *w.aliases):
                if name.startswith("*."):
                    self._wild_wideips[to_wire(name[2:])] = i
                    # `*.app` exists, so `app` is an empty non-terminal
                    # (RFC 4592 §2.2.2): NODATA, not NXDOMAIN.
                    self._mark_exists(to_wire(name[2:]))
                else:
                    self._node(to_wire(name)).wideip = i
        for zi, z in enumerate(config.zones):
            apex = self._nodes.get(to_wire(z.origin))
            if apex and SOA in apex.rrsets:
                soa = apex.rrsets[SOA][0]
                minimum = struct.unpack("!I", soa.rdata[-4:])[0]
                self._soa[zi] = rr(to_wire(z.origin), SOA, min(soa.ttl, minimum), soa.rdata)

    def _node(self, wire: bytes) -> _Node:
        node = self._nodes.get(wire)
        if node is None:
            node = self._nodes[wire] = _Node()
            self._mark_exists(wire)
        return node

    def _mark_exists(self, wire: bytes) -> None:
        name = wire
        while name and name not in self._exists:
            self._exists.add(name)
            name = parent(name)

    def zone_of(self, wire: bytes) -> int:
        name = wire
        while True:
            zi = self.origins.get(name)
            if zi is not None:
                return zi
            if name == b"\x00":
                return -1
            name = parent(name)

    def resolve(self, qname: bytes, qtype: int, *, wideips: bool = True) -> Resolution:
        """Resolution of a lower-cased wire name; memoised, bounded.

        With `wideips` False (`return_to_dns`) wide IPs are ignored: the name
        answers from its static records only.
        """
        key = (qname, qtype, wideips)
        res = self._memo.get(key)
        if res is None:
            res = self._resolve(qname, qtype, wideips)
            if len(self._memo) >= self.memo_limit:
                self._memo.clear()
            self._memo[key] = res
        return res

    def _resolve(self, qname: bytes, qtype: int, wideips: bool) -> Resolution:
        zi = self.zone_of(qname)
        if zi < 0:
            return REFUSED_RESOLUTION
        answer: list[bytes] = []
        name, owner = qname, QNAME_POINTER
        dynamic = (A, AAAA, ANY) if wideips else ()
        for _ in range(MAX_CNAME_CHAIN):
            cut = self._cut_above(name, zi)
            if cut is not None and not (cut == name and qtype == DS):  # DS: the parent's
                if answer:  # a CNAME led below a cut: give what we have
                    return Resolution(answer=tuple(answer), zone=zi)
                return self._referral(cut)
            dname = self._dname_above(name, zi) if self._dnames else None
            if dname is not None:
                rewritten = self._synthesize(name, owner, dname, answer)
                if rewritten is None:
                    return Resolution(rcode=YXDOMAIN, answer=tuple(answer), zone=zi)
                zi_target = self.zone_of(rewritten)
                if qtype == CNAME or zi_target < 0:
                    return Resolution(answer=tuple(answer), zone=zi)
                name = owner = rewritten
                zi = zi_target
                continue
            node = self._nodes.get(name)
            if node is None or (not node.rrsets and node.wideip < 0):
                found = self._wildcard(name, owner, qtype in dynamic, answer, zi)
                if isinstance(found, Resolution):
                    return found
                node = found
            if node.wideip >= 0 and qtype in dynamic:
                return Resolution(
                    answer=tuple(answer), wideip=node.wideip, wideip_owner=owner, zone=zi
                )
            rrsets = node.rrsets
            if qtype == ANY and rrsets:  # RFC 8482: one RRset is enough
                qtype_here = min(rrsets)
                answer.extend(rr(owner, r.rtype, r.ttl, r.rdata) for r in rrsets[qtype_here])
                return Resolution(answer=tuple(answer), zone=zi)
            if qtype in rrsets:
                answer.extend(rr(owner, r.rtype, r.ttl, r.rdata) for r in rrsets[qtype])
                extra = self._glue(rrsets[qtype]) if qtype == NS else ()
                return Resolution(answer=tuple(answer), additional=extra, zone=zi)
            if CNAME in rrsets and qtype != CNAME:
                target = rrsets[CNAME][0]
                answer.append(rr(owner, CNAME, target.ttl, target.rdata))
                name = target.rdata.lower()
                owner = name
                zi_target = self.zone_of(name)
                if zi_target < 0:
                    return Resolution(answer=tuple(answer), zone=zi)
                zi = zi_target
                continue
            return self._negative(NOERROR, answer, zi)
        return Resolution(rcode=SERVFAIL, answer=tuple(answer), zone=zi)

    def _wildcard(
        self, name: bytes, owner: bytes, dynamic: bool, answer: list[bytes], zi: int
    ) -> Resolution | _Node:
        """For a name with no records of its own: the wildcard node that stands
        for it, or the resolution (a wildcard wide IP, NODATA, NXDOMAIN)."""
        if name in self._exists:  # an empty non-terminal: wildcards do not apply
            return self._negative(NOERROR, answer, zi)
        # RFC 4592: only the closest encloser's wildcard may match.
        encloser = self._closest_encloser(name)
        wild = self._wild_wideips.get(encloser, -1)
        if wild >= 0:
            if dynamic:
                return Resolution(answer=tuple(answer), wideip=wild, wideip_owner=owner, zone=zi)
            return self._negative(NOERROR, answer, zi)
        node = self._nodes.get(b"\x01*" + encloser)
        if node is None or not node.rrsets:
            return self._negative(NXDOMAIN, answer, zi)
        return node

    def _closest_encloser(self, name: bytes) -> bytes:
        """The longest existing ancestor of a name that does not exist."""
        while name != b"\x00":
            name = parent(name)
            if name in self._exists:
                return name
        return name

    def _synthesize(
        self, name: bytes, owner: bytes, dname: bytes, answer: list[bytes]
    ) -> bytes | None:
        """RFC 6672 §3.2: append the DNAME and the CNAME it stands for (from
        `name` to it rewritten under the DNAME's target); that new name, or
        None when it would be longer than 255 octets (YXDOMAIN)."""
        rec = self._nodes[dname].rrsets[DNAME][0]
        answer.append(rr(dname, DNAME, rec.ttl, rec.rdata))
        rewritten = name[: len(name) - len(dname)] + rec.rdata
        if len(rewritten) > 255:
            return None
        answer.append(rr(owner, CNAME, rec.ttl, rewritten))
        return rewritten.lower()

    def _dname_above(self, name: bytes, zi: int) -> bytes | None:
        """The DNAME owner strictly above `name` inside zone `zi`, if any."""
        origin_len = len(self._apex[zi])
        while len(name) > origin_len:
            name = parent(name)
            if name in self._dnames:
                return name
        return None

    def _cut_above(self, name: bytes, zi: int) -> bytes | None:
        """The delegation point at or above `name` inside zone `zi`, if any."""
        origin_len = len(self._apex[zi])
        while len(name) > origin_len:
            if name in self._cuts:
                return name
            name = parent(name)
        return None

    def _referral(self, cut: bytes) -> Resolution:
        ns = self._nodes[cut].rrsets[NS]
        return Resolution(
            aa=False,
            authority=tuple(rr(cut, NS, r.ttl, r.rdata) for r in ns),
            additional=self._glue(ns),
        )

    def _glue(self, ns_records: list[Record]) -> tuple[bytes, ...]:
        out: list[bytes] = []
        for r in ns_records:
            target = r.rdata.lower()
            node = self._nodes.get(target)
            if node is None:
                continue
            for t in (A, AAAA):
                out.extend(rr(target, t, g.ttl, g.rdata) for g in node.rrsets.get(t, ()))
        return tuple(out)

    def _negative(self, rcode: int, answer: list[bytes], zi: int) -> Resolution:
        soa = self._soa.get(zi)
        return Resolution(
            rcode=rcode, answer=tuple(answer), authority=(soa,) if soa else (), zone=zi
        )

    def negative(self, zi: int) -> Resolution:
        """NODATA for a name of zone `zi` (a wide IP with nothing to answer)."""
        return self._negative(NOERROR, [], zi)
