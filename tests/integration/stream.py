"""A steady stream of UDP queries, timing every reply: what answers look like
while gslbd does something else (a save of the LDNS table, a reload).

One socket; a sender thread paces queries at `rate` a second (IDs in turn,
so replies are matched whatever their order; an ID comes round again after
65,536 queries), a receiver thread notes when each reply came. Bounded in
time (`limit` seconds) and so in count.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import dns.message
import dns.rdatatype


@dataclass
class StreamResult:
    sent: int
    latencies: list[float] = field(default_factory=list)  # seconds, one per reply
    # (wall-clock time sent, seconds to the reply or None) of every query
    queries: list[tuple[float, float | None]] = field(default_factory=list)

    def between(self, start: float, end: float) -> StreamResult:
        """The queries sent from `start` to `end` (wall-clock time)."""
        chosen = [q for q in self.queries if start <= q[0] <= end]
        replied = [latency for _, latency in chosen if latency is not None]
        return StreamResult(len(chosen), replied, chosen)

    @property
    def lost(self) -> int:
        return self.sent - len(self.latencies)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("inf")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    def __str__(self) -> str:
        worst = max(self.latencies, default=float("inf"))
        return (
            f"sent {self.sent} lost {self.lost} p50 {self.percentile(50) * 1e3:.2f} ms "
            f"p99 {self.percentile(99) * 1e3:.2f} ms max {worst * 1e3:.1f} ms"
        )


class QueryStream:
    """Start it, do something to the server, then `stop()` for the result."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        rate: float = 1000,
        name: str = "www.gslb.example.",
        limit: float = 600.0,
    ) -> None:
        self.address = (host, port)
        self.rate = rate
        self.limit = limit
        self.query = dns.message.make_query(name, dns.rdatatype.A).to_wire()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(0.2)
        # Replies wait here while this process is slow to read them (a busy
        # machine): a loss must be the server's, not the client's.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self._waiting: dict[int, int] = {}  # ID -> number of the query
        self._sent: list[tuple[float, float]] = []  # (wall clock, perf_counter) per query
        self._replied: dict[int, float] = {}  # number of the query -> seconds to the reply
        self._stopping = threading.Event()
        self._sender = threading.Thread(target=self._send, daemon=True)
        self._receiver = threading.Thread(target=self._receive, daemon=True)

    def start(self) -> QueryStream:
        self._receiver.start()
        self._sender.start()
        return self

    def _send(self) -> None:
        started = time.perf_counter()
        for n in range(int(self.rate * self.limit)):
            if self._stopping.is_set():
                return
            qid = n % 65536
            wire = qid.to_bytes(2, "big") + self.query[2:]
            self._waiting[qid] = n
            self._sent.append((time.time(), time.perf_counter()))
            self.sock.sendto(wire, self.address)
            delay = started + (n + 1) / self.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)

    def _receive(self) -> None:
        while not (self._stopping.is_set() and self._drained):
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            now = time.perf_counter()
            n = self._waiting.pop(int.from_bytes(data[:2], "big"), None)
            if n is not None:
                self._replied[n] = now - self._sent[n][1]

    _drained = False

    def stop(self, wait: float = 2.0) -> StreamResult:
        """Stop sending; replies still on their way get `wait` seconds."""
        self._stopping.set()
        self._sender.join()
        deadline = time.monotonic() + wait
        while self._waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        self._drained = True
        self._receiver.join()
        self.sock.close()
        queries = [(wall, self._replied.get(n)) for n, (wall, _) in enumerate(self._sent)]
        return StreamResult(len(queries), list(self._replied.values()), queries)
