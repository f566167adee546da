"""Admin state across the group: the latest change wins, own changes go out once."""

from __future__ import annotations

import json

from gslb.sync.admin import BUCKET, AdminState, key_of


def test_changes_go_out_and_the_latest_wins():
    applied: list = []
    clock = iter([100.0, 200.0]).__next__
    here = AdminState("tel-1", lambda m, d: applied.append((m, d)), clock=clock)
    here.set("vs_cnc", True)  # at 100
    ((member, subject, value),) = here.pending()
    assert (member, subject) == ("vs_cnc", f"$KV.{BUCKET}.{key_of('vs_cnc')}")
    assert json.loads(value) == {"member": "vs_cnc", "disabled": True, "node": "tel-1", "at": 100.0}
    assert here.pending() == [(member, subject, value)]  # the bus has not taken it yet
    here.sent(member, value)
    assert here.pending() == []

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


def test_a_change_made_again_before_the_bus_took_the_first_stays_pending():
    clock = iter([100.0, 200.0]).__next__
    here = AdminState("tel-1", lambda m, d: None, clock=clock)
    here.set("vs_cnc", True)
    ((member, _, first),) = here.pending()
    here.set("vs_cnc", False)  # while `first` was being published
    here.sent(member, first)
    ((_, _, second),) = here.pending()
    assert json.loads(second)["disabled"] is False
