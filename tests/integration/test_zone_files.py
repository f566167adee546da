"""Zone files as operators write them, served by a real gslbd and read back
by dnspython: every record type from its presentation form, $INCLUDE'd and
$GENERATE'd records, DNAME synthesis; and Knot, fed the same records, as a
second implementation to agree with.

The zone is etc/'s gslb.example. with `$INCLUDE types.zone` (one record of
each type, TYPES below), `$INCLUDE sub/hosts.zone v2` (whose own $INCLUDE is
relative to sub/) and two $GENERATE runs appended.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from tests.integration.conftest import Gslbd, copy_config, free_port, records, start_gslbd
from tests.integration.netns import which
from tests.integration.test_e2e_resolver import knot_conf

ORIGIN = dns.name.from_text("gslb.example.")
SHA256 = "ab" * 32
# (owner relative to gslb.example., type, rdata as an operator writes it)
TYPES = [
    ("legacy", "DNAME", "gslb.example."),
    ("svc", "SVCB", '1 web alpn="h2,h3" port=8443 ipv4hint=127.0.20.1'),
    ("@", "HTTPS", "1 . alpn=h3,h2 ipv6hint=::1"),
    ("alias", "HTTPS", "0 www"),
    ("@", "LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m"),
    ("box", "HINFO", '"PC" "Linux 6.1"'),
    ("_ftp._tcp", "URI", '10 1 "ftp://ftp.gslb.example/pub"'),
    ("@", "RP", "hostmaster notes"),
    ("@", "NAPTR", '100 10 "S" "SIP+D2U" "" _sip._udp'),
    ("_443._tcp.web", "TLSA", f"3 1 1 {SHA256}"),
    ("box", "SSHFP", f"4 2 ( {SHA256[:32]}\n    {SHA256[32:]} )"),
    ("ca", "CAA", '0 iodef "mailto:security@gslb.example"'),
    ("@", "DNSKEY", "257 3 13 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="),
    ("@", "SPF", '"v=spf1 -all"'),
    ("key", "OPENPGPKEY", "AQIDBA=="),
    ("_25._tcp.mail", "SMIMEA", "3 1 0 00ff"),
    ("old", "TYPE65534", "\\# 4 0a000001"),
    ("t", "TXT", '"a b" "c\\"d" "\\065\\255" plain'),
    ("_sips._tcp", "SRV", "0 5 5061 mail"),
    ("mx2", "MX", "5 mail"),
    ("aaaa", "AAAA", "2001:db8::53"),
]
TYPES_ZONE = "".join(f"{owner} 600 IN {rtype} {text}\n" for owner, rtype, text in TYPES)
HOSTS_ZONE = "$INCLUDE more/mx.zone\nhost A 127.0.3.1\n"
MX_ZONE = "@ MX 10 mail.gslb.example.\n"
GENERATE = "$GENERATE 1-40 host-$ A 127.0.1.$\n$GENERATE 0-3 ${0,1,x}.rev 60 PTR host-$\n"


def expected_rrset(owner: str, rtype: str, ttl: int, *texts: str) -> dns.rrset.RRset:
    name = ORIGIN if owner == "@" else dns.name.from_text(owner, ORIGIN)
    rdatas = [
        dns.rdata.from_text(dns.rdataclass.IN, rtype, t, origin=ORIGIN, relativize=False)
        for t in texts
    ]
    return dns.rrset.from_rdata_list(name, ttl, rdatas)


def same(section: list[dns.rrset.RRset], expected: list[dns.rrset.RRset]) -> bool:
    """The same RRsets in the same order, TTLs included (RRset equality leaves
    TTLs out)."""
    return [(r.name, r.rdtype) for r in section] == [(r.name, r.rdtype) for r in expected] and (
        records(section) == records(expected)
    )


def ask(host: str, port: int, owner: str, rtype: str) -> dns.message.Message:
    name = ORIGIN if owner == "@" else dns.name.from_text(owner, ORIGIN)
    query = dns.message.make_query(name, rtype)
    return dns.query.tcp(query, host, port=port, timeout=3.0)  # TCP: big RRsets whole


@pytest.fixture(scope="module")
def zone_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = copy_config(tmp_path_factory.mktemp("zonefiles") / "etc")
    (directory / "types.zone").write_text(TYPES_ZONE)
    (directory / "sub" / "more").mkdir(parents=True)
    (directory / "sub" / "hosts.zone").write_text(HOSTS_ZONE)
    (directory / "sub" / "more" / "mx.zone").write_text(MX_ZONE)
    zone = directory / "gslb.example.zone"
    includes = "$INCLUDE types.zone\n$INCLUDE sub/hosts.zone v2\n"
    zone.write_text(zone.read_text() + includes + GENERATE)
    return directory


@pytest.fixture(scope="module")
def server(zone_dir: Path) -> Iterator[Gslbd]:
    gslbd = start_gslbd(zone_dir)
    try:
        yield gslbd
    finally:
        gslbd.stop()


@pytest.mark.parametrize(("owner", "rtype", "text"), TYPES, ids=[f"{t[1]}" for t in TYPES])
def test_every_type_is_served_as_dnspython_reads_it(
    server: Gslbd, owner: str, rtype: str, text: str
) -> None:
    reply = ask(server.host, server.port, owner, rtype)
    assert reply.rcode() == dns.rcode.NOERROR
    assert same(reply.answer, [expected_rrset(owner, rtype, 600, text.replace("\n", " "))])


def test_generated_names_are_answered(server: Gslbd) -> None:
    for i in (1, 2, 39, 40):
        reply = ask(server.host, server.port, f"host-{i}", "A")
        assert same(reply.answer, [expected_rrset(f"host-{i}", "A", 3600, f"127.0.1.{i}")])
    assert ask(server.host, server.port, "host-41", "A").rcode() == dns.rcode.NXDOMAIN
    for i in range(4):
        reply = ask(server.host, server.port, f"{i:x}.rev", "PTR")
        assert same(reply.answer, [expected_rrset(f"{i:x}.rev", "PTR", 60, f"host-{i}")])


def test_included_records_are_answered_under_their_origin(server: Gslbd) -> None:
    reply = ask(server.host, server.port, "host.v2", "A")
    assert same(reply.answer, [expected_rrset("host.v2", "A", 3600, "127.0.3.1")])
    reply = ask(server.host, server.port, "v2", "MX")
    assert same(reply.answer, [expected_rrset("v2", "MX", 3600, "10 mail.gslb.example.")])
    # The includer's origin is back after the $INCLUDE: not host.v2.v2.
    assert ask(server.host, server.port, "host-1.v2", "A").rcode() == dns.rcode.NXDOMAIN


def test_dname_synthesis(server: Gslbd) -> None:
    reply = ask(server.host, server.port, "mail.legacy", "A")
    assert reply.rcode() == dns.rcode.NOERROR
    assert same(
        reply.answer,
        [
            expected_rrset("legacy", "DNAME", 600, "gslb.example."),
            expected_rrset("mail.legacy", "CNAME", 600, "mail"),
            expected_rrset("mail", "A", 3600, "127.0.0.25"),
        ],
    )
    # A wide IP reached through a DNAME is decided as if asked for directly.
    reply = ask(server.host, server.port, "www.legacy", "A")
    assert same(
        reply.answer,
        [
            expected_rrset("legacy", "DNAME", 600, "gslb.example."),
            expected_rrset("www.legacy", "CNAME", 600, "www"),
            expected_rrset("www", "A", 30, "127.0.20.1"),
        ],
    )


# Knot, fed the same records in one file, must serve what gslbd serves.


@pytest.fixture(scope="module")
def knot(zone_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    knotd = which("knotd")
    if knotd is None:
        pytest.skip("not installed: knotd (Debian: knot; .ci/run installs it)")
    directory = tmp_path_factory.mktemp("knot")
    zone = (zone_dir / "gslb.example.zone").read_text()
    zone = zone[: zone.index("$INCLUDE")] + TYPES_ZONE
    (directory / "zone").write_text(zone)
    port = free_port()
    conf = directory / "knot.conf"
    conf.write_text(knot_conf(directory, "127.0.0.1", "gslb.example.", port))
    log = (directory / "knot.log").open("w")
    proc = subprocess.Popen([knotd, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if ask("127.0.0.1", port, "@", "SOA").rcode() == dns.rcode.NOERROR:
                    break
            except (OSError, dns.exception.Timeout):
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("knotd did not serve:\n" + (directory / "knot.log").read_text())
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


QUESTIONS = [(owner, rtype) for owner, rtype, _ in TYPES] + [
    ("mail.legacy", "A"),
    ("x.legacy", "TXT"),
    ("legacy", "A"),
    ("sub", "A"),
    ("nope", "A"),
]


@pytest.mark.parametrize(("owner", "rtype"), QUESTIONS, ids=[f"{q[0]}/{q[1]}" for q in QUESTIONS])
def test_knot_serves_the_same(server: Gslbd, knot: int, owner: str, rtype: str) -> None:
    ours = ask(server.host, server.port, owner, rtype)
    theirs = ask("127.0.0.1", knot, owner, rtype)
    assert ours.rcode() == theirs.rcode()
    assert same(ours.answer, theirs.answer)
    assert same(ours.authority, theirs.authority)
