"""How the gate tells the routing daemon to announce or withdraw a prefix.

`[anycast] routing` picks one; each is idempotent (telling twice is fine,
the gate re-tells every `reassert` seconds):

    shell     (the contract) `announce` / `withdraw`, run by `sh -c` with
              {prefix} replaced and GSLB_ANYCAST_PREFIX / GSLB_ANYCAST_STATE
              in the environment; exit status 0 is success.
    frr_ospf  vtysh -c 'configure terminal' -c 'router ospf'
                    -c '[no ]network PREFIX area AREA'
              (the prefix sits on lo; `vtysh` may carry --vty_socket DIR).
    bird      birdc enable|disable PROTOCOL (a BIRD 2 protocol, e.g. a
              `static` one exporting the prefix; `birdc` may carry -s SOCKET).
    exabgp    the gate runs as an ExaBGP `process` and writes
              "announce|withdraw route PREFIX next-hop self" to its stdout.

A command that fails, hangs past `command_timeout` (it is killed) or cannot
be started is a failed result, logged with its output, never an exception.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gslb import childproc
from gslb.anycast.gate import State
from gslb.model import AnycastSettings, IPNetwork

OUTPUT_LIMIT = 400  # characters of a command's output kept for the log


@dataclass(frozen=True, slots=True)
class Told:
    ok: bool
    output: str  # what the command said (trimmed), or why it failed


class Routing(Protocol):
    async def tell(self, state: State, prefix: IPNetwork) -> Told: ...


async def run(argv: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> Told:
    """Run `argv` to completion within `timeout`; its exit status and output.
    It runs in a session of its own, so a command past its time is killed
    with every process it started (`sh -c 'a && b'` forks)."""
    try:
        async with asyncio.timeout(timeout):
            done = await childproc.run(
                argv,
                env=None if env is None else {**os.environ, **env},
                merge_errors=True,
                new_session=True,
            )
    except TimeoutError:
        return Told(False, f"timed out after {timeout:g} s")
    except OSError as exc:
        return Told(False, f"cannot run {argv[0]}: {exc.strerror}")
    text = done.output.decode(errors="replace").strip()[:OUTPUT_LIMIT]
    if done.returncode != 0:
        return Told(False, f"exit {done.returncode}: {text}")
    return Told(True, text)


@dataclass(frozen=True, slots=True)
class Shell:
    announce: str
    withdraw: str
    timeout: float

    async def tell(self, state: State, prefix: IPNetwork) -> Told:
        template = self.announce if state == "announced" else self.withdraw
        command = template.replace("{prefix}", str(prefix))
        env = {"GSLB_ANYCAST_PREFIX": str(prefix), "GSLB_ANYCAST_STATE": state}
        return await run(["sh", "-c", command], self.timeout, env)


# vtysh's answer to removing a network that is not there: already withdrawn.
FRR_NOT_THERE = "Can't find specified network area configuration"


@dataclass(frozen=True, slots=True)
class FrrOspf:
    vtysh: tuple[str, ...]
    area: str
    timeout: float

    async def tell(self, state: State, prefix: IPNetwork) -> Told:
        line = f"network {prefix} area {self.area}"
        if state == "withdrawn":
            line = "no " + line
        argv = [*self.vtysh, "-c", "configure terminal", "-c", "router ospf", "-c", line]
        told = await run(argv, self.timeout)
        if not told.ok and FRR_NOT_THERE in told.output:
            return Told(True, told.output)
        return told


@dataclass(frozen=True, slots=True)
class Bird:
    birdc: tuple[str, ...]
    protocol: str
    timeout: float

    async def tell(self, state: State, prefix: IPNetwork) -> Told:
        verb = "enable" if state == "announced" else "disable"
        told = await run([*self.birdc, verb, self.protocol], self.timeout)
        # birdc exits 0 whatever BIRD said: "anycast: enabled", "anycast: already
        # disabled" are success; "syntax error", "unknown protocol" are not.
        said = f"{self.protocol}: "
        if told.ok and not (said in told.output and f"{verb}d" in told.output):
            return Told(False, told.output)
        return told


@dataclass(frozen=True, slots=True)
class ExaBgp:
    async def tell(self, state: State, prefix: IPNetwork) -> Told:
        verb = "announce" if state == "announced" else "withdraw"
        line = f"{verb} route {prefix} next-hop self"
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except OSError as exc:  # ExaBGP went away
            return Told(False, f"stdout: {exc.strerror}")
        return Told(True, line)


def routing(settings: AnycastSettings) -> Routing:
    timeout = settings.command_timeout
    if settings.routing == "frr_ospf":
        return FrrOspf(settings.vtysh, settings.ospf_area, timeout)
    if settings.routing == "bird":
        return Bird(settings.birdc, settings.bird_protocol, timeout)
    if settings.routing == "exabgp":
        return ExaBgp()
    return Shell(settings.announce, settings.withdraw, timeout)
