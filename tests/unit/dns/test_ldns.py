"""Who the LDNS is: the resolver, or the client subnet it passes on."""

from ipaddress import ip_address, ip_network

import pytest

from gslb.dns.ldns import ldns_of, unmapped
from gslb.dns.wire import ClientSubnet
from gslb.model import key_of

V4_24 = ClientSubnet.of(ip_network("219.172.9.0/24"))
V4_0 = ClientSubnet.of(ip_network("0.0.0.0/0"))
V6_56 = ClientSubnet.of(ip_network("2001:db8:0:100::/56"))


@pytest.mark.parametrize(
    ("peer", "ecs", "allowed", "ldns", "scope"),
    [
        ("202.106.0.20", None, True, "202.106.0.20", 0),
        (ip_address("202.106.0.20"), None, True, "202.106.0.20", 0),
        ("202.106.0.20", V4_24, True, "219.172.9.0", 24),
        ("202.106.0.20", V6_56, True, "2001:db8:0:100::", 56),
        # the wide IP does not allow ECS: the resolver decides
        ("202.106.0.20", V4_24, False, "202.106.0.20", 0),
        # a /0 subnet says nothing about the client: the resolver stays the LDNS
        ("219.172.0.20", V4_0, True, "219.172.0.20", 0),
        # an IPv4 client an IPv6 socket reports, as text or as an address
        ("::ffff:219.172.0.20", None, True, "219.172.0.20", 0),
        (ip_address("::ffff:219.172.0.20"), V4_0, True, "219.172.0.20", 0),
        ("2001:db8::53", None, True, "2001:db8::53", 0),
        ("::ffff:1", None, True, "::ffff:1", 0),  # not a mapped IPv4 address
    ],
)
def test_ldns_of(peer, ecs, allowed, ldns, scope):
    # as the responder and explain call it: the peer unmapped first
    assert ldns_of(unmapped(peer), ecs, allowed) == (key_of(ip_address(ldns)), scope)


def test_unmapped():
    assert unmapped("::ffff:192.0.2.1") == "192.0.2.1"
    assert unmapped(ip_address("::ffff:192.0.2.1")) == ip_address("192.0.2.1")
    assert unmapped("2001:db8::1") == "2001:db8::1"
    assert unmapped(ip_address("192.0.2.1")) == ip_address("192.0.2.1")
