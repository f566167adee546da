"""One wake-up of a UDP listener: receive a batch, answer it, send the replies.

Two implementations of the same loop:

- compiled (`gslb/server/_batchio.c`, built by `pip install` when a C
  compiler and Python's headers are there): one `recvmmsg` for the whole
  batch and one `sendmmsg` per group of replies, so the kernel is entered
  twice or so per wake-up instead of twice per datagram;
- pure Python (`serve_pure`): a `recvfrom` and a `sendto` per datagram, used
  when the extension is not built, or when `GSLB_PURE=1` is set in the
  environment (read when a listener is made; CI runs the UDP tests both ways).

Both receive at most `batch` datagrams, each cut at `MAX_DATAGRAM` bytes,
call `answer(data, host, "udp")` for each in order, send the replies that
are not None to their senders `send_batch` at a time, and count the replies
the kernel did not take. Should `answer` raise (gslbd's never does: a bug
answers SERVFAIL), the replies made before are sent, then the exception
propagates; the compiled loop has already taken the rest of the batch from
the socket, so those datagrams go unanswered.
"""

from __future__ import annotations

import importlib
import os
import socket
from collections.abc import Callable
from types import ModuleType
from typing import Any

from gslb.model import IPAddress

Answer = Callable[[bytes, IPAddress | str, str], bytes | None]
MAX_DATAGRAM = 4096  # bytes read per datagram; a longer query is cut, then FORMERR

_compiled: ModuleType | None
try:
    _compiled = importlib.import_module("gslb.server._batchio")
except ImportError:  # not built: no compiler, or a source tree without `pip install`
    _compiled = None


def built() -> bool:
    """Whether the C extension was built (whatever GSLB_PURE says)."""
    return _compiled is not None


def compiled() -> bool:
    """Whether a listener made now uses the compiled loop."""
    return _compiled is not None and os.environ.get("GSLB_PURE", "") in ("", "0")


def describe() -> str:
    """How a listener made now reads and answers UDP, for the start-up log."""
    if compiled():
        return "recvmmsg/sendmmsg (gslb/server/_batchio.c)"
    why = "GSLB_PURE is set" if _compiled is not None else "the C extension is not built"
    return f"recvfrom/sendto ({why})"


class Wakeup:
    """The batched I/O of one socket; `serve()` per readable event."""

    __slots__ = ("_arena", "_serve", "answer", "batch", "send_batch", "sock")

    def __init__(self, sock: socket.socket, answer: Answer, batch: int, send_batch: int) -> None:
        self.sock, self.answer = sock, answer
        self.batch, self.send_batch = batch, send_batch
        self._arena = bytearray(batch * MAX_DATAGRAM) if compiled() else None
        self._serve = self._serve_compiled if self._arena is not None else self.serve_pure

    @property
    def is_compiled(self) -> bool:
        return self._arena is not None

    def serve(self) -> int:
        """Receive, answer and reply to up to `batch` datagrams; replies not sent."""
        return self._serve()

    def _serve_compiled(self) -> int:
        assert _compiled is not None
        _, failed = _compiled.serve(
            self.sock.fileno(), self._arena, self.answer, "udp", self.batch, self.send_batch
        )
        return int(failed)

    def serve_pure(self) -> int:
        return serve_datagrams(
            self._receive, self._send_to, self.answer, self.batch, self.send_batch
        )

    def _receive(self) -> tuple[bytes, str, tuple[Any, ...]]:
        data, addr = self.sock.recvfrom(MAX_DATAGRAM)
        return data, addr[0], addr

    def _send_to(self, reply: bytes, addr: tuple[Any, ...]) -> None:
        self.sock.sendto(reply, addr)


# One datagram taken from the socket: its bytes, the sender's address as
# answer() takes it, and whatever `Send` needs to reply (the address, ...).
Receive = Callable[[], tuple[bytes, str, Any]]
Send = Callable[[bytes, Any], None]


def serve_datagrams(receive: Receive, send: Send, answer: Answer, batch: int, group: int) -> int:
    """The pure-Python loop, one system call a datagram each way: what
    `serve_pure` runs with recvfrom/sendto and a wildcard listener with
    recvmsg/sendmsg. How many replies the kernel did not take."""
    failed = 0
    replies: list[tuple[bytes, Any]] = []  # (reply, where it goes)
    try:
        for _ in range(batch):
            try:
                data, host, where = receive()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # an ICMP error for an earlier reply: nothing to do
                continue
            reply = answer(data, host, "udp")
            if reply is not None:
                replies.append((reply, where))
                if len(replies) == group:
                    failed += _send_all(send, replies)
                    replies = []
    finally:  # answer() raised: what it answered before still goes out
        if replies:
            failed += _send_all(send, replies)
    return failed


def _send_all(send: Send, replies: list[tuple[bytes, Any]]) -> int:
    failed = 0
    for reply, where in replies:
        try:
            send(reply, where)
        except OSError:  # buffer full or the client went away: a lost reply
            failed += 1
    return failed
