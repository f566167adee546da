"""The systemd notification protocol (sd_notify), without libsystemd.

With `Type=notify` systemd sets $NOTIFY_SOCKET to a Unix datagram socket
(a path, or an abstract name written `@name`); gslbd sends `READY=1` once it
listens, `STOPPING=1` when it begins to stop, and `STATUS=` lines. With
`WatchdogSec=` systemd also sets $WATCHDOG_USEC (and $WATCHDOG_PID): gslbd
then sends `WATCHDOG=1` every half of that from a task on its event loop,
so a loop that stalls (not just a process that died) is restarted. Without
$NOTIFY_SOCKET every call does nothing. contrib/systemd/gslbd.service uses it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET", "")
        if self.address.startswith("@"):
            self.address = "\0" + self.address[1:]  # the abstract namespace
        self.watchdog: float | None = None  # seconds between keep-alives
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog = int(usec) / 2e6
        self._task: asyncio.Task[None] | None = None

    def send(self, *lines: str) -> bool:
        """Send one notification; False when there is no manager or it failed."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(lines).encode(), self.address)
        except OSError as exc:
            log.warning("notify: failed socket=%s error=%r", self.address, exc.strerror)
            return False
        return True

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")
        if self.watchdog is not None and self._task is None:
            self._task = asyncio.create_task(self._keep_alive(self.watchdog))

    def stopping(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.send("STOPPING=1", "STATUS=stopping")

    async def _keep_alive(self, every: float) -> None:
        while True:
            self.send("WATCHDOG=1")
            await asyncio.sleep(every)
