"""The gate's ways to tell a routing daemon, each against the real thing:
`sh` for the shell contract, BIRD 2's birdc, ExaBGP's process API (stdout).
(FRR's vtysh is driven in tests/integration/test_anycast_netns.py.)"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest

from gslb.anycast.routing import Bird, Shell, Told, run
from tests.integration.netns import which

PREFIX = ip_network("198.51.100.53/32")


def tell(routing: Shell | Bird, state: str) -> Told:
    return asyncio.run(routing.tell(state, PREFIX))  # type: ignore[arg-type]


def test_shell_gets_the_prefix_and_state_and_its_exit_status_counts(tmp_path: Path):
    out = tmp_path / "told"
    shell = Shell(
        announce=f'echo "+ {{prefix}} $GSLB_ANYCAST_PREFIX $GSLB_ANYCAST_STATE" >> {out}',
        withdraw="echo no such daemon >&2; exit 3",
        timeout=5.0,
    )
    assert tell(shell, "announced") == Told(True, "")
    assert out.read_text() == "+ 198.51.100.53/32 198.51.100.53/32 announced\n"
    assert tell(shell, "withdrawn") == Told(False, "exit 3: no such daemon")


def test_a_hung_command_is_killed_at_its_timeout():
    started = time.monotonic()
    told = asyncio.run(run(["sleep", "30"], timeout=0.3))
    assert told == Told(False, "timed out after 0.3 s")
    assert time.monotonic() - started < 5.0


def test_a_command_past_its_time_is_killed_with_what_it_forked(tmp_path: Path):
    """`announce = "a && b"` forks: killing `sh` alone would let the announce
    finish after the gate gave up on it (and maybe withdrew)."""
    late = tmp_path / "announced-late"
    command = f"(sleep 1; touch {late}) & sleep 30"
    assert asyncio.run(run(["sh", "-c", command], timeout=0.3)) == Told(
        False, "timed out after 0.3 s"
    )
    time.sleep(1.5)
    assert not late.exists()


def test_a_missing_program_is_a_failed_result():
    told = asyncio.run(run(["/nonexistent/vtysh"], timeout=1.0))
    assert told == Told(False, "cannot run /nonexistent/vtysh: No such file or directory")


def test_exabgp_reads_announce_and_withdraw_lines_on_stdout():
    script = (
        "import asyncio, ipaddress\n"
        "from gslb.anycast.routing import ExaBgp\n"
        "p = ipaddress.ip_network('198.51.100.53/32')\n"
        "asyncio.run(ExaBgp().tell('announced', p))\n"
        "asyncio.run(ExaBgp().tell('withdrawn', p))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert done.stdout == (
        "announce route 198.51.100.53/32 next-hop self\n"
        "withdraw route 198.51.100.53/32 next-hop self\n"
    )


BIRD_CONF = """\
router id 192.0.2.1;
protocol static anycast {
  ipv4;
  route 198.51.100.53/32 blackhole;
}
"""


@pytest.fixture
def bird(tmp_path: Path) -> Iterator[Path]:
    """BIRD 2 with one static protocol and no kernel protocol: it touches no route."""
    if which("bird") is None or which("birdc") is None:
        pytest.skip("BIRD 2 (bird, birdc) is not installed")
    (tmp_path / "bird.conf").write_text(BIRD_CONF)
    socket = tmp_path / "bird.ctl"
    argv = [which("bird"), "-f", "-c", "bird.conf", "-s", str(socket), "-P", "bird.pid"]
    proc = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.PIPE)  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + 10
        while not socket.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "bird did not start"
            time.sleep(0.05)
        yield socket
    finally:
        proc.terminate()  # by PID
        proc.wait(timeout=10)


def protocol_state(socket: Path) -> str:
    done = subprocess.run(
        [which("birdc") or "birdc", "-s", str(socket), "show", "protocols", "anycast"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return done.stdout.splitlines()[-1].split()[3]


def test_bird_disables_and_enables_the_protocol(bird: Path):
    routing = Bird(
        birdc=(which("birdc") or "birdc", "-s", str(bird)), protocol="anycast", timeout=5
    )
    told = tell(routing, "withdrawn")  # after birdc's "BIRD <version> ready." line
    assert (told.ok, told.output.splitlines()[-1]) == (True, "anycast: disabled")
    assert protocol_state(bird) == "down"
    assert tell(routing, "withdrawn").ok  # "already disabled": told twice is fine
    told = tell(routing, "announced")
    assert (told.ok, told.output.splitlines()[-1]) == (True, "anycast: enabled")
    assert protocol_state(bird) == "up"
    wrong = Bird(birdc=routing.birdc, protocol="anycsat", timeout=5)
    told = tell(wrong, "announced")
    assert not told.ok and "syntax error" in told.output
