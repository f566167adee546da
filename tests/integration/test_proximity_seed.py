"""The seed's RTT flow with a real gslbd: two data centers probe one LDNS.

CNC probes from 127.0.0.2, TEL from 127.0.0.3; the fake LDNS on 127.0.0.53
answers CNC after 150 ms and TEL after 60 ms. Queries for www are sent from
the LDNS's own address. Topology prefers CNC for 127/8, so an answer of
CNC's address (127.0.10.1) before any probe, or after the paths went stale,
is the chain falling back to topology; TEL's (127.0.20.1) is rtt deciding.
Persistence is removed so every answer is decided afresh.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.message
import dns.query
import pytest

from tests.fakeldns import DelayBySource, ldns_thread
from tests.integration.conftest import PROBES_OFF, Gslbd, edit_config, start_gslbd
from tests.integration.ops.helpers import ctl, ctl_json

LDNS = "127.0.0.53"
CNC_SOURCE, TEL_SOURCE = "127.0.0.2", "127.0.0.3"
VS_CNC, VS_TEL = "127.0.10.1", "127.0.20.1"
SLOW, FAST = 0.15, 0.06
TOPOLOGY = "server,ldns,score\ndc:CNC,127.0.0.0/8,100\ndc:TEL,127.0.0.0/8,50\n"
PERSISTENCE = "[wideip.persistence]\nttl = 300\ncidr_v4 = 24\ncidr_v6 = 56\n"


@pytest.fixture
def ldns() -> Iterator[tuple[DelayBySource, int]]:
    fake = DelayBySource({CNC_SOURCE: SLOW, TEL_SOURCE: FAST}, default=None)
    with ldns_thread(fake, LDNS) as port:
        yield fake, port


def start(make_gslbd: Callable[..., Gslbd], port: int, state: Path, **probes: object) -> Gslbd:
    settings = {
        "protocols": '["dns_dot"]',
        "port": port,
        "timeout": 0.5,
        "interval": 0.5,
        "backoff_max": 1,
        "path_ttl": 2,
        "state_file": f'"{state}"',
        **probes,
    }
    table = "".join(f"{key} = {value}\n" for key, value in settings.items())
    return make_gslbd(
        toml=((PERSISTENCE, ""), (PROBES_OFF, f"\n[probes]\n{table}")), topology=TOPOLOGY
    )


def www(server: Gslbd) -> str:
    """The address gslbd answers for www when asked by the LDNS."""
    query = dns.message.make_query("www.gslb.example.", "A")
    reply = dns.query.udp(query, server.host, port=server.port, source=LDNS, timeout=2)
    (rrset,) = reply.answer
    return str(rrset[0])


def answers_become(server: Gslbd, expected: str, within: float) -> float:
    """Query every 50 ms until the answer is `expected`; how long it took."""
    started = time.monotonic()
    while (answer := www(server)) != expected:
        assert time.monotonic() - started < within, f"still {answer} after {within} s\n" + "".join(
            server.log[-20:]
        )
        time.sleep(0.05)
    return time.monotonic() - started


def test_answers_follow_the_measured_rtt(make_gslbd, ldns, tmp_path):
    fake, port = ldns
    server = start(make_gslbd, port, tmp_path / "ldns.json")
    assert www(server) == VS_CNC  # no path data yet: topology decides
    answers_become(server, VS_TEL, within=5)  # probed: TEL is 60 ms away, CNC 150 ms
    sources = {source for source, _ in fake.received}
    assert sources == {CNC_SOURCE, TEL_SOURCE}
    assert {query[12:] for _, query in fake.received} == {b"\x00\x00\x02\x00\x01"}  # . NS

    fake.delays.update({CNC_SOURCE: FAST, TEL_SOURCE: SLOW})  # the links change
    answers_become(server, VS_CNC, within=10)  # re-probed at the interval, rtt follows
    fake.delays.update({CNC_SOURCE: SLOW, TEL_SOURCE: FAST})
    answers_become(server, VS_TEL, within=10)

    fake.delays.update({CNC_SOURCE: None, TEL_SOURCE: None})  # the LDNS stops answering
    probes = len(fake.received)
    waited = answers_become(server, VS_CNC, within=10)  # stale: topology decides again
    # rtt kept deciding while the paths were fresh: path_ttl (2 s) less up to
    # one probe interval (0.5 s) since the last answer, less up to 1 s because
    # the table keeps whole seconds.
    assert waited >= 0.4
    assert len(fake.received) > probes  # it kept trying


def test_a_restart_keeps_what_was_learned(make_gslbd, ldns, tmp_path):
    fake, port = ldns
    state = tmp_path / "ldns.json"
    first = start(make_gslbd, port, state, interval=600, path_ttl=600)
    www(first)
    answers_become(first, VS_TEL, within=5)
    assert first.stop() == 0
    assert state.exists()
    fake.delays.update({CNC_SOURCE: None, TEL_SOURCE: None})  # no more answers to probes
    second = start(make_gslbd, port, state, interval=600, path_ttl=600)
    assert www(second) == VS_TEL  # from the saved table, before any probe


DATACENTERS = (
    '[[datacenter]]\nname = "CNC"\nprobe_source = "127.0.0.2"\n\n'
    '[[datacenter]]\nname = "TEL"\nprobe_source = "127.0.0.3"\n'
)
VS_TEL_BLOCK = '[[virtual_server]]\nname = "vs_tel"\naddress = "127.0.20.1"\nport = 80\n'


def reload_with(
    server: Gslbd, edits: tuple[tuple[str, str], ...], topology: str | None = None
) -> None:
    edit_config(server.config_dir, toml=edits, topology=topology)
    done = ctl(server, "reload")
    assert done.returncode == 0, done.stderr


def path_rtts(server: Gslbd) -> dict[str, int]:
    """The LDNS's paths as `gslbctl show ldns` gives them: data center -> RTT (µs)."""
    (entry,) = ctl_json(server, "show", "ldns", LDNS)
    return {p["datacenter"]: p["cur_rtt"] for p in entry["paths"]}


@pytest.mark.parametrize("workers", [1, 2])
def test_paths_keep_their_data_center_across_reloads_that_move_them(
    make_gslbd, ldns, tmp_path, workers
):
    fake, port = ldns
    server = start(make_gslbd, port, tmp_path / "ldns.json", interval=600, path_ttl=600)
    if workers > 1:
        edit_config(server.config_dir, toml=(("[server]\n", f"[server]\nworkers = {workers}\n"),))
        server.stop()
        server = start_gslbd(server.config_dir)
    www(server)
    answers_become(server, VS_TEL, within=5)
    learned = path_rtts(server)
    assert learned.keys() == {"CNC", "TEL"}
    assert learned["CNC"] > learned["TEL"]
    fake.delays.update({CNC_SOURCE: None, TEL_SOURCE: None})  # no more answers to probes

    # HK added first, TEL before CNC: every index moves, no path does.
    reordered = '[[datacenter]]\nname = "HK"\n\n' + DATACENTERS.split("\n\n")[1] + "\n"
    reordered += DATACENTERS.split("\n\n")[0] + "\n"
    reload_with(server, ((DATACENTERS, reordered),))
    assert path_rtts(server) == learned
    assert www(server) == VS_TEL  # rtt still decides by the same paths

    # TEL removed (with its virtual server): its path goes, CNC's stays.
    tel = DATACENTERS.split("\n\n")[1] + "\n"
    reload_with(
        server,
        (
            (tel, ""),
            (VS_TEL_BLOCK + 'datacenter = "TEL"\n', ""),
            ('members = ["vs_cnc", "vs_tel"]', 'members = ["vs_cnc"]'),
        ),
        topology=TOPOLOGY.replace("dc:TEL,127.0.0.0/8,50\n", ""),
    )
    assert path_rtts(server) == {"CNC": learned["CNC"]}
    assert www(server) == VS_CNC

    # TEL back: a data center without paths until it probes again (interval 600 s).
    reload_with(
        server,
        (
            ('[[datacenter]]\nname = "HK"\n\n', '[[datacenter]]\nname = "HK"\n\n' + tel),
            ("[[virtual_server]]\n", VS_TEL_BLOCK + 'datacenter = "TEL"\n\n[[virtual_server]]\n'),
            ('members = ["vs_cnc"]', 'members = ["vs_cnc", "vs_tel"]'),
        ),
        topology=TOPOLOGY,
    )
    assert path_rtts(server) == {"CNC": learned["CNC"]}
    assert www(server) == VS_CNC  # CNC's path is the only one: rtt picks it
    assert server.stop() == 0
    saved = (tmp_path / "ldns.json").read_text().splitlines()[1:]
    assert [[p[0] for p in json.loads(row)[7]] for row in saved] == [["CNC"]]
