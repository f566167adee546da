"""DNS over TCP (RFC 7766): the same answers as UDP, no truncation, and the
framing seen from a raw socket: pipelining, split length prefixes, several
queries per connection, the idle timeout, the connection limit, and flow
control against clients that do not read or send one byte at a time.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.update
import pytest

from gslb.server.tcp_listener import SEND_BUFFER
from tests.integration.conftest import (
    BIG_TXT_ZONE,
    Gslbd,
    frame,
    records,
    recv_frame,
    tcp_connect,
)
from tests.integration.ops.helpers import metric
from tests.integration.test_dns_udp import (
    ANY_CASES,
    BIG,
    MID,
    STATIC_CASES,
    Case,
    check,
    check_any_apex,
    question_end,
)


@pytest.mark.parametrize("case", STATIC_CASES + ANY_CASES, ids=lambda c: c.id)
def test_static_answers(shared_gslbd: Gslbd, case: Case) -> None:
    check(shared_gslbd.tcp(dns.message.make_query(case.qname, case.qtype)), case)


def test_any_at_apex_is_one_rrset(shared_gslbd: Gslbd) -> None:
    check_any_apex(shared_gslbd.tcp(dns.message.make_query("gslb.example.", "ANY")))


def test_question_case_preserved(shared_gslbd: Gslbd) -> None:
    query = dns.message.make_query("wWw.GsLb.ExAmPlE.", "A")
    wire = query.to_wire()
    with tcp_connect(shared_gslbd) as sock:
        sock.sendall(frame(wire))
        reply = recv_frame(sock)
    assert reply is not None
    end = question_end(wire)
    assert reply[12:end] == wire[12:end]
    assert records(dns.message.from_wire(reply).answer) == ["wWw.GsLb.ExAmPlE. 30 IN A 127.0.20.1"]


@pytest.mark.parametrize("opcode", [2, 5])
def test_unknown_opcode_is_notimp(shared_gslbd: Gslbd, opcode: int) -> None:
    query = (
        dns.update.UpdateMessage("gslb.example.")
        if opcode == 5
        else dns.message.make_query("www.gslb.example.", "A")
    )
    query.set_opcode(opcode)
    reply = shared_gslbd.tcp(query)
    assert reply.opcode() == opcode
    assert reply.rcode() == dns.rcode.NOTIMP


def test_edns_over_tcp(shared_gslbd: Gslbd) -> None:
    nsid = dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")
    query = dns.message.make_query(
        "www.gslb.example.", "A", want_dnssec=True, payload=4096, options=[nsid]
    )
    reply = shared_gslbd.tcp(query)
    assert reply.payload == 1232
    assert reply.ednsflags & dns.flags.DO
    assert [(int(o.otype), o.to_wire()) for o in reply.options] == [(3, b"gslb-default")]
    assert records(reply.answer) == ["www.gslb.example. 30 IN A 127.0.20.1"]
    badvers = shared_gslbd.tcp(dns.message.make_query("www.gslb.example.", "A", use_edns=1))
    assert badvers.rcode() == dns.rcode.BADVERS


# What UDP truncates, TCP answers in full.
@pytest.mark.parametrize(
    ("qname", "edns", "expected"),
    [("big.gslb.example.", -1, BIG), ("big.gslb.example.", 0, BIG), ("mid.gslb.example.", -1, MID)],
)
def test_tcp_answers_what_udp_truncates(
    big_gslbd: Gslbd, qname: str, edns: int, expected: list[str]
) -> None:
    assert len(BIG_TXT_ZONE.splitlines()) == 48
    query = dns.message.make_query(qname, "TXT", use_edns=edns)
    assert big_gslbd.udp(query).flags & dns.flags.TC
    reply = big_gslbd.tcp(query)
    assert not reply.flags & dns.flags.TC
    assert reply.rcode() == dns.rcode.NOERROR
    assert records(reply.answer) == expected


# Framing, with raw sockets.

PIPELINE = [
    ("www.gslb.example.", "A", "www.gslb.example. 30 IN A 127.0.20.1"),
    ("mail.gslb.example.", "A", "mail.gslb.example. 3600 IN A 127.0.0.25"),
    ("www.gslb.example.", "AAAA", "www.gslb.example. 30 IN AAAA ::1"),
    ("ns1.gslb.example.", "A", "ns1.gslb.example. 3600 IN A 127.0.0.1"),
    ("web.gslb.example.", "A", "web.gslb.example. 30 IN A 127.0.20.1"),
    ("ftp.gslb.example.", "CNAME", "ftp.gslb.example. 3600 IN CNAME www.gslb.example."),
]


def pipeline_queries(first_id: int) -> dict[int, tuple[bytes, str]]:
    """ID -> (query wire, the one answer line expected)."""
    out = {}
    for i, (qname, qtype, answer) in enumerate(PIPELINE):
        query = dns.message.make_query(qname, qtype)
        query.id = first_id + i
        out[query.id] = (query.to_wire(), answer)
    return out


def read_replies(sock: socket.socket, count: int) -> dict[int, dns.message.Message]:
    replies = {}
    for _ in range(count):
        wire = recv_frame(sock)
        assert wire is not None, "connection closed early"
        reply = dns.message.from_wire(wire)
        replies[reply.id] = reply
    return replies


def assert_pipeline_answered(
    queries: dict[int, tuple[bytes, str]], replies: dict[int, dns.message.Message]
) -> None:
    assert sorted(replies) == sorted(queries)  # matched by ID: any order is allowed
    for qid, (_wire, answer) in queries.items():
        assert records(replies[qid].answer) == [answer]


def test_pipelined_queries_in_one_write(shared_gslbd: Gslbd) -> None:
    queries = pipeline_queries(1000)
    with tcp_connect(shared_gslbd) as sock:
        sock.sendall(b"".join(frame(wire) for wire, _ in queries.values()))
        assert_pipeline_answered(queries, read_replies(sock, len(queries)))


def test_length_prefix_split_byte_by_byte(shared_gslbd: Gslbd) -> None:
    queries = pipeline_queries(2000)
    stream = b"".join(frame(wire) for wire, _ in list(queries.values())[:2])
    with tcp_connect(shared_gslbd) as sock:
        for i in range(len(stream)):
            sock.sendall(stream[i : i + 1])
            time.sleep(0.002)
        replies = read_replies(sock, 2)
    assert_pipeline_answered(dict(list(queries.items())[:2]), replies)


def test_frames_split_at_odd_places(shared_gslbd: Gslbd) -> None:
    queries = pipeline_queries(3000)
    stream = b"".join(frame(wire) for wire, _ in queries.values())
    # one write ending inside the 1st prefix, one inside a body, one inside the 4th prefix...
    cuts = [1, 20, 2 + len(next(iter(queries.values()))[0]) + 1, 150, len(stream)]
    cuts = sorted(set(cuts))
    with tcp_connect(shared_gslbd) as sock:
        start = 0
        for cut in cuts:
            sock.sendall(stream[start:cut])
            start = cut
            time.sleep(0.02)
        assert_pipeline_answered(queries, read_replies(sock, len(queries)))


def test_several_queries_on_one_connection(shared_gslbd: Gslbd) -> None:
    with tcp_connect(shared_gslbd) as sock:
        for round_ in range(3):
            for i, (qname, qtype, answer) in enumerate(PIPELINE):
                query = dns.message.make_query(qname, qtype)
                query.id = 4000 + 10 * round_ + i
                sock.sendall(frame(query.to_wire()))
                wire = recv_frame(sock)
                assert wire is not None
                reply = dns.message.from_wire(wire)
                assert reply.id == query.id
                assert records(reply.answer) == [answer]


def query_once(sock: socket.socket, qid: int) -> dns.message.Message | None:
    query = dns.message.make_query("www.gslb.example.", "A")
    query.id = qid
    try:
        sock.sendall(frame(query.to_wire()))
        wire = recv_frame(sock)
    except (ConnectionResetError, BrokenPipeError):
        return None
    return None if wire is None else dns.message.from_wire(wire)


def wait_closed(sock: socket.socket, timeout: float) -> float | None:
    """Seconds until the server closed `sock` (EOF or reset), None if it did not."""
    start = time.monotonic()
    sock.settimeout(timeout)
    try:
        data = sock.recv(1)
    except ConnectionResetError:
        return time.monotonic() - start
    except TimeoutError:
        return None
    assert data == b"", "unexpected data from the server"
    return time.monotonic() - start


EVENTS = "gslb_transport_events_total"


def test_idle_timeout(make_gslbd: Callable[..., Gslbd]) -> None:
    server = make_gslbd(toml=(("tcp_idle_timeout = 10", "tcp_idle_timeout = 1"),))
    # The server's timers start later than the client's marks (at the accept,
    # at an answer), on its loop's clock: stamped once per turn of the loop
    # and, under uvloop, in whole milliseconds, hence 0.9 s, not 1.0.
    opened = time.monotonic()
    with tcp_connect(server) as idle, tcp_connect(server) as busy:
        # An active connection outlives the idle one: each answer re-arms its
        # timer. A query every 0.2 s (plus what the load adds) until the
        # idle one is closed, bounded; conditions, not a schedule.
        deadline = opened + 15.0
        closed = None
        for i in range(200):
            reply = query_once(busy, 100 + i)
            assert reply is not None, f"busy connection closed after {i} queries"
            assert records(reply.answer) == ["www.gslb.example. 30 IN A 127.0.20.1"]
            if wait_closed(idle, timeout=0.2) is not None:
                closed = time.monotonic()
                break
            if time.monotonic() > deadline:
                break
        assert closed is not None, "idle connection still open after 15 s"
        assert closed - opened >= 0.9, f"idle connection closed after {closed - opened:.2f} s"
        last_query = time.monotonic()  # before the query, so before the answer re-arming it
        assert query_once(busy, 999) is not None, "busy connection closed with the idle one"
        # and the busy one goes too, one timeout after its last answer
        assert wait_closed(busy, timeout=15.0) is not None, "connection still open"
        assert 0.9 <= time.monotonic() - last_query <= 15.0
    assert metric(server, EVENTS, transport="tcp", event="idle_timeout") == 2


def test_connection_limit(make_gslbd: Callable[..., Gslbd]) -> None:
    server = make_gslbd(toml=(("tcp_max_connections = 256", "tcp_max_connections = 2"),))
    first, second = tcp_connect(server), tcp_connect(server)
    try:
        assert query_once(first, 1) is not None
        assert query_once(second, 2) is not None
        with tcp_connect(server) as third:
            assert query_once(third, 3) is None, "a 3rd connection was served"
            assert wait_closed(third, timeout=2.0) is not None
        assert metric(server, EVENTS, transport="tcp", event="refused") == 1
        # the first two still work
        for sock, qid in ((first, 4), (second, 5)):
            reply = query_once(sock, qid)
            assert reply is not None
            assert reply.id == qid
            assert records(reply.answer) == ["www.gslb.example. 30 IN A 127.0.20.1"]
        # a closed connection frees its place
        first.close()
        deadline = time.monotonic() + 3.0
        reply = None
        while reply is None and time.monotonic() < deadline:
            with tcp_connect(server) as again:
                reply = query_once(again, 6)
            if reply is None:
                time.sleep(0.05)
        assert reply is not None, "the limit was not released"
        assert records(reply.answer) == ["www.gslb.example. 30 IN A 127.0.20.1"]
    finally:
        first.close()
        second.close()


def test_connection_limit_per_client(make_gslbd: Callable[..., Gslbd]) -> None:
    server = make_gslbd(toml=(("tcp_max_connections = 256", "tcp_max_connections_per_client = 2"),))
    held = [tcp_connect(server, source="127.0.0.7") for _ in range(2)]
    try:
        for n, sock in enumerate(held):
            assert query_once(sock, n) is not None
        for n in range(5):  # the greedy client is refused, again and again
            with tcp_connect(server, source="127.0.0.7") as more:
                assert query_once(more, 10 + n) is None, "a 3rd connection of a client served"
                assert wait_closed(more, timeout=2.0) is not None
        with tcp_connect(server, source="127.0.0.8") as other:  # another client is served
            reply = query_once(other, 20)
            assert reply is not None
            assert records(reply.answer) == ["www.gslb.example. 30 IN A 127.0.20.1"]
        assert metric(server, EVENTS, transport="tcp", event="refused_client") == 5
        assert metric(server, EVENTS, transport="tcp", event="refused") == 0
        held.pop().close()  # a closed connection frees the client's place
        deadline = time.monotonic() + 3.0
        reply = None
        while reply is None and time.monotonic() < deadline:
            with tcp_connect(server, source="127.0.0.7") as again:
                reply = query_once(again, 30)
            if reply is None:
                time.sleep(0.05)
        assert reply is not None, "the client's limit was not released"
    finally:
        for sock in held:
            sock.close()


def test_axfr_is_refused(shared_gslbd: Gslbd) -> None:
    query = dns.message.make_query("gslb.example.", "AXFR")
    with tcp_connect(shared_gslbd) as sock:
        sock.sendall(frame(query.to_wire()))
        wire = recv_frame(sock)
    assert wire is not None
    reply = dns.message.from_wire(wire)
    assert reply.id == query.id
    assert reply.rcode() == dns.rcode.REFUSED
    assert reply.answer == []


# Flow control and slow clients.


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/<pid>/status")


def query_blob(count: int) -> bytes:
    """`count` pipelined queries in one string of frames."""
    wire = dns.message.make_query("www.gslb.example.", "A").to_wire()
    return frame(wire) * count


def not_reading(server: Gslbd) -> socket.socket:
    """A connection whose side of the stream fills at once: a small receive buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((server.host, server.port))
    sock.setblocking(False)
    return sock


def push(sock: socket.socket, blob: bytes) -> int:
    """Send what the stream takes right now, without blocking; bytes sent."""
    try:
        return sock.send(blob)
    except BlockingIOError:
        return 0


FLOOD_CONNECTIONS = 8
FLOOD_SECONDS = 6.0
RSS_GROWTH_BOUND_KIB = 16 * 1024


def test_clients_that_never_read_do_not_grow_the_server(gslbd: Gslbd) -> None:
    blob = query_blob(4096)  # 135 KB a send
    sane = ["www.gslb.example. 30 IN A 127.0.20.1"]
    flood = [not_reading(gslbd) for _ in range(FLOOD_CONNECTIONS)]
    try:
        time.sleep(0.2)
        before = rss_kib(gslbd.proc.pid)
        sent = 0
        start = time.monotonic()
        next_check = start
        answered = 0
        while time.monotonic() - start < FLOOD_SECONDS:
            for sock in flood:
                sent += push(sock, blob)
            if time.monotonic() >= next_check:
                # the others are answered meanwhile, over both transports
                query = dns.message.make_query("www.gslb.example.", "A")
                assert records(gslbd.udp(query).answer) == sane
                assert records(gslbd.tcp(query).answer) == sane
                answered += 1
                next_check += 0.5
            growth = rss_kib(gslbd.proc.pid) - before
            assert growth < RSS_GROWTH_BOUND_KIB, f"RSS +{growth} KiB after {sent} bytes of queries"
            time.sleep(0.005)
        assert answered >= FLOOD_SECONDS / 0.5 - 1
        assert sent > 1_000_000, "the flood did not flow"
    finally:
        for sock in flood:
            sock.close()


def test_a_client_that_never_reads_is_cut_off_after_the_idle_timeout(
    make_gslbd: Callable[..., Gslbd],
) -> None:
    server = make_gslbd(toml=(("tcp_idle_timeout = 10", "tcp_idle_timeout = 1"),))
    blob = query_blob(1024)
    with not_reading(server) as sock:
        start = time.monotonic()
        cut = None
        while cut is None and time.monotonic() - start < 5.0:
            try:
                push(sock, blob)
            except (ConnectionResetError, BrokenPipeError):
                cut = time.monotonic() - start
            time.sleep(0.01)
    assert cut is not None, "a connection that reads nothing was kept for 5 s"
    assert 0.8 <= cut <= 3.0


def dribble_closed(
    sock: socket.socket, stream: bytes, interval: float, limit: float
) -> float | None:
    """Send `stream` one byte every `interval` seconds; seconds until the
    server closed the connection, None if it was open after `limit`."""
    sock.setblocking(False)
    start = time.monotonic()
    for i in range(len(stream)):
        try:
            sock.send(stream[i : i + 1])
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline:
            try:
                if sock.recv(4096) == b"":
                    return time.monotonic() - start
            except BlockingIOError:
                pass
            except ConnectionResetError:
                return time.monotonic() - start
            time.sleep(0.02)
        if time.monotonic() - start > limit:
            return None
    return None


def test_a_frame_sent_one_byte_at_a_time_is_closed_after_the_idle_timeout(
    make_gslbd: Callable[..., Gslbd],
) -> None:
    server = make_gslbd(toml=(("tcp_idle_timeout = 10", "tcp_idle_timeout = 1"),))
    stream = query_blob(1)
    with tcp_connect(server) as sock:
        closed = dribble_closed(sock, stream, interval=0.3, limit=4.0)
    assert closed is not None, "one byte every 0.3 s held the connection open"
    assert 0.8 <= closed <= 2.5


def test_an_answered_query_restarts_the_idle_timer_but_half_a_frame_does_not(
    make_gslbd: Callable[..., Gslbd],
) -> None:
    server = make_gslbd(toml=(("tcp_idle_timeout = 10", "tcp_idle_timeout = 1"),))
    with tcp_connect(server) as sock:
        time.sleep(0.7)
        reply = query_once(sock, 7)  # answered at 0.7 s: the timer starts again
        assert reply is not None
        answered = time.monotonic()
        closed = dribble_closed(sock, query_blob(1), interval=0.3, limit=4.0)
    assert closed is not None, "one byte every 0.3 s held the connection open"
    assert 0.8 <= time.monotonic() - answered <= 2.5


def test_a_connection_send_buffer_is_capped(shared_gslbd: Gslbd) -> None:
    """The server side of a connection keeps SO_SNDBUF at SEND_BUFFER (the
    kernel doubles it), as `ss` reports it, instead of autotuning it to MB."""
    with tcp_connect(shared_gslbd) as sock:
        assert query_once(sock, 7) is not None
        client_port = sock.getsockname()[1]
        out = subprocess.run(
            ["ss", "-tmnH", "state", "established", f"( dport = :{client_port} )"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    sndbuf = re.search(r"\btb(\d+)\b", out)
    assert sndbuf is not None and f":{client_port}" in out, out
    assert int(sndbuf.group(1)) == 2 * SEND_BUFFER, out
