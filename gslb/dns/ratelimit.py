"""Response rate limiting (RRL): gslb must not become a reflector.

Each client network (/24 for IPv4, /56 for IPv6) has a token bucket of
`responses_per_second` tokens, refilled continuously. A UDP response with no
token left is not sent, except every `slip`-th one, which goes out as an
empty TC=1 reply so a real client retries over TCP (which is never limited:
it cannot be spoofed). What was dropped shows in `gslb_queries_total` with
rcode `no_reply`. The table is bounded: past `max_networks` the oldest
entries go.
"""

from __future__ import annotations

from ipaddress import ip_network

DROP, SLIP, SEND = 0, 1, 2


class RateLimiter:
    def __init__(
        self, responses_per_second: int, slip: int = 2, max_networks: int = 100_000
    ) -> None:
        self.rate = float(responses_per_second)
        self.slip = slip
        self.max_networks = max_networks
        self._buckets: dict[str, list[float]] = {}  # network -> [tokens, last update, misses]

    @staticmethod
    def network(peer: str) -> str:
        if ":" not in peer:
            return peer.rpartition(".")[0]
        return str(ip_network(f"{peer}/56", strict=False))

    def check(self, peer: str, now: float) -> int:
        """SEND, SLIP (send TC=1 instead) or DROP for one response to `peer`."""
        key = self.network(peer)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_networks:
                del self._buckets[next(iter(self._buckets))]
            bucket = self._buckets[key] = [self.rate, now, 0.0]
        tokens = min(self.rate, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return SEND
        bucket[0] = tokens
        bucket[2] += 1
        if self.slip > 0 and bucket[2] % self.slip == 0:
            return SLIP
        return DROP
