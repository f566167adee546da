from ipaddress import ip_address

import pytest
from pydantic import ValidationError

from gslb.monitors.dns import DnsMonitor, DnsSettings
from tests.integration.monitors.servers import DnsResponder

LOCAL = ip_address("127.0.0.1")


@pytest.mark.parametrize(
    ("fields", "ok", "detail"),
    [
        ({"query": "health.example."}, True, "rcode NOERROR"),
        ({"query": "health.example.", "address": "192.0.2.1"}, True,
         "rcode NOERROR, 192.0.2.1 answered"),
        ({"query": "health.example.", "address": "192.0.2.9"}, False,
         "192.0.2.9 not in the answer"),
        ({"query": "nosuch.example."}, False, "rcode NXDOMAIN"),
        ({"query": "nosuch.example.", "rcode": "nxdomain"}, True, "rcode NXDOMAIN"),
        ({"query": "health.example.", "qtype": "TXT"}, True, "rcode NOERROR"),
    ],
)  # fmt: skip
async def test_rcode_and_address(fields, ok, detail):
    responder = await DnsResponder({"health.example.": "192.0.2.1"}).start()
    try:
        spec = DnsSettings.model_validate(fields)
        result = await DnsMonitor().check(LOCAL, responder.port, source=None, timeout=1, spec=spec)
    finally:
        responder.stop()
    assert (result.ok, result.detail) == (ok, detail)


async def test_silent_server_is_down():
    responder = await DnsResponder({}).start()
    responder.mute = True
    try:
        spec = DnsSettings(query="x.example.")
        result = await DnsMonitor().check(
            LOCAL, responder.port, source=None, timeout=0.2, spec=spec
        )
    finally:
        responder.stop()
    assert (result.ok, result.detail) == (False, "timeout")


def test_settings_reject_unknown_types():
    with pytest.raises(ValidationError, match="unknown record type 'BOGUS'"):
        DnsSettings.model_validate({"query": "x.", "qtype": "BOGUS"})
