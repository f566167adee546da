"""Admin state across the group: the latest change wins, own changes go out once."""

from __future__ import annotations

import json

from gslb.sync.admin import BUCKET, AdminState, key_of


def test_changes_go_out_and_the_latest_wins():
    applied: list = []
    clock = iter([100.0, 200.0]).__next__
    here = AdminState("tel-1", lambda m, d: applied.append((m, d)), clock=clock)
    here.set("vs_cnc", True)  # at 100
    ((subject, value),) = here.outgoing()
    assert subject == f"$KV.{BUCKET}.{key_of('vs_cnc')}"
    assert json.loads(value) == {"member": "vs_cnc", "disabled": True, "node": "tel-1", "at": 100.0}
    assert here.outgoing() == []  # handed to the outbox once
    here.sent()

    def record(disabled: bool, at: float) -> bytes:
        return json.dumps(
            {"member": "vs_cnc", "disabled": disabled, "node": "cnc-1", "at": at}
        ).encode()

    here.take(key_of("vs_cnc"), record(False, 90.0), False)  # older than our own change
    here.take(key_of("vs_cnc"), record(False, 150.0), False)
    here.take(key_of("vs_cnc"), b"{}", False)
    assert applied == [("vs_cnc", False)]
    assert dict(here.counts) == {"sent": 1, "older": 1, "applied": 1, "bad": 1}
    assert key_of("vs cnc/ü") == "dnMgY25jL8O8"  # any member name makes a valid key


def test_changes_made_twice_before_a_batch_go_out_as_the_latest():
    clock = iter([100.0, 200.0]).__next__
    here = AdminState("tel-1", lambda m, d: None, clock=clock)
    here.set("vs_cnc", True)
    here.set("vs_cnc", False)
    ((_, value),) = here.outgoing()
    assert json.loads(value)["disabled"] is False
