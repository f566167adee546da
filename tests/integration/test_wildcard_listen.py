"""A wildcard listen address answers each query from the address it was sent to.

Every 127.0.0.0/8 address is local, so a query to 127.0.0.5 reaches a socket
bound to 0.0.0.0; the reply must come from 127.0.0.5, or the client drops it
(dnspython raises UnexpectedSource, dig times out). IPv6 other than ::1 is
checked in a network namespace of its own (`unshare --net`, gone with the
process) where 2001:db8::5 is put on lo.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import dns.message
import dns.query
import pytest

from gslb.server.udp_listener import UdpListener, WildcardUdpListener
from tests.integration.conftest import (
    ROOT,
    copy_config,
    free_port,
    records,
    set_server,
    start_gslbd,
)

MAIL = "mail.gslb.example. 3600 IN A 127.0.0.25"


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def mail(address: str, port: int) -> list[str]:
    query = dns.message.make_query("mail.gslb.example.", "A")
    # dnspython refuses a reply from any other address than the one asked.
    return records(dns.query.udp(query, address, port=port, timeout=2).answer)


@pytest.mark.parametrize("workers", [1, 2])
def test_gslbd_replies_from_the_address_asked(tmp_path: Path, workers: int):
    ipv6 = ipv6_loopback()
    port = free_port()
    listen = [f"0.0.0.0:{port}", f"[::]:{port}"] if ipv6 else [f"0.0.0.0:{port}"]
    config = set_server(copy_config(tmp_path / "etc"), listen, workers)
    server = start_gslbd(config)
    try:
        addresses = ["127.0.0.1", "127.0.0.5", "127.1.2.3"] + (["::1"] if ipv6 else [])
        for address in addresses:
            assert mail(address, port) == [MAIL], address
        dig = shutil.which("dig")
        if dig is not None:  # a second, independent client
            out = subprocess.run(
                [dig, "@127.0.0.5", "-p", str(port), "+short", "+tries=1", "+time=2",
                 "mail.gslb.example", "A"],
                capture_output=True, text=True, timeout=10,
            )  # fmt: skip
            assert out.stdout == "127.0.0.25\n", out
        tcp = dns.query.tcp(dns.message.make_query("mail.gslb.example.", "A"), "127.0.0.5",
                            port=port, timeout=2)  # fmt: skip
        assert records(tcp.answer) == [MAIL]
    finally:
        server.stop()


def echo(data: bytes, peer: object, transport: str) -> bytes:
    return b"reply:" + data


async def exchange(client: socket.socket, payload: bytes, to: tuple[str, int]) -> tuple[bytes, str]:
    loop = asyncio.get_running_loop()
    client.setblocking(False)
    client.sendto(payload, to)
    deadline = loop.time() + 3
    while True:
        try:
            data, source = client.recvfrom(512)
            return data, source[0]
        except BlockingIOError:
            if loop.time() > deadline:
                raise TimeoutError(f"no reply from {to}") from None
            await asyncio.sleep(0.01)


async def test_a_specific_address_keeps_the_plain_listener():
    listener = UdpListener.bind("127.0.0.1", 0, echo)
    try:
        assert type(listener) is UdpListener
    finally:
        listener.close()


async def test_the_ipv4_wildcard_replies_from_each_address():
    listener = UdpListener.bind("0.0.0.0", 0, echo)
    try:
        assert isinstance(listener, WildcardUdpListener)
        for address in ("127.0.0.1", "127.0.0.5", "127.255.0.9"):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.bind(("127.0.0.1" if address != "127.0.0.1" else "127.0.0.2", 0))
                got = await exchange(client, b"a", (address, listener.port))
                assert got == (b"reply:a", address)
    finally:
        listener.close()


# Run inside its own network namespace: lo up, a second IPv6 address on it,
# a listener on [::] and a client asking each address; prints the sources.
IN_NAMESPACE = """
import asyncio, socket, subprocess
from gslb.server.udp_listener import UdpListener
from tests.integration.test_wildcard_listen import echo, exchange
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["ip", "-6", "addr", "add", "2001:db8::5/128", "dev", "lo", "nodad"], check=True)
async def main():
    listener = UdpListener.bind("::", 0, echo)
    for address in ("2001:db8::5", "::1"):
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as client:
            # From the other address: the route back alone would pick it.
            client.bind(("::1" if address != "::1" else "2001:db8::5", 0))
            print(*await exchange(client, b"q", (address, listener.port)))
asyncio.run(main())
"""


def test_ipv6_wildcard_in_a_namespace():
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None or shutil.which("ip") is None:
        pytest.skip("needs root, unshare and ip for a network namespace")
    done = subprocess.run(
        [unshare, "--net", sys.executable, "-c", IN_NAMESPACE],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["b'reply:q' 2001:db8::5", "b'reply:q' ::1"]
