"""Malformed input, from raw sockets: FORMERR when the header can be read,
silence when it cannot (or when the packet is a response), and the server
answers the next good query correctly every time. Ends with a seeded fuzz run.
"""

from __future__ import annotations

import random
import socket
import struct
import time

import dns.message
import pytest

from tests.integration.conftest import (
    IO_PATHS,
    Gslbd,
    frame,
    records,
    recv_frame,
    tcp_connect,
    udp_exchange,
)

# Both UDP loops (gslb.server.batchio): the compiled one and the pure-Python one.
pytestmark = pytest.mark.parametrize("udp_io", IO_PATHS, indirect=True, scope="module")

QID = 0x1234
WWW = b"\x03www\x04gslb\x07example\x00"
GSLB = b"\x04gslb\x07example\x00"
QTAIL = struct.pack("!HH", 1, 1)  # A, IN
WWW_ANSWER = ["www.gslb.example. 30 IN A 127.0.20.1"]


def header(flags: int = 0x0100, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack("!6H", QID, flags, qd, an, ns, ar)


def opt(rdata: bytes, owner: bytes = b"\x00", udp_size: int = 1232) -> bytes:
    return owner + struct.pack("!HHIH", 41, udp_size, 0, len(rdata)) + rdata


def option(code: int, body: bytes) -> bytes:
    return struct.pack("!HH", code, len(body)) + body


def ecs(family: int, source: int, scope: int, address: bytes) -> bytes:
    return option(8, struct.pack("!HBB", family, source, scope) + address)


def with_opt(rdata: bytes) -> bytes:
    return header(ar=1) + WWW + QTAIL + opt(rdata)


GOOD = header() + WWW + QTAIL

FORMERR_CASES = {
    "qdcount 0": header(qd=0),
    "qdcount 0 with a question": header(qd=0) + WWW + QTAIL,
    "qdcount 2": header(qd=2) + WWW + QTAIL + WWW + QTAIL,
    "qdcount 1, no question": header(),
    "question without type and class": header() + WWW,
    "question cut in its class": header() + WWW + b"\x00\x01\x00",
    "name cut inside a label": header() + b"\x03ww",
    "pointer as the question name": header() + b"\xc0\x0c" + QTAIL,  # points at itself: a loop
    "pointer after a label": header() + b"\x03www\xc0\x0c" + QTAIL,
    "pointer forward": header() + b"\xc0\x12" + QTAIL + WWW,
    "label of 64 octets": header() + b"\x40" + b"a" * 64 + GSLB + QTAIL,
    "label type 0x80": header() + b"\x80" + b"a" * 10 + GSLB + QTAIL,
    "name of 256 octets": header() + (b"\x3f" + b"a" * 63) * 3 + b"\x31" + b"b" * 49 + GSLB + QTAIL,
    "name of 321 octets": header() + (b"\x3f" + b"a" * 63) * 5 + b"\x00" + QTAIL,
    "arcount 1, nothing there": header(ar=1) + WWW + QTAIL,
    "OPT cut in its fixed part": header(ar=1) + WWW + QTAIL + b"\x00\x00\x29\x04",
    "OPT rdlen past the end": header(ar=1) + WWW + QTAIL + opt(b"")[:-2] + b"\x00\x0a\x00\x08",
    "EDNS option longer than the OPT": with_opt(b"\x00\x08\x00\x08"),
    "EDNS option cut in its header": with_opt(b"\x00\x08\x00"),
    "two OPT records": header(ar=2) + WWW + QTAIL + opt(b"") + opt(b""),
    "OPT not owned by the root": header(ar=1) + WWW + QTAIL + opt(b"", owner=GSLB),
    "ECS with bits beyond its prefix": with_opt(ecs(1, 20, 0, b"\xca\x6a\x0f")),
    "ECS /24 with a host byte": with_opt(ecs(1, 24, 0, b"\xca\x6a\x01\x05")),
    "ECS address shorter than its prefix": with_opt(ecs(1, 24, 0, b"\xca\x6a")),
    "ECS with a scope in a query": with_opt(ecs(1, 24, 24, b"\xca\x6a\x01")),
    "ECS unknown family": with_opt(ecs(3, 8, 0, b"\x01")),
    "ECS /33 for IPv4": with_opt(ecs(1, 33, 0, b"\x01\x02\x03\x04\x05")),
    "ECS IPv6 /129": with_opt(ecs(2, 129, 0, b"\x20" + b"\0" * 16)),
    "ECS body of 2 octets": with_opt(option(8, b"\x00\x01")),
    "two ECS options": with_opt(ecs(1, 16, 0, b"\xca\x6a") + ecs(1, 16, 0, b"\xdb\xac")),
    "answer count with no answer": header(an=1) + WWW + QTAIL,
    "authority record cut": header(ns=1) + WWW + QTAIL + GSLB + b"\x00\x02\x00",
}

DROP_CASES = {
    "5 octets": GOOD[:5],
    "11 octets": GOOD[:11],
    "empty": b"",
    "QR=1": header(flags=0x8100) + WWW + QTAIL,
    "QR=1 with an answer": header(flags=0x8500, an=1)
    + WWW
    + QTAIL
    + b"\xc0\x0c"
    + struct.pack("!HHIH", 1, 1, 30, 4)
    + b"\x01\x02\x03\x04",
}


def assert_still_serving(server: Gslbd) -> None:
    reply = server.udp(dns.message.make_query("www.gslb.example.", "A"), timeout=2.0)
    assert records(reply.answer) == WWW_ANSWER


def assert_formerr(reply: bytes | None) -> None:
    assert reply is not None, "no reply"
    assert len(reply) >= 12
    qid, flags, _qd, an, _ns, _ar = struct.unpack("!6H", reply[:12])
    assert qid == QID
    assert flags & 0x8000, "QR not set"
    assert (flags >> 11) & 0xF == 0, "opcode not echoed"
    assert flags & 0xF == 1, f"rcode {flags & 0xF}, not FORMERR"
    assert an == 0


def test_the_good_query_is_good(shared_gslbd: Gslbd) -> None:
    """The base every malformed case is cut from is itself answered."""
    reply = udp_exchange(shared_gslbd, GOOD)
    assert reply is not None
    assert records(dns.message.from_wire(reply).answer) == WWW_ANSWER
    reply = udp_exchange(shared_gslbd, with_opt(ecs(1, 24, 0, b"\xca\x6a\x01")))
    assert reply is not None
    assert records(dns.message.from_wire(reply).answer) == ["www.gslb.example. 30 IN A 127.0.10.1"]


@pytest.mark.parametrize("payload", FORMERR_CASES.values(), ids=FORMERR_CASES.keys())
def test_formerr(shared_gslbd: Gslbd, payload: bytes) -> None:
    assert_formerr(udp_exchange(shared_gslbd, payload))
    assert_still_serving(shared_gslbd)


@pytest.mark.parametrize("payload", DROP_CASES.values(), ids=DROP_CASES.keys())
def test_dropped(shared_gslbd: Gslbd, payload: bytes) -> None:
    assert udp_exchange(shared_gslbd, payload, timeout=0.5) is None
    assert_still_serving(shared_gslbd)


def test_name_of_255_octets_is_legal(shared_gslbd: Gslbd) -> None:
    """The boundary: 255 octets is a name (NXDOMAIN here), 256 is FORMERR."""
    name = (b"\x3f" + b"a" * 63) * 3 + b"\x30" + b"b" * 48 + GSLB
    assert len(name) == 255
    reply = udp_exchange(shared_gslbd, header() + name + QTAIL)
    assert reply is not None
    message = dns.message.from_wire(reply)
    assert message.rcode() == 3
    assert records(message.authority) == [
        "gslb.example. 300 IN SOA ns1.gslb.example. hostmaster.gslb.example. "
        "2026112101 3600 600 1209600 300"
    ]


def test_garbage(shared_gslbd: Gslbd) -> None:
    rng = random.Random(20261121)
    formerr = 0
    for _ in range(20):
        junk = bytearray(rng.randbytes(100))
        junk[2] &= 0x07  # QR = 0, opcode QUERY: the header can be read
        reply = udp_exchange(shared_gslbd, bytes(junk), timeout=0.3)
        assert reply is not None
        assert reply[:2] == junk[:2]
        assert reply[2] & 0x80
        formerr += reply[3] & 0xF == 1
    assert formerr == 20
    assert_still_serving(shared_gslbd)


def test_malformed_frames_over_tcp(shared_gslbd: Gslbd) -> None:
    """A bad frame gets FORMERR or nothing; the connection keeps serving."""
    good = dns.message.make_query("www.gslb.example.", "A")
    good.id = 0x4242
    with tcp_connect(shared_gslbd) as sock:
        sock.sendall(
            frame(GOOD[:5])
            + frame(DROP_CASES["QR=1"])
            + frame(FORMERR_CASES["label of 64 octets"])
            + frame(good.to_wire())
        )
        assert_formerr(recv_frame(sock))
        wire = recv_frame(sock)
    assert wire is not None
    reply = dns.message.from_wire(wire)
    assert reply.id == 0x4242
    assert records(reply.answer) == WWW_ANSWER


BASES = [
    GOOD,
    with_opt(ecs(1, 24, 0, b"\xca\x6a\x01") + option(3, b"")),
    header(ar=1) + b"\x04docs" + GSLB + struct.pack("!HH", 255, 1) + opt(b"", udp_size=4096),
    header() + b"\x01x\x01y\x03app" + GSLB + struct.pack("!HH", 28, 1),
    header() + b"\x03sub" + GSLB + struct.pack("!HH", 2, 1),
]


def mutate(rng: random.Random, base: bytes) -> bytes:
    data = bytearray(base)
    kind = rng.randrange(5)
    if kind == 0:  # overwrite a few octets
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:  # truncate
        del data[rng.randrange(len(data)) :]
    elif kind == 2:  # insert
        at = rng.randrange(len(data) + 1)
        data[at:at] = rng.randbytes(rng.randint(1, 8))
    elif kind == 3:  # counts
        data[4:12] = rng.randbytes(8)
    else:  # flip bits anywhere past the ID, incl. flags
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(2, len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def test_fuzz_udp(shared_gslbd: Gslbd) -> None:
    rng = random.Random(7766)
    start = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for i in range(1, 2001):
            sock.sendto(mutate(rng, rng.choice(BASES)), (shared_gslbd.host, shared_gslbd.port))
            if i % 100 == 0:
                assert shared_gslbd.proc.poll() is None, f"server died after {i} packets"
                assert_still_serving(shared_gslbd)
                try:  # replies to the mutations are not looked at; do not let them pile up
                    while sock.recv(65535):
                        pass
                except BlockingIOError:
                    pass
    assert time.monotonic() - start < 10.0
    assert shared_gslbd.proc.poll() is None
    assert_still_serving(shared_gslbd)
    # nothing reached the hot path's catch-all (a SERVFAIL is a parser bug)
    assert not [line for line in shared_gslbd.log if "servfail" in line or "Traceback" in line]


def test_fuzz_tcp(shared_gslbd: Gslbd) -> None:
    rng = random.Random(1035)
    good = dns.message.make_query("www.gslb.example.", "A")
    good.id = 0xF00D
    stream = b"".join(frame(mutate(rng, rng.choice(BASES))) for _ in range(300))
    with tcp_connect(shared_gslbd, timeout=5.0) as sock:
        sock.sendall(stream + frame(good.to_wire()))
        for _ in range(301):
            wire = recv_frame(sock)
            assert wire is not None, "connection closed"
            if wire[:2] == b"\xf0\x0d":
                reply = dns.message.from_wire(wire)
                if reply.question == good.question:
                    break
        else:
            pytest.fail("the good query was not answered")
    assert records(reply.answer) == WWW_ANSWER
    assert shared_gslbd.proc.poll() is None


def test_an_oversized_datagram_is_cut_and_answered_formerr(shared_gslbd: Gslbd) -> None:
    """UDP reads at most 4096 bytes: a longer query loses its tail, and the
    rest (an OPT whose rdata runs past the end) is malformed."""
    query = header(ar=1) + b"\x03www" + GSLB + QTAIL
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 6000) + struct.pack("!HH", 65001, 5996)
    datagram = query + opt + b"\x00" * 5996
    assert len(datagram) > 4096
    reply = udp_exchange(shared_gslbd, datagram)
    assert reply is not None
    assert reply[3] & 0xF == 1  # FORMERR
    assert_still_serving(shared_gslbd)
