"""Reloads keep serving and keep state; SIGTERM shuts down cleanly."""

from __future__ import annotations

import json
import signal
import threading
import time

import dns.flags
import dns.message
import dns.rcode

from tests.integration.conftest import Gslbd, edit_config
from tests.integration.ops.helpers import ctl, ctl_json, wait_for

WWW_ADDRESSES = {"127.0.10.1", "127.0.20.1"}


class Client(threading.Thread):
    """Queries the wide IP and a static name in turn until stopped; checks every reply."""

    def __init__(self, server: Gslbd) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.stopping = threading.Event()
        self.replies = 0
        self.wrong: list[str] = []

    def run(self) -> None:
        www = dns.message.make_query("www.gslb.example.", "A")
        mx = dns.message.make_query("gslb.example.", "MX")
        while not self.stopping.is_set():
            for query in (www, mx):
                try:
                    reply = self.server.udp(query, timeout=2.0)
                except Exception as exc:  # a lost or unreadable reply is a failure
                    self.wrong.append(f"{query.question[0].name}: {exc!r}")
                    continue
                self.replies += 1
                problem = self.check(query, reply)
                if problem:
                    self.wrong.append(problem)

    @staticmethod
    def check(query: dns.message.Message, reply: dns.message.Message) -> str:
        if reply.rcode() != dns.rcode.NOERROR or not reply.flags & dns.flags.AA:
            return f"rcode {dns.rcode.to_text(reply.rcode())} flags {reply.flags}"
        rrs = [rr for rrset in reply.answer for rr in rrset]
        if query.question[0].rdtype == dns.rdatatype.A:
            if len(rrs) != 1 or rrs[0].address not in WWW_ADDRESSES:
                return f"www answer {reply.answer}"
            if reply.answer[0].ttl not in (30, 31):
                return f"www ttl {reply.answer[0].ttl}"
        elif not rrs:
            return "no MX"
        return ""


def test_reload_under_load_drops_nothing(gslbd: Gslbd):
    client = Client(gslbd)
    client.start()
    started = time.monotonic()
    generations = []
    try:
        wait_for(lambda: client.replies > 20, what="first replies")
        for i in range(12):
            ttl = 31 if i % 2 == 0 else 30
            old = "ttl = 30\nmax_answers" if ttl == 31 else "ttl = 31\nmax_answers"
            edit_config(gslbd.config_dir, toml=((old, f"ttl = {ttl}\nmax_answers"),))
            done = ctl(gslbd, "reload")
            assert done.returncode == 0, done.stderr
            generations.append(int(done.stdout.split()[-1]))
            if i == 5:  # a bad config in the middle changes nothing
                path = gslbd.config_dir / "wideips.toml"
                good = path.read_text()
                path.write_text(good + "\n[nonsense]\n")
                assert ctl(gslbd, "reload").returncode == 1
                path.write_text(good)
        before = client.replies
        wait_for(lambda: client.replies > before + 20, what="replies after the reloads")
    finally:
        client.stopping.set()
        client.join(5)
    assert client.wrong == []
    assert generations == list(range(2, 14))
    assert client.replies > 100
    # Each reload starts a Python that validates the files (about half a
    # second, more on a loaded machine): a sanity bound, not a measure.
    assert time.monotonic() - started < 120


def test_sighup_reloads(gslbd: Gslbd):
    gslbd.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: ctl_json(gslbd, "status")["generation"] == 2, what="generation 2")
    assert gslbd.logged("reload: ok generation=2")


def test_reload_keeps_persistence_and_monitor_state(gslbd: Gslbd):
    server = gslbd
    # Nothing listens on 127.0.10.1:80: with this monitor vs_cnc goes down.
    closed = '\n[[monitor]]\nname = "tcp80"\ntype = "tcp"\ninterval = 0.2\ntimeout = 0.5\n'
    edit_config(
        server.config_dir,
        toml=(('datacenter = "CNC"\n', 'datacenter = "CNC"\nmonitors = ["tcp80"]\n'),),
    )
    path = server.config_dir / "wideips.toml"
    path.write_text(path.read_text() + closed)
    assert ctl(server, "reload").returncode == 0
    states = lambda: {m["name"]: m["state"] for m in ctl_json(server, "show", "members")}  # noqa: E731
    wait_for(lambda: states()["vs_cnc"] == "down", what="vs_cnc down")
    first = server.udp(dns.message.make_query("www.gslb.example.", "A")).answer[0][0].address
    assert first == "127.0.20.1"  # persisted for 127.0.0.0/24 from now on
    # Make topology prefer CNC, and bring vs_cnc back by dropping its monitor.
    edit_config(server.config_dir, topology="server,ldns,score\ndc:CNC,127.0.0.0/8,100\n")
    assert ctl(server, "reload").returncode == 0
    assert states()["vs_cnc"] == "down"  # the unchanged check kept its state: no "unknown"
    edit_config(server.config_dir, toml=(('monitors = ["tcp80"]\n', ""),))
    assert ctl(server, "reload").returncode == 0
    assert states()["vs_cnc"] == "up"
    again = server.udp(dns.message.make_query("www.gslb.example.", "A")).answer[0][0].address
    assert again == "127.0.20.1"  # the persistence record survived both reloads


def test_sigterm_stops_cleanly_and_saves_state(gslbd: Gslbd):
    assert ctl(gslbd, "member", "disable", "vs_cnc6").returncode == 0
    sock = gslbd.config_dir / "run" / "gslb.sock"
    assert sock.exists()
    gslbd.proc.send_signal(signal.SIGTERM)
    assert gslbd.proc.wait(10) == 0
    assert not sock.exists()
    saved = json.loads((gslbd.config_dir / "var" / "health.json").read_text())
    assert saved["disabled"] == ["vs_cnc6"]
    assert gslbd.logged("stopping: reason=signal")
