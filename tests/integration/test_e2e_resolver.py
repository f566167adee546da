"""End to end, as gslb is used: a client asks a recursive resolver, which
walks a delegation chain down to gslbd; gslbd answers and probes the resolver.

Every part is real and in its own network namespace, all joined by a router
namespace (tests/integration/netns.py), addresses from the documentation
ranges only:

    root     192.0.2.2      Knot: `.`, delegating example. (NS + glue)
    parent   192.0.2.18     Knot: example., delegating gslb.example. to gslbd
    client   192.0.2.34     dnspython (`ip netns exec` + python -c)
    resolver 198.51.100.2   Unbound: hints to the fake root, no DNSSEC
    gslbd    203.0.113.2    `python -m gslb`: zone gslb.example., www wide IP
             203.0.113.3    probe_source of data center CNC
             203.0.113.4    probe_source of data center TEL

The wide IP's pool decides rtt -> topology; topology.csv gives TEL the
resolver's network and CNC the client's, so TEL's address in the answer means
gslbd decided for the resolver (its first query comes before any probe, so
rtt has no data yet). Unbound answers the probes; for TEL's source a view
drops `.` queries, so TEL's dns_dot times out and dns_rev answers: the
table's two paths show the two protocols, each one router hop away.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.netns import Lab, unavailable, wait_for_text, which

ROOT_NS, PARENT_NS, CLIENT, RESOLVER = "192.0.2.2", "192.0.2.18", "192.0.2.34", "198.51.100.2"
GSLBD, CNC_SOURCE, TEL_SOURCE = "203.0.113.2", "203.0.113.3", "203.0.113.4"
VS_CNC, VS_TEL = "203.0.113.100", "203.0.113.200"
PTR_NAME = "2.100.51.198.in-addr.arpa."
# Every wait is bounded; a passing run takes about 3 s.
STARTUP = 15.0  # seconds for all four daemons to come up
ASK = 5.0  # seconds for the client's queries to be answered (retried)
PROBED = 8.0  # seconds for the probes of the resolver to be answered

ROOT_ZONE = f"""\
$ORIGIN .
$TTL 300
.               SOA a.root. hostmaster.root. 1 3600 600 86400 60
.               NS  a.root.
a.root.         A   {ROOT_NS}
example.        NS  ns.example.
ns.example.     A   {PARENT_NS}
"""

PARENT_ZONE = f"""\
$ORIGIN example.
$TTL 300
@               SOA ns hostmaster 1 3600 600 86400 60
@               NS  ns
ns              A   {PARENT_NS}
resolver        A   {RESOLVER}
gslb            NS  ns1.gslb
ns1.gslb        A   {GSLBD}
"""

GSLB_ZONE = f"""\
$ORIGIN gslb.example.
$TTL 300
@               SOA ns1 hostmaster 1 3600 600 86400 60
@               NS  ns1
ns1             A   {GSLBD}
"""

GSLB_TOML = f"""\
[server]
listen = ["{GSLBD}:53"]
nsid = "gslb-e2e"

[[zone]]
name = "gslb.example."
file = "gslb.example.zone"

[[datacenter]]
name = "CNC"
probe_source = "{CNC_SOURCE}"

[[datacenter]]
name = "TEL"
probe_source = "{TEL_SOURCE}"

[[virtual_server]]
name = "vs_cnc"
address = "{VS_CNC}"
datacenter = "CNC"

[[virtual_server]]
name = "vs_tel"
address = "{VS_TEL}"
datacenter = "TEL"

[[pool]]
name = "web"
members = ["vs_cnc", "vs_tel"]
methods = ["rtt", "topology"]
ttl = 30

[[wideip]]
name = "www.gslb.example."
pools = ["web"]

[probes]
protocols = ["dns_dot", "dns_rev"]
timeout = 1
interval = 1
backoff_max = 1
allow = ["198.51.100.0/28"]
state_file = "var/ldns.json"

[control]
http = ""
"""

TOPOLOGY = "server,ldns,score\ndc:TEL,198.51.100.0/24,100\ndc:CNC,192.0.2.0/24,100\n"


def knot_conf(directory: Path, address: str, zone: str, port: int = 53) -> str:
    return f"""\
server:
    rundir: "{directory}"
    listen: {address}@{port}
log:
  - target: stderr
    any: info
database:
    storage: "{directory}"
template:
  - id: default
    storage: "{directory}"
zone:
  - domain: "{zone}"
    file: "zone"
"""


def unbound_conf(directory: Path) -> str:
    return f"""\
server:
    directory: "{directory}"
    chroot: ""
    username: ""
    pidfile: "{directory}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    log-queries: yes
    log-replies: yes
    do-daemonize: no
    num-threads: 1
    interface: {RESOLVER}
    outgoing-interface: {RESOLVER}
    port: 53
    do-ip6: no
    root-hints: "{directory}/root.hints"
    module-config: "iterator"
    access-control: 0.0.0.0/0 refuse
    access-control: {CLIENT}/32 allow
    # gslbd's probes come without RD: snooping lets them be answered from cache.
    access-control: {CNC_SOURCE}/32 allow_snoop
    access-control: {TEL_SOURCE}/32 allow_snoop
    access-control-view: {TEL_SOURCE}/32 tel
remote-control:
    control-enable: no
view:
    name: "tel"
    # From TEL's source `.` goes unanswered (dns_dot times out), the
    # resolver's own PTR is answered (dns_rev).
    local-zone: "." deny
    local-zone: "100.51.198.in-addr.arpa." static
    local-data: "{PTR_NAME} 300 IN PTR resolver.example."
"""


ROOT_HINTS = f". 3600000 NS a.root.\na.root. 3600000 A {ROOT_NS}\n"

# Run in the client's namespace: each (server, name, type) asked over UDP,
# retried until it answers or the deadline passes; the replies as JSON.
CLIENT_SCRIPT = """\
import json, sys, time
import dns.exception, dns.flags, dns.message, dns.query, dns.rcode
deadline = time.monotonic() + float(sys.argv[1])
out = []
for server, name, rdtype, rd in json.loads(sys.argv[2]):
    query = dns.message.make_query(name, rdtype)
    if not rd:
        query.flags &= ~dns.flags.RD
    while True:
        try:
            reply = dns.query.udp(query, server, timeout=0.5)
            break
        except (OSError, dns.exception.Timeout) as exc:
            if time.monotonic() > deadline:
                print(json.dumps({"error": f"{server} {name} {rdtype}: {exc!r}"}))
                raise SystemExit(1)
    out.append({
        "rcode": dns.rcode.to_text(reply.rcode()),
        "aa": bool(reply.flags & dns.flags.AA),
        "answer": [str(rd) for rrset in reply.answer for rd in rrset],
        "authority": [rrset.to_text() for rrset in reply.authority],
        "additional": [rrset.to_text() for rrset in reply.additional],
    })
print(json.dumps(out))
"""

# Unbound's log-replies line: "info: SOURCE NAME TYPE IN RCODE SECONDS CACHED SIZE".
REPLY = re.compile(r"info: (\S+) (\S+) (\S+) IN ([A-Z]+) [0-9.]+ [01] [0-9]+$", re.M)


@dataclass
class Topology:
    lab: Lab
    tmp: Path
    gslbd: subprocess.Popen[bytes]
    unbound: subprocess.Popen[bytes]
    gslbd_log: Path
    unbound_log: Path

    def ask(self, queries: list[tuple[str, str, str, bool]], within: float) -> list[dict]:
        """Queries from the client's namespace, retried up to `within` seconds."""
        result = self.lab.run_in(
            self.lab.hosts["client"].netns,
            [sys.executable, "-c", CLIENT_SCRIPT, str(within), json.dumps(queries)],
            timeout=within + 5,
        )
        return json.loads(result.stdout)

    def logs(self) -> str:
        return "".join(
            f"\n--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.tmp.glob("*.log"))
        )


def missing() -> str | None:
    absent = [p for p in ("knotd", "unbound") if which(p) is None]
    if absent:
        return f"not installed: {', '.join(absent)} (Debian: knot, unbound; .ci/run installs them)"
    return unavailable()


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    lab = Lab()
    try:
        root = lab.host("root", "192.0.2.0/28", [ROOT_NS])
        parent = lab.host("parent", "192.0.2.16/28", [PARENT_NS])
        lab.host("client", "192.0.2.32/28", [CLIENT])
        resolver = lab.host("resolver", "198.51.100.0/28", [RESOLVER])
        gslb = lab.host("gslbd", "203.0.113.0/28", [GSLBD, CNC_SOURCE, TEL_SOURCE])

        knots = []
        for host, zone, text in ((root, ".", ROOT_ZONE), (parent, "example.", PARENT_ZONE)):
            directory = tmp_path / host.role
            directory.mkdir()
            (directory / "zone").write_text(text)
            conf = directory / "knot.conf"
            conf.write_text(knot_conf(directory, host.address, zone))
            log = tmp_path / f"knot-{host.role}.log"
            knots.append((lab.spawn(host.netns, [str(which("knotd")), "-c", str(conf)], log), log))

        config = tmp_path / "gslbd" / "etc"
        config.mkdir(parents=True)
        (config / "wideips.toml").write_text(GSLB_TOML)
        (config / "gslb.example.zone").write_text(GSLB_ZONE)
        (config / "topology.csv").write_text(TOPOLOGY)
        gslbd_log = tmp_path / "gslbd.log"
        gslbd = lab.spawn(
            gslb.netns,
            [sys.executable, "-m", "gslb", "--config", str(config)],
            gslbd_log,
            cwd=config.parent,
        )

        directory = tmp_path / "unbound"
        directory.mkdir()
        (directory / "root.hints").write_text(ROOT_HINTS)
        conf = directory / "unbound.conf"
        conf.write_text(unbound_conf(directory))
        unbound_log = tmp_path / "unbound.log"
        unbound_argv = [str(which("unbound")), "-d", "-c", str(conf)]
        unbound = lab.spawn(resolver.netns, unbound_argv, unbound_log)

        deadline = time.monotonic() + STARTUP
        for proc, log, text in (
            *((proc, log, "server started") for proc, log in knots),
            (unbound, unbound_log, "start of service"),
            (gslbd, gslbd_log, "ready:"),
        ):
            wait_for_text(log, text, proc, max(0.0, deadline - time.monotonic()))
        yield Topology(lab, tmp_path, gslbd, unbound, gslbd_log, unbound_log)
    finally:
        lab.close()


def test_a_resolver_finds_gslbd_through_the_delegations_and_gets_probed(topology):
    lab = topology.lab
    # Every server answers the client across the router: the two referrals,
    # and gslbd's own static records (not the wide IP: the client must not
    # become an LDNS of gslbd).
    root, parent, static = topology.ask(
        [
            (ROOT_NS, "www.gslb.example.", "A", False),
            (PARENT_NS, "www.gslb.example.", "A", False),
            (GSLBD, "ns1.gslb.example.", "A", False),
        ],
        within=ASK,
    )
    assert root["rcode"] == "NOERROR" and not root["aa"], topology.logs()
    assert root["authority"] == ["example. 300 IN NS ns.example."]
    assert parent["authority"] == ["gslb.example. 300 IN NS ns1.gslb.example."]
    assert parent["additional"] == [f"ns1.gslb.example. 300 IN A {GSLBD}"]
    assert static["aa"] and static["answer"] == [GSLBD]

    # The client asks the resolver, which resolves from the fake root down.
    (www,) = topology.ask([(RESOLVER, "www.gslb.example.", "A", True)], within=ASK)
    assert www["rcode"] == "NOERROR", topology.logs()
    assert www["answer"] == [VS_TEL], topology.logs()

    # gslbd probes the resolver from both data centers: CNC by dns_dot, TEL
    # by dns_rev after its dns_dot went unanswered. Unbound's log tells it
    # answered them.
    deadline = time.monotonic() + PROBED
    while True:
        replies = {m.groups() for m in REPLY.finditer(topology.unbound_log.read_text())}
        if {
            (CNC_SOURCE, ".", "NS", "NOERROR"),
            (TEL_SOURCE, PTR_NAME, "PTR", "NOERROR"),
        } <= replies:
            break
        assert time.monotonic() < deadline, f"probes not answered: {replies}" + topology.logs()
        time.sleep(0.05)
    assert (CLIENT, "www.gslb.example.", "A", "NOERROR") in replies
    assert not any(source == TEL_SOURCE and name == "." for source, name, _, _ in replies)
    time.sleep(0.5)  # the replies' way back, into the table

    # SIGTERM saves the LDNS table (var/ldns.json under the config directory).
    assert lab.stop(topology.gslbd, timeout=10) == 0, topology.logs()
    state = topology.tmp / "gslbd" / "etc" / "var" / "ldns.json"
    header, *rows = state.read_text().splitlines()
    assert json.loads(header)["version"] == 2
    entries = {row[0]: row for row in map(json.loads, rows)}
    assert list(entries) == [RESOLVER], entries  # Unbound, never the client
    _, target, first_seen, last_seen, _, protocol, failures, paths = entries[RESOLVER]
    assert target is None and failures == 0  # null: the probed address is the key itself
    assert first_seen <= last_seen
    assert protocol in ("dns_dot", "dns_rev")
    by_dc = {p[0]: p for p in paths}
    assert set(by_dc) == {"CNC", "TEL"}, paths
    for dc, expected in (("CNC", "dns_dot"), ("TEL", "dns_rev")):
        _, rtt_us, completion, measured_at, probed_at, path_failures, hops, proto, held = by_dc[dc]
        assert held == 0, paths  # one sample: none held as a possible outlier
        assert proto == expected, paths
        assert 0 < rtt_us < 1_000_000, paths  # the dns_rev sample, not TEL's timeout
        assert completion == 10_000 and path_failures == 0, paths
        assert measured_at >= int(first_seen) and probed_at >= measured_at, paths
        assert hops == 1, paths  # through the router namespace
    assert "Traceback" not in topology.gslbd_log.read_text(), topology.logs()
