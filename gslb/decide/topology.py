"""The compiled topology table: LDNS address -> score per server-side object.

Records (`server,ldns,score`) are compiled once per config into two
longest-prefix trees (IPv4 and IPv6, pytricia). Every LDNS prefix that any
record mentions, directly or through a region, is a node of a tree. The
prefixes that contain an address are exactly the longest-matching node and
its ancestors, so what matches an address depends only on that node: the
per-node result is computed once, on first use, and reused (at most one
entry per node, so the memo is bounded by the table itself).

Per candidate the most specific matching record wins: the longest LDNS
prefix first (a negated record or `any` counts as /0), then the most
specific server side (vs > pool > dc > region), then the earlier record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import ip_network
from typing import Final

import pytricia

from gslb.model import V6, Candidate, Config, IPNetwork, TopologyRecord

ServerKey = tuple[str, int]  # ("vs" | "pool" | "dc", index)
Node = tuple[int, str | None]  # (IP version, most specific prefix holding an LDNS)
_SERVER_RANK: Final = {"vs": 3, "pool": 2, "dc": 1, "region": 0}


@dataclass(frozen=True, slots=True)
class Match:
    """The record that decides one server-side object's score."""

    score: int
    rank: tuple[int, int, int]  # (ldns prefix length, server rank, -record position)
    line: int


Scores = dict[ServerKey, Match]


@dataclass(frozen=True, slots=True)
class _Compiled:
    record: TopologyRecord
    position: int
    servers: tuple[tuple[ServerKey, int], ...]  # (key, server rank)
    prefixes: frozenset[str]  # LDNS prefixes; empty for `any`


class TopologyIndex:
    def __init__(self, config: Config) -> None:
        self._regions = {r.name: r for r in config.regions}
        index = {
            "dc": {d.name: i for i, d in enumerate(config.datacenters)},
            "pool": {p.name: i for i, p in enumerate(config.pools)},
            "vs": {v.name: i for i, v in enumerate(config.virtual_servers)},
        }
        self._trees = {4: pytricia.PyTricia(32), 6: pytricia.PyTricia(128)}
        self._by_prefix: dict[str, list[_Compiled]] = {}
        self._unanchored: list[_Compiled] = []  # `any` and negated records
        self._memo: dict[Node, Scores] = {}
        self.records = config.topology
        for position, rec in enumerate(config.topology):
            servers = tuple(self._server_keys(rec, index))
            nets = self._ldns_networks(rec)
            compiled = _Compiled(rec, position, servers, frozenset(str(n) for n in nets))
            for net in nets:
                self._trees[net.version][str(net)] = str(net)
                if not rec.negate:
                    self._by_prefix.setdefault(str(net), []).append(compiled)
            if rec.negate or rec.ldns_kind == "any":
                self._unanchored.append(compiled)

    def _server_keys(
        self, rec: TopologyRecord, index: dict[str, dict[str, int]]
    ) -> Iterable[tuple[ServerKey, int]]:
        if rec.server_kind != "region":
            yield (
                (rec.server_kind, index[rec.server_kind][rec.server]),
                _SERVER_RANK[rec.server_kind],
            )
            return
        for region in self._expand(rec.server):
            for dc in region.datacenters:
                yield ("dc", dc), 0
            for pool in region.pools:
                yield ("pool", pool), 0
            for vs in region.virtual_servers:
                yield ("vs", vs), 0

    def _expand(self, name: str) -> list:
        """The region and every region nested in it (the loader forbids cycles)."""
        out, todo, seen = [], [name], set()
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            out.append(self._regions[n])
            todo.extend(self._regions[n].regions)
        return out

    def _ldns_networks(self, rec: TopologyRecord) -> list[IPNetwork]:
        if rec.ldns_kind == "any":
            return []
        if rec.ldns_kind == "subnet":
            return [ip_network(rec.ldns)]
        return [net for region in self._expand(rec.ldns) for net in region.subnets]

    def node(self, key: int) -> Node:
        """The most specific prefix holding this LDNS key (`gslb.model.key_of`),
        with its IP version: everything that matches the LDNS depends on it
        alone, so it is what results are memoised by."""
        if key & V6:
            return 6, self._trees[6].get((key ^ V6).to_bytes(16, "big"))
        return 4, self._trees[4].get(key)

    def match(self, key: int) -> Scores:
        """Best matching record per server-side object for this LDNS key."""
        return self.at(self.node(key))

    def scorer(self, node: Node) -> Callable[[Candidate], int]:
        """The topology score of a candidate for an LDNS at this node."""
        scores = self.at(node)
        return lambda c: score(scores, c)

    def at(self, node: Node) -> Scores:
        """Best matching record per server-side object at this node."""
        scores = self._memo.get(node)
        if scores is None:
            scores = self._memo[node] = self._compute(node[1], node[0])
        return scores

    def _compute(self, node: str | None, version: int) -> Scores:
        tree = self._trees[version]
        containing: list[str] = []
        while node is not None:
            containing.append(node)
            node = tree.parent(node)
        inside = frozenset(containing)
        scores: Scores = {}

        def offer(c: _Compiled, prefix_len: int) -> None:
            for key, server_rank in c.servers:
                m = Match(c.record.score, (prefix_len, server_rank, -c.position), c.record.line)
                old = scores.get(key)
                if old is None or m.rank > old.rank:
                    scores[key] = m

        for prefix in containing:
            for c in self._by_prefix.get(prefix, ()):
                offer(c, int(prefix.rsplit("/", 1)[1]))
        for c in self._unanchored:
            if c.record.ldns_kind == "any" or not (c.prefixes & inside):
                offer(c, 0)
        return scores


def score(scores: Scores, candidate: Candidate) -> int:
    """Score of the most specific record matching the candidate (0 if none)."""
    best: Match | None = None
    for key in candidate.keys:
        m = scores.get(key)
        if m is not None and (best is None or m.rank > best.rank):
            best = m
    return 0 if best is None else best.score
