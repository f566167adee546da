from ipaddress import ip_address

from gslb.monitors.tcp import TcpMonitor, TcpSettings
from tests.integration.monitors.servers import TcpServer

LOCAL = ip_address("127.0.0.1")


async def check(port: int, timeout: float = 1.0, **fields: object):
    spec = TcpSettings.model_validate(fields)
    return await TcpMonitor().check(LOCAL, port, source=None, timeout=timeout, spec=spec)


async def test_connect_then_refused_when_the_listener_stops():
    server = await TcpServer().start()
    up = await check(server.port)
    assert (up.ok, up.detail) == (True, "connected")
    assert up.latency is not None and 0 <= up.latency < 1
    await server.stop()
    down = await check(server.port)
    assert (down.ok, down.detail) == (False, "connection refused")


async def test_send_and_expect():
    server = await TcpServer(banner=b"220 ready\r\n").start()
    try:
        matched = await check(server.port, send="HELO x\r\n", expect="^220 ")
        assert (matched.ok, matched.detail) == (True, "reply matched")
        missed = await check(server.port, expect="^500")
        assert (missed.ok, missed.detail) == (False, "reply did not match '^500'")
    finally:
        await server.stop()
    assert b"HELO x\r\n" in server.received


async def test_silent_server_times_out():
    server = await TcpServer().start()  # no banner: waits for us
    try:
        result = await check(server.port, timeout=0.2, expect="anything")
    finally:
        await server.stop()
    assert (result.ok, result.detail) == (False, "timeout")


async def test_source_address_is_used():
    server = await TcpServer().start()
    try:
        spec = TcpSettings()
        result = await TcpMonitor().check(
            LOCAL, server.port, source=ip_address("127.0.0.3"), timeout=1, spec=spec
        )
    finally:
        await server.stop()
    assert result.ok
