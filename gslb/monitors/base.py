"""The seam every health monitor plugs into.

A monitor checks one target (a virtual server's address and port, or a data
center's link address) once and says up or down. A network failure is a
result (`down("connection refused")`), never an exception: the runner only
schedules checks and counts what they say. Each monitor type declares the
fields it accepts in `[[monitor]]` as a pydantic `Settings` model; the config
compiler validates them with it, so a type's fields live in its module.

A type subclasses `BaseMonitor` and writes only its `probe`, which may let
socket errors and timeouts escape; `BaseMonitor.check` (what the runner
calls) holds the deadline, times the check and turns those into results.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass
from re import Pattern
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from gslb.model import IPAddress

READ_LIMIT = 65536  # a reply is read up to this many bytes to match `expect`


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    detail: str = ""  # why it is down (or what it saw)
    latency: float | None = None  # seconds, when the target answered


def up(detail: str = "") -> CheckResult:
    return CheckResult(True, detail)


def down(detail: str) -> CheckResult:
    return CheckResult(False, detail)


class Settings(BaseModel):
    """The type-specific fields of a `[[monitor]]` table; none by default."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Monitor(Protocol):
    name: ClassVar[str]  # the `type` of a [[monitor]] table
    settings: ClassVar[type[Settings]]

    async def check(
        self,
        target: IPAddress,
        port: int,
        *,
        source: IPAddress | None,
        timeout: float,
        spec: Any,
    ) -> CheckResult: ...


def describe(exc: BaseException) -> str:
    """A short, stable reason for a failed check."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ssl.SSLError):
        return f"tls: {exc.reason or exc.__class__.__name__}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, str(exc.errno)).lower().removeprefix("e")
    return exc.__class__.__name__


async def run_check(
    check: Awaitable[CheckResult], timeout: float, timeout_detail: str = "timeout"
) -> CheckResult:
    """Await a check within `timeout`; timeouts and socket errors become results."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            result = await check
    except TimeoutError:
        return down(timeout_detail)
    except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
        return down(describe(exc))
    if result.ok and result.latency is None:
        return CheckResult(True, result.detail, time.perf_counter() - start)
    return result


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where one check goes, and from where."""

    address: IPAddress
    port: int
    source: IPAddress | None = None


S = TypeVar("S", bound=Settings)


class BaseMonitor(ABC, Generic[S]):
    """A monitor type: its `name`, its `settings` model and its own `probe`."""

    name: ClassVar[str]
    settings: ClassVar[type[Settings]] = Settings
    timeout_detail: ClassVar[str] = "timeout"  # the result's detail past the deadline

    async def check(
        self,
        target: IPAddress,
        port: int,
        *,
        source: IPAddress | None,
        timeout: float,
        spec: S,
    ) -> CheckResult:
        probe = self.probe(Endpoint(target, port, source), spec, timeout)
        return await run_check(probe, timeout, self.timeout_detail)

    @abstractmethod
    async def probe(self, at: Endpoint, spec: S, timeout: float) -> CheckResult:
        """Check once. Socket errors and timeouts may escape: `check` makes them
        results. Anything else is a bug, which the runner logs and counts as down."""


def local_addr(at: Endpoint) -> tuple[str, int] | None:
    """The address to bind before sending to `at`: its source, any port."""
    return (str(at.source), 0) if at.source is not None else None


async def open_stream(at: Endpoint) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to `at`, from its source when set."""
    return await asyncio.open_connection(str(at.address), at.port, local_addr=local_addr(at))


async def close_stream(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):  # a reset on close says nothing about the check
        await writer.wait_closed()


def matches(expect: Pattern[str] | None, data: bytes) -> bool:
    """No pattern: anything matches. Bytes are read as Latin-1, one char each."""
    return expect is None or expect.search(data.decode("latin-1")) is not None


async def read_some(reader: asyncio.StreamReader, expect: Pattern[str] | None) -> bytes:
    """Read until `expect` matches, the peer closes, or READ_LIMIT is reached."""
    data = b""
    while len(data) < READ_LIMIT:
        chunk = await reader.read(READ_LIMIT - len(data))
        if not chunk:
            break
        data += chunk
        if expect is not None and matches(expect, data):
            break
    return data
