"""The terminal methods: they end the chain instead of ranking members.

- `return_to_dns`: stop load balancing; answer from the static zone as if
  the name were an ordinary record (else NODATA/NXDOMAIN).
- `drop_packet`: send no reply at all.
- `fallback_ip`: answer the pool's `fallback_ip`, which is never monitored.
- `none`: skip to the next method; as the last method it makes the pool fail,
  so the wide IP tries its next pool.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import (
    DROP,
    FALLBACK_IP,
    NONE,
    RETURN_TO_DNS,
    Algorithm,
    Candidate,
    Context,
    Verdict,
)


class ReturnToDns(Algorithm):
    name: ClassVar[str] = "return_to_dns"
    constant: ClassVar[bool] = True

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        return RETURN_TO_DNS


class DropPacket(Algorithm):
    name: ClassVar[str] = "drop_packet"
    constant: ClassVar[bool] = True

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        return DROP


class FallbackIp(Algorithm):
    name: ClassVar[str] = "fallback_ip"
    needs_fallback_ip: ClassVar[bool] = True
    constant: ClassVar[bool] = True

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        return FALLBACK_IP


class NoMethod(Algorithm):
    name: ClassVar[str] = "none"
    constant: ClassVar[bool] = True

    def select(self, candidates: tuple[Candidate, ...], ctx: Context) -> Verdict:
        return NONE
