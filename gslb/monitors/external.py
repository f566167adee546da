"""external: run a command with the member's address and port; exit status 0 is up.

    [[monitor]]
    name = "app_script"
    type = "external"
    interval = 30
    timeout = 5
    command = ["/usr/local/libexec/check_app", "--strict"]   # argv, no shell

The address and port are appended as the last two arguments (as BIG-IP's
external monitors get them) and are also in the environment as
`GSLB_MEMBER_ADDRESS` and `GSLB_MEMBER_PORT` (and the data center's probe
source, when it has one, as `GSLB_SOURCE_ADDRESS`). A command still running at the
timeout is killed (its whole process group) and the check is down. The first
line of its output is kept as the detail of a failure.
"""

from __future__ import annotations

import os
from typing import ClassVar

from pydantic import Field

from gslb import childproc
from gslb.monitors.base import BaseMonitor, CheckResult, Endpoint, Settings, describe, down, up


class ExternalSettings(Settings):
    command: list[str] = Field(min_length=1)


def _first_line(output: bytes) -> str:
    return output.decode(errors="replace").strip().partition("\n")[0][:200]


class ExternalMonitor(BaseMonitor[ExternalSettings]):
    name: ClassVar[str] = "external"
    settings: ClassVar[type[Settings]] = ExternalSettings
    timeout_detail: ClassVar[str] = "timeout (killed)"

    async def probe(self, at: Endpoint, spec: ExternalSettings, timeout: float) -> CheckResult:
        address, port = str(at.address), str(at.port)
        env = dict(os.environ, GSLB_MEMBER_ADDRESS=address, GSLB_MEMBER_PORT=port)
        if at.source is not None:
            env["GSLB_SOURCE_ADDRESS"] = str(at.source)
        try:
            # Cancelled at the deadline (or the runner stopping): its process
            # group is killed. Started without a fork of gslbd (gslb/childproc.py).
            done = await childproc.run(
                (*spec.command, address, port), env=env, merge_errors=True, new_session=True
            )
        except OSError as exc:
            return down(f"cannot run {spec.command[0]}: {describe(exc)}")
        if done.returncode == 0:
            return up(_first_line(done.output) or "exit 0")
        detail = _first_line(done.output)
        return down(f"exit {done.returncode}" + (f": {detail}" if detail else ""))
