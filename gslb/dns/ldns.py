"""Who the LDNS is: the one answer the responder and `gslbctl explain` share.

A query for a wide IP is decided for its LDNS: the resolver that sent it
(the peer), or, when the wide IP allows EDNS Client Subnet (`ecs = true`)
and the query carries a subnet, that client subnet (RFC 7871); the reply's
scope is then the subnet's source prefix length. A /0 subnet says nothing
about the client, so the resolver stays the LDNS (scope 0). An IPv4 client
that an IPv6 socket reports as ::ffff:a.b.c.d is that IPv4 address: one
address, one LDNS, whichever socket it came by.
"""

from __future__ import annotations

from typing import Final

from gslb.dns.wire import ClientSubnet
from gslb.model import IPAddress, key_of, key_of_text

MAPPED: Final = "::ffff:"  # an IPv4 client as an IPv6 socket reports it


def unmapped(peer: IPAddress | str) -> IPAddress | str:
    """The peer as the address it is: ::ffff:192.0.2.1 is 192.0.2.1."""
    if isinstance(peer, str):
        return peer[7:] if peer.startswith(MAPPED) and "." in peer else peer
    if peer.version == 6 and peer.ipv4_mapped is not None:
        return peer.ipv4_mapped
    return peer


def ldns_of(peer: IPAddress | str, ecs: ClientSubnet | None, allowed: bool) -> tuple[int, int]:
    """The LDNS of a query from `peer` (`unmapped` already: the responder
    unmaps every peer once) carrying the client subnet `ecs` (None: none) for
    a wide IP that allows ECS or not: the key the decision is made for
    (`gslb.model.key_of`) and the ECS scope of the reply (0: the resolver
    decided). A plain tuple: this runs on every wide IP query."""
    if allowed and ecs is not None and ecs.source > 0:
        return ecs.key, ecs.source
    return (key_of_text(peer) if peer.__class__ is str else key_of(peer)), 0  # type: ignore[arg-type]
