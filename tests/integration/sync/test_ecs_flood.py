"""A flood of distinct ECS subnets from one resolver at one node.

Every subnet is a new LDNS table key, all with the same probe target (the
resolver). Group-wide that must stay one probe per data center per
interval: node CNC measures the resolver once and reuses it for the other
keys, and node TEL, asked by CNC's requests, does the same on its side.
"""

from __future__ import annotations

import time

import dns.edns
import dns.message
import dns.query

from tests.integration.sync.conftest import SEED, STEADY, until

SUBNETS = 200


def test_an_ecs_flood_is_one_probe_per_datacenter_group_wide(make_node, nats_server, ldns):
    fake, port = ldns
    cnc = make_node("cnc-1", ["CNC"], port, [nats_server.url], **STEADY)
    tel = make_node("tel-1", ["TEL"], port, [nats_server.url], **STEADY)
    for node in (cnc, tel):
        assert node.server.logged(f"sync: connected node={node.name}", timeout=10)
    for i in range(SUBNETS):
        subnet = dns.edns.ECSOption(f"10.{i // 256}.{i % 256}.0", 24)
        query = dns.message.make_query("www.gslb.example.", "A", use_edns=0, options=[subnet])
        reply = dns.query.udp(
            query, cnc.server.host, port=cnc.server.port, source=SEED.ldns, timeout=2
        )
        assert reply.answer
    last = f"10.{(SUBNETS - 1) // 256}.{(SUBNETS - 1) % 256}.0"
    # The last subnet reached TEL as a request and took TEL's measurement.
    until(lambda: set(tel.ldns(last)) == {"CNC", "TEL"}, 10, "both paths of the last subnet")
    until(lambda: set(cnc.ldns(last)) == {"CNC", "TEL"}, 10, "both paths at CNC")
    # A duplicate would come soon after (requests go out every 0.2 s, a probe
    # times out in 0.5 s here): give it a while to show before counting.
    time.sleep(1.5)
    sources = [source for source, _ in fake.received]
    assert sorted(sources) == [SEED.cnc_source, SEED.tel_source], sources
