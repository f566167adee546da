"""A data center's link monitor, seen through real DNS answers from a running gslbd."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import dns.message
import pytest

from tests.integration.conftest import Gslbd, copy_config, edit_config, start_gslbd
from tests.integration.ops.helpers import ctl_json, wait_for


class Gateway(threading.Thread):
    """A UDP echo on 127.0.0.1 standing for TEL's ISP gateway; `down()` closes it."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            self.sock.sendto(data, peer)

    def down(self) -> None:
        self.stopping.set()
        self.join(2)
        self.sock.close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    yield gw
    gw.down()


def answer(server: Gslbd) -> str:
    return server.udp(dns.message.make_query("www.gslb.example.", "A")).answer[0][0].address


def member(server: Gslbd, name: str) -> tuple[str, str]:
    """`gslbctl show members`: the member's state and reason."""
    [m] = [m for m in ctl_json(server, "show", "members") if m["name"] == name]
    return m["state"], m["reason"]


def test_link_down_takes_the_datacenter_members_down(tmp_path, gateway: Gateway):
    directory = copy_config(tmp_path / "etc")
    monitor = (
        '\n[[monitor]]\nname = "gw"\ntype = "udp"\nsend = "ping"\n'
        f"port = {gateway.port}\ninterval = 0.1\ntimeout = 0.3\nrise = 1\nfall = 1\n"
    )
    edit_config(
        directory,
        toml=(
            ("[wideip.persistence]\nttl = 300", "[wideip.persistence]\nttl = 0"),
            ('probe_source = "127.0.0.3"\n',
             'probe_source = "127.0.0.3"\nlink_monitor = "gw"\nlink_address = "127.0.0.1"\n'),
        ),
    )  # fmt: skip
    (directory / "wideips.toml").write_text((directory / "wideips.toml").read_text() + monitor)
    server = start_gslbd(directory)
    try:
        dc_state = lambda: {d["name"]: d["state"] for d in ctl_json(server, "show", "datacenters")}  # noqa: E731
        wait_for(lambda: dc_state()["TEL"] == "up", timeout=10, what="TEL link up")
        assert answer(server) == "127.0.20.1"  # topology sends 127.0.0.0/8 to TEL
        port = gateway.port
        gateway.down()
        wait_for(lambda: dc_state()["TEL"] == "down", timeout=10, what="TEL link down")
        assert answer(server) == "127.0.10.1"  # TEL's member is down with its link
        # The probe that saw the link fail may have been in flight as the
        # gateway closed (unanswered: a timeout); every probe after it is
        # refused, and the member's reason is the last probe's.
        transition = "datacenter: name=TEL up -> down reason=link gw: "
        assert server.logged(transition)
        [line] = [line for line in server.log if transition in line]
        assert line.rstrip().split(transition)[1] in ("connection refused", "timeout"), line
        wait_for(
            lambda: (
                member(server, "vs_tel") == ("down", "datacenter TEL link gw: connection refused")
            ),
            timeout=10,
            what="vs_tel down, the link refused",
        )
        back = Gateway(port)
        try:
            wait_for(lambda: answer(server) == "127.0.20.1", timeout=10, what="TEL back")
        finally:
            back.down()
    finally:
        server.stop()
