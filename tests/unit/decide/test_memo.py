"""The per-snapshot memos the responder owns: kept while the configuration
and health stay, dropped when either changes."""

import dataclasses
from random import Random

from gslb.decide.memo import SnapshotMemo
from gslb.decide.pipeline import Cursors, decide, plan_for
from gslb.health import Health
from gslb.model import A
from gslb.proximity import FrozenView
from gslb.snapshot import Snapshot
from tests.unit.factories import NOW, ConfigBuilder


def snapshot() -> Snapshot:
    builder = (
        ConfigBuilder()
        .dc("CNC", "TEL")
        .vs("cnc1", "192.0.2.1", "CNC")
        .vs("tel1", "192.0.2.11", "TEL")
        .pool("web", ("cnc1", "tel1"))
        .wideip("www.gslb.example.", ["web"])
    )
    return Snapshot.build(builder.build())


def test_a_plan_is_made_once_and_kept_across_proximity_views():
    snap, memo = snapshot(), SnapshotMemo()
    plan = plan_for(snap, memo, 0, A)
    assert plan is not None
    assert memo.plans == {(0, A): plan}
    newer = snap.with_proximity(FrozenView.of({}))
    assert plan_for(newer, memo, 0, A) is plan


def test_a_new_health_or_configuration_drops_the_memos():
    snap, memo = snapshot(), SnapshotMemo()
    plan = plan_for(snap, memo, 0, A)
    memo.persisted[0, A, "web", ("cnc1",)] = None
    down = snap.with_health(Health((False, True), (True, True)))
    replanned = plan_for(down, memo, 0, A)
    assert replanned is not None and replanned is not plan
    assert memo.persisted == {}
    reloaded = Snapshot.build(dataclasses.replace(snap.config))
    assert plan_for(reloaded, memo, 0, A) is not replanned


def test_decide_fills_the_memo_it_is_given():
    snap, memo = snapshot(), SnapshotMemo()
    decision = decide(snap, 0, A, 1, now=NOW, rng=Random(1), cursors=Cursors(), memo=memo)
    assert decision.members == (0,)
    assert set(memo.plans) == {(0, A)}
