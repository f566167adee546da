"""The pipe between gslbd and one of its worker processes: framed pickles.

One AF_UNIX socketpair per worker, made by the parent just before it starts
the worker and passed to it by file descriptor; no other process holds
either end, so the pickles it carries (which would run code from a hostile
sender) only ever come from this gslbd's own processes. A message is a
4-byte big-endian length and a pickle of one of the dataclasses below.

    parent -> worker   Update   config (reload), health, LDNS view changes; numbered
    worker -> parent   Ready    listening (once, after the first Update)
                       Ack      an Update is serving
                       Report   every `worker_report_interval`: who queried,
                                LDNS to probe, the query counters
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from dataclasses import dataclass

from gslb.counters import Labels
from gslb.errors import GslbError
from gslb.health import Health
from gslb.model import Config, IPAddress

HEADER = struct.Struct("!I")
MAX_MESSAGE = 1 << 30  # a config and a full LDNS table fit many times over


class ChannelError(GslbError):
    """The other end of a worker channel sent something that is not a message."""


@dataclass(frozen=True, slots=True)
class Update:
    """Build the next snapshot: a new config (a reload, or the worker's first
    Update) rebuilds it; health and proximity changes are applied to it."""

    seq: int
    generation: int
    config: Config | None
    health: Health | None
    proximity: dict[int, bytes] | None  # LDNS key -> packed paths, b"": removed


@dataclass(frozen=True, slots=True)
class Ready:
    pid: int
    bound: list[tuple[str, str, int]]  # (proto, host, port)


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int


@dataclass(frozen=True, slots=True)
class Report:
    """What a worker counted. `seen` and `offers` since its last report;
    `queries`, `duration` and `persistence` are its running totals."""

    seen: dict[int, int]  # LDNS key (gslb.proximity.key_of) -> wide IP queries
    offers: list[tuple[int, IPAddress | str]]  # (LDNS key, resolver) to probe
    queries: dict[tuple[Labels, int, str], int]  # as QueryCounters.queries
    duration: tuple[list[int], float]  # query duration histogram: counts, sum
    persistence: int  # records held
    events: dict[tuple[str, str], int]  # as Listeners.events(): running totals


Message = Update | Ready | Ack | Report


def send(writer: asyncio.StreamWriter, message: Message) -> None:
    """Queue `message` (the transport writes it as the socket takes it)."""
    body = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    writer.write(HEADER.pack(len(body)) + body)


async def receive(reader: asyncio.StreamReader) -> Message:
    """The next message; asyncio.IncompleteReadError once the other end is gone."""
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    if size > MAX_MESSAGE:
        raise ChannelError(f"message of {size} bytes")
    message = pickle.loads(await reader.readexactly(size))
    if not isinstance(message, Update | Ready | Ack | Report):
        raise ChannelError(f"not a message: {type(message).__name__}")
    return message
