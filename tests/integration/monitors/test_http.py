import asyncio
import contextlib
import ssl
import time
from ipaddress import ip_address
from pathlib import Path

import pytest

from gslb.monitors.base import Endpoint
from gslb.monitors.http import (
    HttpMonitor,
    HttpSettings,
    HttpsMonitor,
    HttpsSettings,
    dechunk,
    request,
    tls_exchange,
)
from tests.integration.monitors.servers import HttpServer, self_signed

LOCAL = ip_address("127.0.0.1")


async def check(port: int, **fields: object):
    spec = HttpSettings.model_validate(fields)
    return await HttpMonitor().check(LOCAL, port, source=None, timeout=1.0, spec=spec)


async def test_200_is_up_then_503_is_down():
    server = await HttpServer().start()
    try:
        up = await check(server.port)
        server.status = 503
        down = await check(server.port)
    finally:
        await server.stop()
    assert (up.ok, up.detail) == (True, "status 200")
    assert (down.ok, down.detail) == (False, "status 503")


async def test_method_path_host_and_body_match():
    server = await HttpServer(status=204, body=b"state: green").start()
    try:
        fields = {"method": "HEAD", "path": "/health?x=1", "host": "www.gslb.example"}
        green = await check(server.port, status=[200, 204], expect="green", **fields)
        red = await check(server.port, status=[204], expect="red")
        wrong_status = await check(server.port)
    finally:
        await server.stop()
    assert (green.ok, green.detail) == (True, "status 204")
    assert (red.ok, red.detail) == (False, "status 204, body did not match 'red'")
    assert (wrong_status.ok, wrong_status.detail) == (False, "status 204")
    assert server.requests[0].startswith(b"HEAD /health?x=1 HTTP/1.1\r\nHost: www.gslb.example\r\n")


async def test_not_http_and_refused():
    from tests.integration.monitors.servers import TcpServer

    garbage = await TcpServer(banner=b"SSH-2.0-x\r\n").start()
    try:
        result = await check(garbage.port)
    finally:
        await garbage.stop()
    assert (result.ok, result.detail) == (False, "not an HTTP response")
    assert (await check(garbage.port)).detail == "connection refused"


def test_request_default_host_names_the_address_and_port():
    assert request(HttpSettings(), ip_address("::1"), 8080).split(b"\r\n")[1] == b"Host: [::1]:8080"
    assert request(HttpsSettings(), LOCAL, 443).split(b"\r\n")[1] == b"Host: 127.0.0.1"


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    cert, key = self_signed(Path(tmp_path_factory.mktemp("tls")))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def test_https_with_and_without_verification(tls_context: ssl.SSLContext):
    server = await HttpServer().start(tls_context)
    monitor = HttpsMonitor()
    try:
        unverified = await monitor.check(
            LOCAL, server.port, source=None, timeout=2, spec=HttpsSettings(verify=False)
        )
        verified = await monitor.check(
            LOCAL, server.port, source=None, timeout=2, spec=HttpsSettings()
        )
    finally:
        await server.stop()
    assert (unverified.ok, unverified.detail) == (True, "status 200")
    assert not verified.ok
    assert verified.detail.startswith("tls: CERTIFICATE_VERIFY_FAILED")


async def test_a_chunked_body_is_decoded_before_expect():
    # "green" is split over two chunks: the raw bytes hold "gr\r\n3;ext=1\r\neen".
    server = await HttpServer(chunks=(b"state: gr", b"een", b" (all 16 members)")).start()
    try:
        green = await check(server.port, expect="state: green \\(all 16 members\\)$")
        chunk_size = await check(server.port, expect="ext=1")
    finally:
        await server.stop()
    assert (green.ok, green.detail) == (True, "status 200")
    assert (chunk_size.ok, chunk_size.detail) == (False, "status 200, body did not match 'ext=1'")


def test_dechunk():
    assert dechunk(b"4\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n") == (
        b"Wikipedia in \r\n\r\nchunks."
    )
    assert dechunk(b"5\r\nhel") == b"hel"  # cut off at the read limit: what came
    assert dechunk(b"zz\r\nhello") == b""


async def test_https_builds_its_tls_context_once(tls_context: ssl.SSLContext):
    server = await HttpServer().start(tls_context)
    spec = HttpsSettings(verify=False)
    monitor = HttpsMonitor()
    try:
        results = [
            await monitor.check(LOCAL, server.port, source=None, timeout=2, spec=spec)
            for _ in range(3)
        ]
    finally:
        await server.stop()
    assert [(r.ok, r.detail) for r in results] == [(True, "status 200")] * 3
    # One context per `verify` for the whole process, whatever the monitor.
    assert HttpsMonitor().tls(spec) is monitor.tls(HttpsSettings(verify=False))
    assert monitor.tls(HttpsSettings()) is monitor.tls(HttpsSettings(verify=True))
    assert monitor.tls(spec) is not monitor.tls(HttpsSettings())
    assert monitor.tls(spec).verify_mode == ssl.CERT_NONE
    assert monitor.tls(HttpsSettings()).verify_mode == ssl.CERT_REQUIRED


async def test_a_trickling_https_backend_holds_its_thread_no_longer_than_the_timeout(
    tls_context: ssl.SSLContext,
):
    """A byte every 0.1 s would satisfy a per-read timeout for ever: the
    exchange as a whole must end at the check's timeout."""

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 X\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):  # 10 s at most
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.1)
        writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0, ssl=tls_context)
    port = server.sockets[0].getsockname()[1]
    spec = HttpsSettings(verify=False)
    context = HttpsMonitor().tls(spec)
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            await asyncio.to_thread(tls_exchange, Endpoint(LOCAL, port, None), spec, 0.5, context)
    finally:
        server.close()
    assert time.monotonic() - started < 2.0


async def test_as_many_https_checks_at_once_as_threads_reserved():
    """Each https check holds a thread for its exchange: with more checks in
    flight than threads, the rest would wait, spending their timeout before
    they even connect. A server that accepts and never speaks holds every
    handshake open, so it sees how many run at once."""
    from gslb.monitors import http

    open_now, most = 0, 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        with contextlib.suppress(ConnectionError):
            await reader.read()  # until the check gives up and closes
        open_now -= 1
        writer.close()

    wanted = 40  # more than the 32 threads there are by default
    http.reserve_threads(wanted)
    server = await asyncio.start_server(silent, "127.0.0.1", 0, backlog=wanted)
    port = server.sockets[0].getsockname()[1]
    spec = HttpsSettings(verify=False)
    try:
        results = await asyncio.gather(
            *(
                HttpsMonitor().check(LOCAL, port, source=None, timeout=1.5, spec=spec)
                for _ in range(wanted)
            )
        )
    finally:
        server.close()
    assert [r.ok for r in results] == [False] * wanted
    assert most == wanted


async def test_the_monitor_runner_reserves_a_thread_per_check_slot(tmp_path: Path):
    from gslb.config import load
    from gslb.monitors import http
    from gslb.monitors.runner import MonitorRunner
    from gslb.snapshot import Snapshot, SnapshotHolder

    cfg = load(Path(__file__).resolve().parents[3] / "etc")
    runner = MonitorRunner(SnapshotHolder(Snapshot.build(cfg)), concurrency=http._tls_threads + 8)
    runner.start()
    try:
        assert http._tls_threads == runner.concurrency
    finally:
        await runner.stop()
