"""Many fake LDNS in a process of their own: a simulated internet on loopback.

`FakeNetwork({resolver: {source: seconds}})` starts `python -m tests.fakenet`,
which binds one UDP socket per resolver address, all on one port, and
answers every DNS query (header flagged as a response) after the delay set
for that resolver and the query's source address; a source not listed gets
no answer. Delays run from the kernel's arrival stamp of the query
(SO_TIMESTAMPNS), so the fake's own event loop adds only its lateness in
sending, which it measures: `late[(resolver, source)]`, in seconds, once the
network is stopped. Being another process, its timing does not depend on
the test's or gslb's event loop (nor on the GIL).
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@qq")

Delays = dict[str, dict[str, float]]  # resolver address -> probe source -> seconds


class FakeNetwork:
    def __init__(self, delays: Delays, port: int = 0) -> None:
        self.delays = delays
        self.port = port
        self.late: dict[tuple[str, str], float] = {}
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> FakeNetwork:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
            json.dump({"port": self.port, "delays": self.delays}, spec)
        self._spec = spec.name
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakenet", spec.name],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self._proc.stdout is not None
        ready = self._proc.stdout.readline().split()
        if ready[:1] != ["ready"]:
            self.__exit__(None, None, None)
            raise RuntimeError(f"fake network did not start: {ready}")
        self.port = int(ready[1])
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            lines = out.strip().splitlines()
            if lines:
                self.late = {(r, s): ns / 1e9 for r, s, ns in json.loads(lines[-1])}
        with contextlib.suppress(OSError):
            os.unlink(self._spec)


# -- the process ---------------------------------------------------------------------------

Due = list[tuple[int, int, int, bytes, tuple[str, int]]]  # (at ns, seq, fd, reply, peer)


def serve(delays: Delays, port: int) -> None:
    """Answer until SIGTERM; then print each reply's lateness as JSON."""
    with contextlib.suppress(OSError):  # keep its lateness low on a busy machine (root)
        os.nice(-10)
    poller = select.epoll()
    sockets: dict[int, tuple[socket.socket, str]] = {}
    for address in delays:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.bind((address, port))
        port = sock.getsockname()[1]  # 0: the first socket's, for all
        sock.setblocking(False)
        sockets[sock.fileno()] = (sock, address)
        poller.register(sock.fileno(), select.EPOLLIN)
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    due: Due = []
    late: list[tuple[str, str, int]] = []
    seq = 0
    print("ready", port, flush=True)
    while not stop:
        timeout = 0.2  # at least this often: SIGTERM only sets `stop`
        if due:
            timeout = min(timeout, max(0.0, (due[0][0] - time.time_ns()) / 1e9))
        for fd, _ in poller.poll(timeout):
            sock, address = sockets[fd]
            while True:
                try:
                    data, ancillary, _, peer = sock.recvmsg(512, 64)
                except BlockingIOError:
                    break
                delay = delays[address].get(peer[0])
                if delay is None or len(data) < 12:
                    continue
                seq += 1
                reply = data[:2] + bytes([data[2] | 0x80, data[3]]) + data[4:]
                at = _arrived(ancillary) + int(delay * 1e9)
                heapq.heappush(due, (at, seq, fd, reply, peer))
            _send_due(due, sockets, late)  # between sockets too: a burst delays no reply
        _send_due(due, sockets, late)
    print(json.dumps(late), flush=True)


def _arrived(ancillary: list[tuple[int, int, bytes]]) -> int:
    for level, kind, raw in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = _TIMESPEC.unpack_from(raw)
            return seconds * 1_000_000_000 + nanoseconds
    return time.time_ns()


def _send_due(
    due: Due, sockets: dict[int, tuple[socket.socket, str]], late: list[tuple[str, str, int]]
) -> None:
    now = time.time_ns()
    while due and due[0][0] <= now:
        at, _, fd, reply, peer = heapq.heappop(due)
        sock, address = sockets[fd]
        with contextlib.suppress(OSError):
            sock.sendto(reply, peer)
        late.append((address, peer[0], now - at))
        now = time.time_ns()


if __name__ == "__main__":
    spec = json.loads(Path(sys.argv[1]).read_text())
    serve(spec["delays"], spec["port"])
