"""The EDNS Client Subnet option as parse() reads it (RFC 7871 §6): the
address given to its prefix's bytes, host bits zero, scope zero in a query."""

from __future__ import annotations

import struct
from ipaddress import ip_address, ip_network

import dns.edns
import pytest

from gslb.dns.wire import ClientSubnet, parse
from gslb.errors import FormError
from gslb.model import key_of

QUESTION = b"\x03www\x04gslb\x07example\x00" + struct.pack("!HH", 1, 1)


def query(option: bytes) -> bytes:
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(option)) + option
    return struct.pack("!6H", 0x1234, 0, 1, 0, 0, 1) + QUESTION + opt


def ecs(family: int, source: int, scope: int, address: bytes) -> bytes:
    body = struct.pack("!HBB", family, source, scope) + address
    return struct.pack("!HH", 8, len(body)) + body


@pytest.mark.parametrize(
    ("family", "source", "address", "expected"),
    [
        (1, 24, b"\xca\x6a\x01", "202.106.1.0"),
        (1, 20, b"\xca\x6a\x10", "202.106.16.0"),
        (1, 32, b"\xc0\x00\x02\x01", "192.0.2.1"),
        (1, 0, b"", "0.0.0.0"),
        (2, 56, b"\x20\x01\x0d\xb8\x00\x01\x02", "2001:db8:1:200::"),
        (2, 57, b"\x20\x01\x0d\xb8\x00\x01\x02\x80", "2001:db8:1:280::"),
        (2, 128, b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x01", "2001:db8::1"),
    ],
)
def test_a_client_subnet_is_read_to_its_network_address(
    family: int, source: int, address: bytes, expected: str
) -> None:
    edns = parse(query(ecs(family, source, 0, address))).edns
    assert edns is not None
    assert (edns.ecs.family, edns.ecs.source, edns.ecs.address) == (
        family,
        source,
        ip_address(expected),
    )
    assert edns.ecs.key == key_of(ip_address(expected))
    assert edns.ecs.option(source) == ecs(family, source, source, address)


@pytest.mark.parametrize(
    "network", ["202.106.1.0/24", "202.106.16.0/20", "0.0.0.0/0", "2001:db8:1:280::/57"]
)
def test_the_option_explain_offers_is_what_a_client_sends(network: str) -> None:
    """`ClientSubnet.of` (gslbctl explain --ecs) against dnspython's encoding,
    and read back by the parser as the same option."""
    subnet = ip_network(network)
    sent = dns.edns.ECSOption(str(subnet.network_address), subnet.prefixlen, 0).to_wire()
    offered = ClientSubnet.of(subnet)
    assert offered.raw == struct.pack("!HH", 8, len(sent)) + sent
    assert parse(query(offered.raw)).edns.ecs == offered  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "option",
    [
        ecs(1, 20, 0, b"\xca\x6a\x0f"),  # bits beyond the prefix
        ecs(1, 24, 0, b"\xca\x6a\x01\x05"),  # a byte past the prefix
        ecs(1, 24, 0, b"\xca\x6a"),  # a byte short
        ecs(1, 24, 24, b"\xca\x6a\x01"),  # a scope in a query
        ecs(3, 8, 0, b"\x01"),  # no such family
        ecs(1, 33, 0, b"\x01\x02\x03\x04\x05"),
        ecs(2, 129, 0, b"\x20" + b"\x00" * 16),
        ecs(2, 57, 0, b"\x20\x01\x0d\xb8\x00\x01\x02\x7f"),  # bits past /57
    ],
)
def test_a_bad_client_subnet_is_formerr(option: bytes) -> None:
    with pytest.raises(FormError):
        parse(query(option))


@pytest.mark.parametrize("nsid_first", [True, False])
def test_a_client_subnet_among_other_options_is_read_where_it_is(nsid_first: bool) -> None:
    nsid, cookie = struct.pack("!HH", 3, 0), struct.pack("!HH", 10, 8) + b"\x01" * 8
    subnet = ecs(1, 24, 0, b"\xca\x6a\x01")
    options = nsid + cookie + subnet if nsid_first else subnet + cookie + nsid
    edns = parse(query(options)).edns
    assert edns is not None and edns.nsid
    assert edns.ecs == ClientSubnet(1, 24, key_of(ip_address("202.106.1.0")), subnet)
