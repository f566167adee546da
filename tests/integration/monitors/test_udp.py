from ipaddress import ip_address

from gslb.monitors.udp import UdpMonitor, UdpSettings
from tests.integration.monitors.servers import UdpEcho

LOCAL = ip_address("127.0.0.1")


async def check(port: int, timeout: float = 0.5, **fields: object):
    spec = UdpSettings.model_validate({"send": "ping", **fields})
    return await UdpMonitor().check(LOCAL, port, source=None, timeout=timeout, spec=spec)


async def test_echo_up_mute_times_out_closed_is_refused():
    echo = await UdpEcho(prefix=b"pong:").start()
    try:
        up = await check(echo.port, expect="^pong:ping$")
        mismatch = await check(echo.port, timeout=0.2, expect="^nope")
        echo.mute = True
        silent = await check(echo.port, timeout=0.2)
    finally:
        echo.stop()
    refused = await check(echo.port)
    assert (up.ok, up.detail) == (True, "reply")
    assert (mismatch.ok, mismatch.detail) == (False, "timeout")
    assert (silent.ok, silent.detail) == (False, "timeout")
    assert (refused.ok, refused.detail) == (False, "connection refused")
