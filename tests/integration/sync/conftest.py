"""Sync-group nodes: real gslbd processes sharing one real nats-server.

Each node is the default etc/ with its own `[probes] datacenters` (the seed's
CNC probes from 127.0.0.2, TEL from 127.0.0.3), a `[sync]` section, and its
own control socket, state directory and LDNS state file. The fake LDNS on
127.0.0.53 answers each probe source after its own delay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakeldns import DelayBySource, ldns_thread
from tests.integration.conftest import (  # noqa: F401  (until: for the sync tests)
    HTTP_ANY_PORT,
    PROBES_OFF,
    Gslbd,
    until,
    www_from,
)
from tests.integration.natsserver import NatsServer, nats_server  # noqa: F401  (fixture)
from tests.integration.ops.helpers import ctl


@dataclass(frozen=True)
class Seed:
    """The seed's two links on loopback. Topology prefers CNC for 127/8: CNC's
    address is the chain falling back to topology (no path data); TEL's is
    rtt deciding."""

    ldns: str = "127.0.0.53"
    cnc_source: str = "127.0.0.2"
    tel_source: str = "127.0.0.3"
    vs_cnc: str = "127.0.10.1"
    vs_tel: str = "127.0.20.1"
    slow: float = 0.15  # the LDNS answers CNC's probes after 150 ms
    fast: float = 0.03  # and TEL's after 30 ms


SEED = Seed()
LDNS = SEED.ldns
# Paths stay fresh and nothing is re-probed during a test: every path a node
# holds came from one probe round, its own or another node's. 127.0.0.1 is
# never probed, so a query from it is answered by topology (CNC): a probe of
# a closed port on loopback is answered, by the kernel, and rtt would decide
# by microseconds.
CLIENT = "127.0.0.1"
STEADY = {"interval": 600, "path_ttl": 600, "backoff_max": 600, "deny": '["127.0.0.1/32"]'}
TOPOLOGY = "server,ldns,score\ndc:CNC,127.0.0.0/8,100\ndc:TEL,127.0.0.0/8,50\n"
PUBLISHED = 0.5  # merged paths reach the hot path's view within a batch (0.2 s)
PERSISTENCE = "[wideip.persistence]\nttl = 300\ncidr_v4 = 24\ncidr_v6 = 56\n"


@dataclass
class Node:
    name: str
    server: Gslbd
    socket: Path

    def ldns(self, address: str = LDNS) -> dict[str, int]:
        """Data center -> cur_rtt of the paths this node holds for `address`."""
        entries = self.ctl("show", "ldns", address)
        return {p["datacenter"]: p["cur_rtt"] for e in entries for p in e["paths"] if p["cur_rtt"]}

    def ctl(self, *args: str) -> Any:
        """gslbctl's JSON answer from this node's control socket."""
        done = ctl(None, *args, "--json", socket=self.socket)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def ldns() -> Iterator[tuple[DelayBySource, int]]:
    fake = DelayBySource({SEED.cnc_source: SEED.slow, SEED.tel_source: SEED.fast}, default=None)
    with ldns_thread(fake, LDNS) as port:
        yield fake, port


@pytest.fixture
def make_node(make_gslbd: Callable[..., Gslbd], tmp_path: Path) -> Callable[..., Node]:
    def make(
        name: str,
        datacenters: list[str],
        ldns_port: int,
        servers: list[str],
        state: bool = True,
        sync: str = "",
        toml: tuple[tuple[str, str], ...] = (),
        **probes: object,
    ) -> Node:
        home = tmp_path / name
        home.mkdir(exist_ok=True)
        settings = {
            "protocols": '["dns_dot"]',
            "port": ldns_port,
            "timeout": 0.5,
            "interval": 0.5,
            "backoff_max": 1,
            "path_ttl": 2,
            "state_file": f'"{home / "ldns.json"}"' if state else '""',
            "datacenters": "[" + ", ".join(f'"{d}"' for d in datacenters) + "]",
            **probes,
        }
        table = "".join(f"{key} = {value}\n" for key, value in settings.items())
        sync = f"\n[sync]\nservers = {servers!r}\nnode = {name!r}\n".replace("'", '"') + sync
        socket = home / "gslb.sock"
        control = f'{HTTP_ANY_PORT}socket = "{socket}"\nstate_dir = "{home}"\n'
        server = make_gslbd(
            toml=(
                (PERSISTENCE, ""),
                (PROBES_OFF + HTTP_ANY_PORT, f"\n[probes]\n{table}{control}{sync}"),
                *toml,
            ),
            topology=TOPOLOGY,
        )
        return Node(name, server, socket)

    return make


def www(server: Gslbd, source: str = LDNS) -> str:
    """The address gslbd answers for www when asked from `source`."""
    return www_from(server, source)
