"""static_persist: the same LDNS network always gets the same member.

Rendezvous hashing of the LDNS address masked to the pool's
`persist_cidr_v4` / `persist_cidr_v6` with each member's name: a member that
goes down only moves its own LDNS, the rest keep theirs. Config:
`methods = ["static_persist"]`, `persist_cidr_v4 = 24`.
"""

from __future__ import annotations

from hashlib import blake2b
from ipaddress import ip_network
from typing import ClassVar

from gslb.algorithms.base import Algorithm, Candidate, Context, Verdict, pick, unsuccessful


class StaticPersist(Algorithm):
    name: ClassVar[str] = "static_persist"

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        if not candidates:
            return unsuccessful("no available member")
        v4 = ctx.ldns.version == 4
        cidr = (
            (32 if v4 else 128)
            if ctx.pool is None
            else (ctx.pool.persist_cidr_v4 if v4 else ctx.pool.persist_cidr_v6)
        )
        key = ip_network(f"{ctx.ldns}/{cidr}", strict=False).network_address.packed
        # A keyed cryptographic hash, not crc32: CRC is affine in its seed, so
        # every LDNS would only XOR the members' CRCs with one mask and the
        # ranking would split like a binary trie (50/25/25 for three members).
        order = sorted(
            candidates,
            key=lambda c: blake2b(c.name.encode(), digest_size=8, key=key).digest(),
            reverse=True,
        )
        return pick(tuple(order), "", {"cidr": cidr})
