"""The HTTP listener: /metrics (Prometheus), /healthz and /readyz.

A deliberately small HTTP/1.0 server on the event loop (GET and HEAD, one
request per connection): it serves three fixed pages to a scraper and a
load balancer's health checks, nothing else. A route is a function returning
(status, content type, body) when the request comes, so every answer shows
the state of that moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

Page = tuple[int, str, bytes]
Route = Callable[[], Page]
REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
HEAD_LIMIT = 8192
READ_TIMEOUT = 5.0


def text(status: int, body: str) -> Page:
    return status, "text/plain; charset=utf-8", body.encode()


class HttpListener:
    def __init__(self, routes: Mapping[str, Route]) -> None:
        self.routes = dict(routes)
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0: the kernel picks); the bound port."""
        self.server = await asyncio.start_server(
            self._serve, host, port, limit=HEAD_LIMIT, reuse_address=True
        )
        self.port = int(self.server.sockets[0].getsockname()[1])
        log.info("listening: proto=http address=%s port=%d", host, self.port)
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def page(self, method: str, target: str) -> Page:
        path = target.split("?", 1)[0]
        route = self.routes.get(path)
        if route is None:
            return text(404, "not found\n")
        if method not in ("GET", "HEAD"):
            return text(405, "GET or HEAD\n")
        return route()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, *_ = [*request_line.split(" "), "", ""]
            try:
                status, content_type, body = self.page(method, target)
            except Exception:  # a broken page must not take the listener down
                log.exception("http: error path=%s", target)
                status, content_type, body = text(500, "internal error\n")
            header = (
                f"HTTP/1.0 {status} {REASONS.get(status, 'Error')}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            writer.write(header if method == "HEAD" else header + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that sends nothing useful gets nothing
        finally:
            writer.close()
