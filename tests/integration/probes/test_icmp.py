from __future__ import annotations

import logging
from ipaddress import ip_address

import pytest

from gslb.probes import icmp
from tests.integration.probes.conftest import CNC


@pytest.mark.parametrize(("target", "source"), [("127.0.0.1", CNC), ("::1", None)])
async def test_echo_reply(target, source):
    result = await icmp.Icmp().probe(ip_address(target), source=source, port=0, timeout=1.0)
    assert (result.ok, result.detail, result.hops) == (True, "reply", 0)
    assert 0 < result.rtt_us < 1e6


async def test_without_raw_sockets_it_says_so_once_and_disables_itself(monkeypatch, caplog):
    calls = []

    def refuse(*args):
        calls.append(args)
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(icmp, "open_socket", refuse)
    prober = icmp.Icmp()
    with caplog.at_level(logging.WARNING, logger="gslb.probes.icmp"):
        results = [
            await prober.probe(ip_address("127.0.0.1"), source=None, port=0, timeout=1.0)
            for _ in range(3)
        ]
    assert {(r.rtt_us, r.detail) for r in results} == {(None, "disabled")}
    assert len(calls) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "probe_disabled: protocol=icmp reason='Operation not permitted'"
    ]
