"""The gate of one prefix: when to announce it, when to withdraw it.

No I/O and no clock of its own: the runner (gslb/anycast/runner.py) feeds it
each check's result, whether something holds the prefix back (the drain
file, gslbd saying it is stopping, the gate's own shutdown) and the time;
the gate answers what the routing daemon should be told, if anything.

    withdrawn --(`rise` answers in a row, nothing holding it)--> announced
    announced --(`fall` failures in a row | a hold)-----------> withdrawn

It starts withdrawn ("starting"), whatever the routing daemon has: a gate
that does not know must not attract traffic. Answers seen while a hold lasts
do not count, so after one ends `rise` fresh answers are needed: when gslbd
stops, its last answers before the listeners close must not re-announce.

What was told to the routing daemon is tracked apart from what should be:
a command that failed is retried after `retry` seconds, and the current one
is re-run every `reassert` seconds (0: never), since a restarted routing
daemon forgets what it was told at run time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

State = Literal["announced", "withdrawn"]
# Why the prefix is where it is.
#   starting        the gate has not seen `rise` answers yet
#   answering       `rise` answers in a row
#   no_answer       `fall` failures in a row (the check's detail says which)
#   drain_file      the operator's drain file exists
#   gslbd_stopping  gslbd got SIGTERM and answers only for its drain time
#   shutdown        the gate itself is stopping
Reason = Literal["starting", "answering", "no_answer", "drain_file", "gslbd_stopping", "shutdown"]
Hold = Literal["drain_file", "gslbd_stopping", "shutdown"]
RETRY = 1.0  # seconds before a failed command is tried again


@dataclass(frozen=True, slots=True)
class Check:
    """One question to gslbd: answered or not, and what happened."""

    ok: bool
    detail: str  # "ok", "timeout", "refused", "rcode SERVFAIL", ...
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Transition:
    state: State
    reason: Reason
    detail: str
    at: float


@dataclass
class Gate:
    rise: int
    fall: int
    now: float
    reassert: float = 0.0
    retry: float = RETRY
    state: State = "withdrawn"
    reason: Reason = "starting"
    detail: str = ""
    since: float = field(init=False)
    answers: int = 0  # in a row
    failures: int = 0  # in a row
    last_check: Check | None = None
    transitions: Counter[tuple[State, Reason]] = field(default_factory=Counter)
    # What the routing daemon was last told successfully, and when; None:
    # unknown (never told, or the last command failed).
    told: State | None = None
    told_at: float = 0.0
    failed_at: float | None = None

    def __post_init__(self) -> None:
        self.since = self.now

    def observe(self, check: Check | None, hold: Hold | None, now: float) -> Transition | None:
        """One tick: a check's result (None: no check this tick) and any hold."""
        if check is not None:
            self.last_check = check
            if check.ok:
                self.answers, self.failures = self.answers + 1, 0
            else:
                self.answers, self.failures = 0, self.failures + 1
        if hold is not None:
            self.answers = 0
            if self.state == "announced" or self.reason != hold:
                return self._move("withdrawn", hold, "", now)
            return None
        if self.failures >= self.fall and (self.state, self.reason) != ("withdrawn", "no_answer"):
            detail = self.last_check.detail if self.last_check else ""
            return self._move("withdrawn", "no_answer", detail, now)
        if self.state == "withdrawn" and self.answers >= self.rise:
            return self._move("announced", "answering", "", now)
        return None

    def _move(self, state: State, reason: Reason, detail: str, now: float) -> Transition | None:
        changed = state != self.state
        self.state, self.reason, self.detail = state, reason, detail
        if not changed:
            return None  # still withdrawn, for a new reason: not a transition
        self.since = now
        self.transitions[(state, reason)] += 1
        return Transition(state, reason, detail, now)

    def due(self, now: float) -> State | None:
        """What to tell the routing daemon now, if anything."""
        if self.told != self.state:
            if self.failed_at is not None and now - self.failed_at < self.retry:
                return None
            return self.state
        if self.reassert > 0 and now - self.told_at >= self.reassert:
            return self.state
        return None

    def told_result(self, state: State, ok: bool, now: float) -> None:
        """The command for `state` finished, `ok` or not, at `now`."""
        if ok:
            self.told, self.told_at, self.failed_at = state, now, None
        else:
            self.told, self.failed_at = None, now
