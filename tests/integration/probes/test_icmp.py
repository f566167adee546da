from __future__ import annotations

import json
import subprocess
import sys
from ipaddress import ip_address

import pytest

from gslb.probes import icmp
from tests.integration.conftest import NOBODY, ROOT, why_not_as_nobody
from tests.integration.probes.conftest import CNC


@pytest.mark.parametrize(("target", "source"), [("127.0.0.1", CNC), ("::1", None)])
async def test_echo_reply(target, source):
    result = await icmp.Icmp().probe(ip_address(target), source=source, port=0, timeout=1.0)
    assert (result.ok, result.detail, result.hops) == (True, "reply", 0)
    assert 0 < result.rtt_us < 1e6


# Run as user nobody (no raw sockets) in a network namespace of its own,
# where the test sets net.ipv4.ping_group_range: the prober and the monitor
# fall back to the kernel's unprivileged ICMP socket, or, where that is not
# allowed either, the prober says so once and disables itself.
AS_NOBODY = """
import asyncio, json, logging
from ipaddress import ip_address
from gslb.monitors.base import Settings
from gslb.monitors.icmp import IcmpMonitor
from gslb.probes.icmp import Icmp
logging.basicConfig(level=logging.WARNING, format="%(message)s")
async def main():
    prober, out = Icmp(), []
    for target in ("127.0.0.1", "::1", "127.0.0.1"):
        r = await prober.probe(ip_address(target), source=None, port=0, timeout=1)
        out.append([r.rtt_us is not None and 0 < r.rtt_us < 1e6, r.hops, r.detail])
    m = await IcmpMonitor().check(ip_address("127.0.0.1"), 0, source=None, timeout=1,
                                  spec=Settings())
    out.append([m.ok, m.detail])
    print(json.dumps(out))
asyncio.run(main())
"""


def as_nobody(ping_groups: str) -> subprocess.CompletedProcess[str]:
    if (reason := why_not_as_nobody()) is not None:
        pytest.skip(reason)
    shell = (
        "ip link set lo up && "
        f'echo "{ping_groups}" > /proc/sys/net/ipv4/ping_group_range && '
        f'exec {" ".join(NOBODY)} "$0" -c "$1"'
    )
    return subprocess.run(
        ["unshare", "--net", "sh", "-c", shell, sys.executable, AS_NOBODY],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip


def test_unprivileged_falls_back_to_the_datagram_socket():
    done = as_nobody("0 2147483647")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        [True, 0, "reply"], [True, 0, "reply"], [True, 0, "reply"], [True, "echo reply"],
    ]  # fmt: skip
    assert done.stderr == ""


REFUSED = (
    "no raw ICMP socket (needs CAP_NET_RAW) and no unprivileged one (net.ipv4.ping_group_range)"
)


def test_without_any_icmp_socket_it_says_so_once_and_disables_itself():
    done = as_nobody("1 0")  # the kernel's default: nobody may
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        [False, 0, "disabled"], [False, 0, "disabled"], [False, 0, "disabled"],
        [False, REFUSED],
    ]  # fmt: skip
    assert done.stderr == f"probe_disabled: protocol=icmp reason='{REFUSED}'\n"
