import ssl
from ipaddress import ip_address
from pathlib import Path

import pytest

from gslb.monitors.http import HttpMonitor, HttpSettings, HttpsMonitor, HttpsSettings, request
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
