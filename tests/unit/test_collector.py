"""What a reload makes is frozen for the cyclic collector (gslb/collector.py)."""

from __future__ import annotations

import gc
import pickle
import sys
from pathlib import Path

import dns.message

from gslb.collector import paused
from gslb.config import load
from gslb.dns.answer import Responder
from gslb.snapshot import Snapshot, SnapshotHolder

ETC = Path(__file__).resolve().parents[2] / "etc"


def test_the_collector_is_paused_and_the_gil_turns_short_meanwhile_and_what_was_made_frozen_after():
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        interval = sys.getswitchinterval()
        with paused():
            assert not gc.isenabled()
            assert sys.getswitchinterval() == 0.001
            made = [[i] for i in range(1000)]  # tracked containers
        assert gc.isenabled()
        assert sys.getswitchinterval() == interval
        assert gc.get_freeze_count() >= frozen + len(made)
    finally:
        gc.unfreeze()


def test_a_config_and_its_snapshot_leave_no_cycles_when_replaced():
    # Frozen objects are never collected as cycles: what a reload freezes
    # must go by reference counting alone when the next reload replaces it.
    wire = pickle.dumps(load(ETC))
    query = dns.message.make_query("www.gslb.example.", "A").to_wire()
    gc.collect()
    gc.disable()
    try:
        config = pickle.loads(wire)  # as a reload receives it
        holder = SnapshotHolder(Snapshot.build(config))
        assert Responder(holder).answer(query, "127.0.0.1", "udp") is not None
        del config, holder
        assert gc.collect() == 0
    finally:
        gc.enable()
