"""Who queried, through a real gslbd: every ECS client subnet's queries
counted in the LDNS table, however many subnets a second (the probe
scheduler's tick folds them a slice at a time, gslb/probes/scheduler.py)."""

from __future__ import annotations

import time
from ipaddress import IPv4Address

import dns.edns
import dns.message
import dns.query

from gslb.ldnsfile import save
from gslb.probes.scheduler import COUNT_SLICE, SEEN_SLICE
from tests.integration.conftest import PROBES_OFF
from tests.integration.ops.helpers import ctl_json

# More than several slices of each kind: 10.0.0.0/24, 10.0.1.0/24, ...
SUBNETS = [IPv4Address(0x0A000000 + (i << 8)) for i in range(4 * COUNT_SLICE + 3 * SEEN_SLICE + 7)]
TWICE = SUBNETS[:5] + SUBNETS[-5:]


def ask(host: str, port: int, subnet: IPv4Address) -> None:
    option = dns.edns.ECSOption(str(subnet), 24)
    query = dns.message.make_query("www.gslb.example.", "A", use_edns=0, options=[option])
    reply = dns.query.udp(query, host, port=port, timeout=2)
    assert reply.answer, reply


def test_every_client_subnet_queried_is_counted_once_per_query(make_gslbd, tmp_path):
    state = tmp_path / "ldns.json"
    now = time.time()
    # The subnets in the table already (no paths: topology answers), their
    # probe target the resolver; nothing probed (no data center probes).
    save(state, [[str(s), "127.0.0.1", now, now, 0, "", 0, []] for s in SUBNETS], now)
    probes = f'{PROBES_OFF}state_file = "{state}"\nldns_ttl = 3600\n'
    server = make_gslbd(toml=((PROBES_OFF, probes),))
    for subnet in SUBNETS + TWICE:
        ask(server.host, server.port, subnet)
    expected = {str(s): 2 if s in TWICE else 1 for s in SUBNETS}

    def counted() -> dict[str, int]:
        shown = ctl_json(server, "show", "ldns", "--limit", str(2 * len(SUBNETS)))
        return {e["address"]: e["queries"] for e in shown}

    deadline = time.monotonic() + 20
    while (seen := counted()) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert seen == expected
