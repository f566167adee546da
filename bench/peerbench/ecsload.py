"""Distinct-client load: a dnsperf `-B` query stream with one EDNS Client
Subnet /24 per query.

dnsperf asks from one address; a GSLB's real load is many resolvers and
client subnets, each needing its own decision. With ECS (RFC 7871) every
query names its client's subnet, which a server that honours ECS decides on
instead of the resolver's address (gslbd: the wide IP's `ecs`, on by
default; gdnsd's geoip plugin; PowerDNS with `edns-subnet-processing`). So
one dnsperf socket can stand for `SUBNETS` distinct clients.

The stream is dnsperf's binary input (`-B`): each query's wire form after a
two-byte length, as on a TCP stream. Every query is `www.gslb.example. A`
with EDNS (1232 bytes) and an ECS option for a distinct IPv4 /24, drawn
without repetition (a fixed seed) from the unicast /24s outside 0/8, 10/8,
127/8 and 224/3. dnsperf replaces the ID and loops over the file.

The subnets are only ever keys: gslbd probes the resolver that asked
(127.0.0.1), never a client subnet.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

SUBNETS = 300_000
SEED = 14
QNAME = "www.gslb.example."
EDNS_SIZE = 1232
OPTION_ECS = 8
_TYPE_A, _CLASS_IN, _TYPE_OPT = 1, 1, 41
_SKIP = {0, 10, 127}  # first octets never drawn: "this network", private, loopback


def subnets(count: int = SUBNETS, seed: int = SEED) -> list[int]:
    """`count` distinct /24 network addresses (as ints), in a random order."""
    population = [n for n in range(1 << 16, 224 << 16) if (n >> 16) not in _SKIP]
    return [n << 8 for n in random.Random(seed).sample(population, count)]


def _name(text: str) -> bytes:
    labels = [label.encode() for label in text.rstrip(".").split(".")]
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


def query(subnet: int, qname: str = QNAME) -> bytes:
    """One `qname A` query with EDNS and ECS `subnet`/24 (ID 0: dnsperf sets it)."""
    header = struct.pack("!6H", 0, 0, 1, 0, 0, 1)  # no RD: an authoritative question
    question = _name(qname) + struct.pack("!2H", _TYPE_A, _CLASS_IN)
    ecs = struct.pack("!HBB", 1, 24, 0) + subnet.to_bytes(4, "big")[:3]
    option = struct.pack("!2H", OPTION_ECS, len(ecs)) + ecs
    opt = b"\x00" + struct.pack("!2HIH", _TYPE_OPT, EDNS_SIZE, 0, len(option)) + option
    return header + question + opt


def write_stream(path: Path, nets: Iterable[int]) -> int:
    """Write dnsperf's `-B` input: each query after its two-byte length; how many."""
    count = 0
    with path.open("wb") as out:
        for net in nets:
            wire = query(net)
            out.write(len(wire).to_bytes(2, "big") + wire)
            count += 1
    return count


def addresses(nets: Sequence[int]) -> list[str]:
    """The subnets' network addresses as text (for the LDNS table pre-fill)."""
    return [".".join(str(b) for b in n.to_bytes(4, "big")) for n in nets]
