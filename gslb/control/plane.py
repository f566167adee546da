"""The operator's side of one gslbd: the control socket and the HTTP listener.

Neither is needed to answer DNS, so neither stops gslbd from serving: a
socket another gslbd holds, or a busy metrics port, is logged as an error
and that listener stays off. `[control]` is read at start-up; changing it
takes a restart.
"""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gslb.control.api import ControlApi
from gslb.control.http import HttpListener, Page, text
from gslb.control.listener import ControlListener
from gslb.control.metrics import registry
from gslb.control.served import Served
from gslb.errors import GslbError
from gslb.model import ControlSettings

log = logging.getLogger(__name__)


class ControlPlane:
    def __init__(self, server: Served) -> None:
        self.server = server
        self.api = ControlApi(server)
        self.socket = ControlListener(self.api.handle)
        self.registry = registry(server)
        self.http = HttpListener(
            {"/metrics": self.metrics, "/healthz": self.healthz, "/readyz": self.readyz}
        )

    async def start(self, settings: ControlSettings) -> None:
        try:
            await self.socket.start(settings.socket, settings.socket_mode)
        except (GslbError, OSError) as exc:
            log.error("control: not listening path=%s error=%s", settings.socket, exc)
        if settings.http is not None:
            host, port = settings.http
            try:
                await self.http.start(host, port)
            except OSError as exc:
                log.error("http: not listening address=%s port=%d error=%s", host, port, exc)

    async def stop(self) -> None:
        await self.socket.stop()
        await self.http.stop()

    def metrics(self) -> Page:
        return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)

    def healthz(self) -> Page:
        return text(200, "ok\n")

    def readyz(self) -> Page:
        return text(200, "ready\n") if self.server.ready else text(503, "not ready\n")
