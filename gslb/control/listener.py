"""gslbd's side of the control socket: read request lines, answer each.

The socket file is created with the configured mode (0600 by default) before
anyone can connect: the process umask is narrowed while binding. A stale
socket left by a gslbd that died is replaced; one another gslbd still
listens on is left alone (and this server goes without a control socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gslb.control.protocol import MAX_REQUEST, decode, encode
from gslb.errors import GslbError

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[Any]]


class SocketInUse(GslbError):
    """Another process listens on the control socket."""


def _in_use(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


class ControlListener:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.path: Path | None = None

    async def start(self, path: str | Path, mode: int = 0o600) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            if _in_use(target):
                raise SocketInUse(f"another process listens on {target}")
            target.unlink()
        old = os.umask(0o777 & ~mode)
        try:
            self.server = await asyncio.start_unix_server(
                self._serve, str(target), limit=MAX_REQUEST
            )
        finally:
            os.umask(old)
        os.chmod(target, mode)
        self.path = target
        log.info("listening: proto=control path=%s mode=%o", target, mode)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # past the limit: answered, then the connection ends
                    error = f"bad request: longer than {MAX_REQUEST} bytes"
                    writer.write(encode({"ok": False, "error": error}))
                    await writer.drain()
                    break
                if not line:
                    break
                writer.write(encode(await self._answer(line)))
                await writer.drain()
        except OSError:
            pass  # the client went away
        finally:
            writer.close()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            message = decode(line)
            command = message.get("command")
            args = message.get("args") or {}
            if not isinstance(command, str) or not isinstance(args, dict):
                raise ValueError("a request has a command and args")
        except ValueError as exc:
            return {"ok": False, "error": f"bad request: {exc}"}
        try:
            return {"ok": True, "result": await self.handler(command, args)}
        except GslbError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # a bug answers the caller, it does not kill the socket
            log.exception("control: error command=%s", command)
            first = str(exc).splitlines()[0][:200] if str(exc) else ""
            return {"ok": False, "error": f"internal error: {exc.__class__.__name__}: {first}"}
