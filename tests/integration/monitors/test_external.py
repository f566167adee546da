import os
import sys
import time
from ipaddress import ip_address
from pathlib import Path

from gslb.monitors.external import ExternalMonitor, ExternalSettings

LOCAL = ip_address("127.0.0.1")
# Exits with the port modulo 256 and prints its arguments and environment.
SCRIPT = (
    "import os, sys; print(' '.join(sys.argv[1:]), os.environ['GSLB_MEMBER_ADDRESS'],"
    " os.environ['GSLB_MEMBER_PORT']); sys.exit(int(sys.argv[2]) % 256)"
)


async def check(command: list[str], port: int, timeout: float = 5.0):
    spec = ExternalSettings(command=command)
    return await ExternalMonitor().check(LOCAL, port, source=None, timeout=timeout, spec=spec)


async def test_exit_zero_is_up_other_is_down():
    up = await check([sys.executable, "-c", SCRIPT], 256)
    down = await check([sys.executable, "-c", SCRIPT], 259)
    assert (up.ok, up.detail) == (True, "127.0.0.1 256 127.0.0.1 256")
    assert (down.ok, down.detail) == (False, "exit 3: 127.0.0.1 259 127.0.0.1 259")


async def test_timeout_kills_the_command(tmp_path: Path):
    pidfile = tmp_path / "pid"
    script = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    started = time.monotonic()
    result = await check([sys.executable, "-c", script], 80, timeout=0.5)
    assert (result.ok, result.detail) == (False, "timeout (killed)")
    assert time.monotonic() - started < 3
    pid = int(pidfile.read_text())
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive


async def test_missing_command_is_down():
    result = await check(["/nonexistent/check"], 80)
    assert (result.ok, result.detail) == (False, "cannot run /nonexistent/check: noent")
