"""Steering with a real gslbd: persistence does not starve probing, a reload
re-times probing.

Three resolvers in one /24 (127.0.0.61-63), each a fake LDNS answering CNC's
probe source (127.0.0.2) and TEL's (127.0.0.3) after its own delays; all
three on one port, the [probes] port. The shipped etc/ keeps persistence per
/24 and its topology prefers TEL for 127/8, so the first answer, before any
probe, is TEL's (127.0.20.1); CNC's (127.0.10.1) can only come from rtt.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakeldns import DelayBySource, ldns_threads
from tests.integration.conftest import PROBES_OFF, Gslbd, until, www_from

CNC_SOURCE, TEL_SOURCE = "127.0.0.2", "127.0.0.3"
VS_CNC, VS_TEL = "127.0.10.1", "127.0.20.1"
NEAR, FAR = 0.01, 0.08
# resolver -> (delay to CNC's source, delay to TEL's)
RESOLVERS = {
    "127.0.0.61": (FAR, NEAR),  # TEL-near, as topology guesses
    "127.0.0.62": (NEAR, FAR),  # CNC-near: only a measurement says so
    "127.0.0.63": (NEAR, FAR),
}
PERSISTENCE_TTL = 3


@pytest.fixture
def resolvers() -> Iterator[tuple[dict[str, DelayBySource], int]]:
    fakes = {
        address: DelayBySource({CNC_SOURCE: cnc, TEL_SOURCE: tel}, default=None)
        for address, (cnc, tel) in RESOLVERS.items()
    }
    with ldns_threads(fakes) as port:
        yield fakes, port


def settings(port: int, interval: float) -> str:
    return (
        f'\n[probes]\nprotocols = ["dns_dot"]\nport = {port}\ntimeout = 0.5\n'
        f'interval = {interval}\nstate_file = ""\n'
    )


def start(make_gslbd: Callable[..., Gslbd], port: int, interval: float) -> Gslbd:
    # The shipped persistence (cidr_v4 = 24), with a TTL a test can outwait.
    return make_gslbd(
        toml=(
            ("ttl = 300\ncidr_v4 = 24", f"ttl = {PERSISTENCE_TTL}\ncidr_v4 = 24"),
            (PROBES_OFF, settings(port, interval)),
        )
    )


def probed_by(fake: DelayBySource) -> set[str]:
    return {source for source, _ in fake.received}


def test_persistence_answers_but_every_resolver_behind_it_is_measured(make_gslbd, resolvers):
    fakes, port = resolvers
    server = start(make_gslbd, port, interval=600)
    first, *others = RESOLVERS
    assert www_from(server, first) == VS_TEL  # topology, persisted for 127.0.0.0/24
    assert [www_from(server, r) for r in others] == [VS_TEL, VS_TEL]  # the record's answer
    for address, fake in fakes.items():
        until(lambda f=fake: probed_by(f) == {CNC_SOURCE, TEL_SOURCE}, 5, f"{address} probed")
    # The record expires: the next decision for the /24 is the asker's measurement.
    cnc_near = others[0]
    until(lambda: www_from(server, cnc_near) == VS_CNC, PERSISTENCE_TTL + 5, "rtt for .62")
    assert www_from(server, first) == VS_CNC  # persisted again, now from a measurement
    until(lambda: www_from(server, first) == VS_TEL, PERSISTENCE_TTL + 5, "rtt for .61")


def test_a_reload_applies_a_lower_interval_to_resolvers_measured_already(make_gslbd, resolvers):
    fakes, port = resolvers
    server = start(make_gslbd, port, interval=600)
    for resolver in RESOLVERS:
        www_from(server, resolver)
    for fake in fakes.values():
        until(lambda f=fake: len(f.received) == 2, 5, "measured once")
    time.sleep(1.5)  # a tick or two: not due again under interval = 600
    assert [len(f.received) for f in fakes.values()] == [2, 2, 2]

    toml = Path(server.config_dir) / "wideips.toml"
    toml.write_text(toml.read_text().replace("interval = 600\n", "interval = 1\n"))
    server.proc.send_signal(signal.SIGHUP)
    assert server.logged("reload: ok")

    def reprobed() -> bool:
        for resolver in RESOLVERS:  # they keep asking: re-probed once due
            www_from(server, resolver)
        return all(len(f.received) >= 4 for f in fakes.values())

    until(reprobed, 10, "re-probed at the new interval")


PERSISTENCE = "[wideip.persistence]\nttl = 300\ncidr_v4 = 24\ncidr_v6 = 56\n"


def sources_after(fake: DelayBySource, start: int, source: str) -> int:
    return sum(1 for s, _ in fake.received[start:] if s == source)


def test_answers_follow_a_route_change_on_the_second_probe_and_ignore_one_outlier(
    make_gslbd, resolvers
):
    # One resolver, no persistence: every answer is rtt's, re-probed every second.
    fakes, port = resolvers
    resolver = "127.0.0.62"
    fake = fakes[resolver]
    fake.delays.update({CNC_SOURCE: 0.02, TEL_SOURCE: 0.05})
    server = make_gslbd(toml=((PERSISTENCE, ""), (PROBES_OFF, settings(port, interval=1))))
    until(lambda: www_from(server, resolver) == VS_CNC, 10, "rtt for CNC")

    # One slow reply to CNC's probe, then the old delay again: CNC keeps the answer.
    start = len(fake.received)
    fake.once[CNC_SOURCE] = [0.15]  # a 1/3 average would read 63 ms: TEL

    def cnc_probes() -> int:
        assert www_from(server, resolver) == VS_CNC, "one outlier flipped the answer"
        return sources_after(fake, start, CNC_SOURCE)

    until(lambda: cnc_probes() >= 4, 15, "four more probes")  # the outlier and three after
    assert not fake.once[CNC_SOURCE]

    # CNC's path lastingly 130 ms slower: TEL answers after the second slow sample.
    start = len(fake.received)
    fake.delays[CNC_SOURCE] = 0.15
    until(lambda: www_from(server, resolver) == VS_TEL, 15, "the answer following the change")
    # The second sample set the level; the answer shows at the next publication
    # (once a second), by when a third probe may have gone out, on a busy
    # machine a fourth. A 1/3 average would have flipped on the first.
    assert 2 <= sources_after(fake, start, CNC_SOURCE) <= 4
