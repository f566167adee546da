"""static_persist: the same LDNS network always gets the same member.

Rendezvous hashing of the LDNS address masked to the pool's
`persist_cidr_v4` / `persist_cidr_v6` with each member's name: a member that
goes down only moves its own LDNS, the rest keep theirs. Config:
`methods = ["static_persist"]`, `persist_cidr_v4 = 24`.
"""

from __future__ import annotations

from ipaddress import ip_network
from typing import ClassVar
from zlib import crc32

from gslb.algorithms.base import Candidate, Context, Verdict, pick, unsuccessful


class StaticPersist:
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
        seed = crc32(key)
        order = sorted(candidates, key=lambda c: -crc32(c.name.encode(), seed))
        return pick(tuple(order), "", cidr=cidr)
