"""Every gslbctl command against a running gslbd, through its real control socket."""

from __future__ import annotations

import json
import socket
import time

import dns.edns
import dns.message
import pytest

from tests.integration.conftest import Gslbd, edit_config
from tests.integration.ops.helpers import ctl, ctl_json, socket_of

NO_PERSISTENCE = ("[wideip.persistence]\nttl = 300", "[wideip.persistence]\nttl = 0")


def a_record(server: Gslbd, name: str = "www.gslb.example.") -> str:
    reply = server.udp(dns.message.make_query(name, "A"))
    return reply.answer[0][0].address


def test_status(shared_gslbd: Gslbd):
    status = ctl_json(shared_gslbd, "status")
    assert {k: status[k] for k in ("version", "generation", "members", "pools", "wideips")} == {
        "version": "0.1.0", "generation": 1, "members": 3, "pools": 2, "wideips": 1,
    }  # fmt: skip
    assert status["members_up"] == 3 and status["pid"] == shared_gslbd.proc.pid
    text = ctl(shared_gslbd, "status")
    assert text.returncode == 0
    assert "generation:       1\n" in text.stdout


def test_show_tables(shared_gslbd: Gslbd):
    members = ctl(shared_gslbd, "show", "members").stdout.splitlines()
    assert members == [
        "NAME     ADDRESS     PORT  DATACENTER  STATE  AVAILABLE  MONITORS  REASON",
        "vs_cnc   127.0.10.1  80    CNC         up     yes        -         -",
        "vs_tel   127.0.20.1  80    TEL         up     yes        -         -",
        "vs_cnc6  ::1         80    CNC         up     yes        -         -",
    ]
    pools = ctl_json(shared_gslbd, "show", "pools")
    assert [(p["name"], p["methods"], p["members"], p["available"]) for p in pools] == [
        ("web", "rtt topology global_availability", "vs_cnc vs_tel", "2/2"),
        ("web6", "global_availability", "vs_cnc6", "1/1"),
    ]
    wideips = ctl_json(shared_gslbd, "show", "wideips")
    assert [(w["name"], w["pools"], w["persistence"]) for w in wideips] == [
        ("www.gslb.example.", "web web6", "300s")
    ]
    dcs = ctl_json(shared_gslbd, "show", "datacenters")
    assert [(d["name"], d["state"], d["members_available"]) for d in dcs] == [
        ("CNC", "up", "2/2"), ("TEL", "up", "1/1"),
    ]  # fmt: skip
    topology = ctl(shared_gslbd, "show", "topology").stdout.splitlines()
    assert topology[0].split() == ["LINE", "SERVER", "LDNS", "SCORE"]
    assert topology[1].split() == ["2", "dc:CNC", "region:north", "100"]


def test_explain(shared_gslbd: Gslbd):
    north = ctl(shared_gslbd, "explain", "www.gslb.example", "--ldns", "202.106.0.20")
    assert north.returncode == 0, north.stderr
    lines = north.stdout.splitlines()
    assert lines[0] == (
        "www.gslb.example. A from ldns 202.106.0.20 (wide IP www.gslb.example., "
        "decided for 202.106.0.20, generation 1)"
    )
    assert lines[3].split()[:4] == ["member", "web", "rtt", "unsuccessful"]
    assert "no fresh path data for 202.106.0.20" in lines[3]
    assert lines[4].split() == ["member", "web", "topology", "pick", "->", "vs_cnc", "[vs_cnc=100]"]
    assert lines[5] == "answer: www.gslb.example. 30 IN A 127.0.10.1"
    # ECS: the client subnet stands for the LDNS; an alias and AAAA explain too.
    south = ctl_json(shared_gslbd, "explain", "web.gslb.example.", "--ldns", "202.106.0.20",
                     "--ecs", "219.172.9.0/24")  # fmt: skip
    assert (south["decided_for"], south["decision"]["members"]) == (
        "219.172.9.0", [{"name": "vs_tel", "address": "127.0.20.1"}],
    )  # fmt: skip
    six = ctl_json(
        shared_gslbd, "explain", "x.app.gslb.example", "--ldns", "::1", "--qtype", "AAAA"
    )
    assert six["decision"]["answer"] == ["x.app.gslb.example. 30 IN AAAA ::1"]


def test_explain_says_what_the_server_answers_to_a_zero_ecs_subnet(shared_gslbd: Gslbd):
    """A /0 client subnet says nothing about the client: the resolver stays the
    LDNS, for the server and for explain alike (explain once decided for 0.0.0.0,
    which no topology record matches, and said CNC)."""
    explained = ctl_json(shared_gslbd, "explain", "www.gslb.example", "--ldns", "127.0.0.1",
                         "--ecs", "0.0.0.0/0")  # fmt: skip
    query = dns.message.make_query(
        "www.gslb.example.", "A", use_edns=0, options=[dns.edns.ECSOption.from_text("0.0.0.0/0")]
    )
    reply = shared_gslbd.udp(query)  # from 127.0.0.1: topology says TEL
    assert [rr.address for rr in reply.answer[0]] == ["127.0.20.1"]
    assert (explained["decided_for"], explained["decision"]["members"]) == (
        "127.0.0.1", [{"name": "vs_tel", "address": "127.0.20.1"}],
    )  # fmt: skip


def test_explain_errors_are_one_line(shared_gslbd: Gslbd):
    for args, message in [
        (("explain", "mail.gslb.example", "--ldns", "1.2.3.4"),
         "gslbctl: mail.gslb.example is not a wide IP (nor an alias of one, nor a CNAME to one)\n"),
        (("explain", "www.gslb.example", "--ldns", "nope"),
         "gslbctl: --ldns: not an IP address: 'nope'\n"),
        (("explain", "a" * 100_000, "--ldns", "1.2.3.4"),
         f"gslbctl: not a domain name (label longer than 63 octets): {'a' * 80!r}..."
         " (100000 characters)\n"),
        (("explain", "x." * 200 + "gslb.example", "--ldns", "1.2.3.4"),
         f"gslbctl: not a domain name (name longer than 255 octets): {'x.' * 40!r}..."
         " (412 characters)\n"),
    ]:  # fmt: skip
        done = ctl(shared_gslbd, *args)
        assert (done.returncode, done.stdout, done.stderr) == (1, "", message)


def test_explain_moves_no_rotation(make_gslbd):
    server = make_gslbd(
        toml=(NO_PERSISTENCE, ('methods = ["rtt", "topology", "global_availability"]',
                               'methods = ["round_robin"]')),
    )  # fmt: skip
    first = a_record(server)
    for _ in range(3):
        ctl(server, "explain", "www.gslb.example", "--ldns", "127.0.0.1")
    # Real queries alternate as if no explain had run.
    assert [a_record(server) for _ in range(4)] == [
        "127.0.20.1" if first == "127.0.10.1" else "127.0.10.1",
        first,
    ] * 2


def test_member_disable_enable_survives_reload_and_restart(make_gslbd):
    server = make_gslbd(toml=(NO_PERSISTENCE,))
    assert a_record(server) == "127.0.20.1"  # topology: 127.0.0.0/8 prefers TEL
    done = ctl(server, "member", "disable", "vs_tel")
    assert (done.returncode, done.stdout) == (0, "member vs_tel: disabled (disabled by hand)\n")
    assert a_record(server) == "127.0.10.1"
    assert ctl(server, "reload").stdout == "reloaded: generation 2\n"
    assert a_record(server) == "127.0.10.1"

    assert server.stop() == 0
    from tests.integration.conftest import start_gslbd

    again = start_gslbd(server.config_dir)
    try:
        assert a_record(again) == "127.0.10.1"
        members = {m["name"]: m["state"] for m in ctl_json(again, "show", "members")}
        assert members == {"vs_cnc": "up", "vs_tel": "disabled", "vs_cnc6": "up"}
        assert ctl(again, "member", "enable", "vs_tel").returncode == 0
        assert a_record(again) == "127.0.20.1"
        unknown = ctl(again, "member", "disable", "nosuch")
        assert (unknown.returncode, unknown.stderr) == (1, "gslbctl: no such member: nosuch\n")
    finally:
        again.stop()


def test_reload_rejected_keeps_serving(gslbd: Gslbd):
    edit_config(gslbd.config_dir, toml=(("ttl = 30\nmax_answers", "ttl = -1\nmax_answers"),))
    done = ctl(gslbd, "reload")
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        "gslbctl: reload rejected, the old configuration keeps serving:"
    )
    toml = gslbd.config_dir / "wideips.toml"
    line = toml.read_text().splitlines().index("ttl = -1") + 1
    assert done.stderr.splitlines()[1] == (
        f"{toml}:{line}: pool[0].ttl: Input should be greater than or equal to 0 (value: -1)"
    )
    reply = gslbd.udp(dns.message.make_query("www.gslb.example.", "A"))
    assert reply.answer[0].ttl == 30
    assert ctl_json(gslbd, "status")["reloads_failed"] == 1


def test_ldns_and_probe(gslbd: Gslbd):
    empty = ctl(gslbd, "show", "ldns")
    assert (empty.returncode, empty.stdout) == (0, "(none)\n")
    probed = ctl(gslbd, "probe", "127.0.0.1")
    assert probed.returncode == 0, probed.stderr
    assert probed.stdout.startswith("ldns { address 127.0.0.1  ttl ")
    entries = ctl_json(gslbd, "show", "ldns", "127.0.0.1")
    assert [e["address"] for e in entries] == ["127.0.0.1"]
    refused = ctl(gslbd, "probe", "192.0.2.1")
    assert refused.returncode == 1
    assert refused.stderr.startswith("gslbctl: ")
    assert len(refused.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", [("status",), ("reload",), ("show", "members")])
def test_not_running_is_a_clear_message(tmp_path, command):
    done = ctl(None, *command, socket=tmp_path / "run" / "gslb.sock")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"gslbctl: gslbd is not running (no control socket at {tmp_path}/run/gslb.sock)\n"
    )


def test_control_socket_is_private(shared_gslbd: Gslbd):
    assert socket_of(shared_gslbd).stat().st_mode & 0o777 == 0o600


def raw_requests(server: Gslbd, *lines: bytes) -> list[bytes]:
    """Send request lines as they are on one connection; the lines answered."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(socket_of(server)))
        try:
            for line in lines:
                sock.sendall(line)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # gslbd closed the connection: what it answered is still to be read
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass  # closed with our input unread: the answers came first
    return data.splitlines()


def test_every_bad_request_gets_a_one_line_error(shared_gslbd: Gslbd):
    deep = b"[" * 100_000 + b"]" * 100_000
    answers = raw_requests(
        shared_gslbd,
        deep + b"\n",
        b'{"command": "status", "args": ' + deep + b"}\n",
        b"not json\n",
        b"\xff\xfe\n",
        b"[1, 2]\n",
        b'{"command": "nope"}\n',
        b'{"command": "explain", "args": {"name": ["x"], "ldns": "1.2.3.4"}}\n',
        b'{"command": "status"}\n',  # still answered after all that
    )
    assert [json.loads(a)["error"] for a in answers[:-1]] == [
        "bad request: JSON nested too deep",
        "bad request: JSON nested too deep",
        "bad request: not JSON: Expecting value: line 1 column 1 (char 0)",
        "bad request: not UTF-8",
        "bad request: a message is a JSON object",
        "unknown command: nope",
        "explain NAME --ldns IP",
    ]
    assert json.loads(answers[-1])["ok"] is True
    too_long = raw_requests(shared_gslbd, b" " * (2 * 1024 * 1024) + b"\n", b"{}\n")
    assert [json.loads(a) for a in too_long] == [
        {"ok": False, "error": "bad request: longer than 1048576 bytes"}
    ]
    assert not any("Traceback" in line for line in shared_gslbd.log)


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "soon"])
def test_a_bad_timeout_is_a_usage_error(shared_gslbd: Gslbd, value: str):
    done = ctl(shared_gslbd, "status", "--timeout", value)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[-1] == (
        f"gslbctl status: error: argument --timeout: must be a positive number of seconds,"
        f" not {value!r}"
    )


def test_show_ldns_of_a_big_table_is_bounded(tmp_path):
    from tests.integration.conftest import copy_config, edit_config, start_gslbd
    from tests.integration.test_control_work import ldns_file

    config = copy_config(tmp_path / "etc")
    edit_config(config, toml=(("datacenters = []", "datacenters = []\nmax_entries = 3000"),))
    ldns_file(config / "var" / "ldns.json", 3000, time.time())
    server = start_gslbd(config)
    try:
        shown = ctl(server, "show", "ldns")
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert sum(line.startswith("ldns { address ") for line in lines) == 1000
        assert lines[-1] == "(the first 1000 entries, least recently seen first; --limit N)"
        assert [e["address"] for e in ctl_json(server, "show", "ldns", "--limit", "2")] == [
            "10.0.0.0",
            "10.0.0.1",
        ]
        assert len(ctl_json(server, "show", "ldns", "--limit", "5000")) == 3000
        for bad in ("0", "50001"):
            refused = ctl(server, "show", "ldns", "--limit", bad)
            assert (refused.returncode, refused.stderr) == (
                1,
                "gslbctl: show ldns: --limit must be 1..50000\n",
            )
    finally:
        server.stop()
