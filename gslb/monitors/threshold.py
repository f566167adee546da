"""Rise and fall: how the results of one check become its state.

A check starts `unknown`; its first result sets it up or down at once (so a
fresh or restarted target is not held back by `rise`). After that an up
check goes down after `fall` failures in a row and a down check comes up
after `rise` successes in a row; a result that agrees with the state resets
the streak. Several checks of one member combine by its rule: all must be up
(the default), or at least N.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

State = Literal["up", "down", "unknown"]


@dataclass(slots=True)
class Threshold:
    rise: int
    fall: int
    state: State = "unknown"
    streak: int = 0  # consecutive results that disagree with `state`
    detail: str = ""  # what the last result said
    checked_at: float = 0.0  # when (time.time()); 0 = never

    def observe(self, ok: bool, detail: str, now: float) -> bool:
        """Feed one result; True when the state changed."""
        self.detail = detail
        self.checked_at = now
        if self.state == "unknown":
            self.state = "up" if ok else "down"
            self.streak = 0
            return True
        if ok == (self.state == "up"):
            self.streak = 0
            return False
        self.streak += 1
        if self.streak < (self.rise if ok else self.fall):
            return False
        self.state = "up" if ok else "down"
        self.streak = 0
        return True


def combine(states: Sequence[State], quorum: int = 0) -> State:
    """A member's state from its checks' states; `quorum` 0 means all must be up."""
    if not states:
        return "up"
    needed = quorum or len(states)
    ups = sum(1 for s in states if s == "up")
    if ups >= needed:
        return "up"
    unknown = sum(1 for s in states if s == "unknown")
    return "down" if ups + unknown < needed else "unknown"
