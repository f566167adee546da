"""Probe requests: an LDNS admitted for probing at one node is probed by all.

    gslb.probe  <-  lines "<LDNS key address> <probe target>"

The scheduler announces each LDNS it admits (after its allow list and its
per-target budget, so a flood of ECS subnets at one node sends at most
`keys_per_target` requests per target and interval); they go out in
batches. A request received is offered to this node's scheduler as a
remote one, where every limit holds again on the probing side: allow and
deny lists, the queue's bound, once per target per interval, the per-target
budget, rate and concurrency. While the bus is down requests wait in a
bounded queue (the oldest are dropped and counted); they are events, not
state, so they are plain NATS messages.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from ipaddress import ip_address

from gslb.model import IPAddress

log = logging.getLogger(__name__)
SUBJECT = "gslb.probe"
PER_MESSAGE = 512  # requests in one message (about 16 KB)

Offer = Callable[[IPAddress, IPAddress, bool], None]


class ProbeRequests:
    def __init__(self, offer: Offer, bound: int) -> None:
        self.offer = offer  # Scheduler.offer
        self.counts: Counter[str] = Counter()  # sent, received, dropped, bad
        self._out: deque[tuple[IPAddress, IPAddress]] = deque()
        self.bound = bound

    def announce(self, ldns: IPAddress, target: IPAddress) -> None:
        """Scheduler.announce: `ldns` was admitted for probing here."""
        if len(self._out) >= self.bound:
            self._out.popleft()
            self.counts["dropped"] += 1
        self._out.append((ldns, target))

    @property
    def waiting(self) -> int:
        return len(self._out)

    def batch(self) -> list[bytes]:
        """The waiting requests as message payloads; they leave the queue."""
        out = []
        while self._out:
            lines = [
                f"{ldns} {target}"
                for ldns, target in (
                    self._out.popleft() for _ in range(min(PER_MESSAGE, len(self._out)))
                )
            ]
            out.append("\n".join(lines).encode())
            self.counts["sent"] += len(lines)
        return out

    def take(self, payload: bytes) -> None:
        """Requests from another node: offered here as remote ones."""
        for line in payload.decode("ascii", "replace").splitlines():
            try:
                ldns, target = (ip_address(word) for word in line.split())
            except ValueError:
                self.counts["bad"] += 1
                continue
            self.counts["received"] += 1
            self.offer(ldns, target, True)
