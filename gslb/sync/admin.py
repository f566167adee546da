"""Members disabled or enabled by hand, for the whole group.

    $KV.gslb_admin.<member name, base64url>  ->  {"member", "disabled", "node", "at"}

`gslbctl member disable|enable` at any node applies there at once and is
written here; every node applies it when it reads it. This is the one piece
of state with more than one writer, and rightly so: it is an operator's
last word, so the latest (`at`) wins. A change made while the bus is down
waits and goes out when it is back, sent until the bus stored it
(gslb/sync/outbox.py); a record older than the node's own last change of
that member is ignored.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections import Counter
from collections.abc import Callable

log = logging.getLogger(__name__)
BUCKET = "gslb_admin"

Apply = Callable[[str, bool], None]  # member name, disabled


def key_of(member: str) -> str:
    return base64.urlsafe_b64encode(member.encode()).decode()


class AdminState:
    def __init__(self, node: str, apply: Apply, clock: Callable[[], float] = time.time) -> None:
        self.node = node
        self.apply = apply
        self.clock = clock
        self.changed_at: dict[str, float] = {}  # member -> the latest change known here
        self.counts: Counter[str] = Counter()  # sent, applied, older, bad
        self._out: dict[str, bytes] = {}

    def set(self, member: str, disabled: bool) -> None:
        """A change made at this node (already applied here)."""
        at = self.clock()
        self.changed_at[member] = at
        record = {"member": member, "disabled": disabled, "node": self.node, "at": at}
        self._out[member] = json.dumps(record).encode()

    def outgoing(self) -> list[tuple[str, bytes]]:
        """The changes made here since the last call, (subject, value), for
        the outbox: it sends each until the bus stored it, in order, so a
        later change of a member is stored after an earlier one."""
        out = [(f"$KV.{BUCKET}.{key_of(m)}", v) for m, v in self._out.items()]
        self._out.clear()
        return out

    def sent(self) -> None:
        """A change stored by the bus."""
        self.counts["sent"] += 1

    def take(self, key: str, value: bytes, deleted: bool) -> None:
        if deleted:
            return
        try:
            record = json.loads(value)
            member, disabled, at = record["member"], bool(record["disabled"]), record["at"]
        except (ValueError, KeyError, TypeError):
            self.counts["bad"] += 1
            return
        if at <= self.changed_at.get(member, 0.0):
            self.counts["older"] += 1
            return
        self.changed_at[member] = at
        self.counts["applied"] += 1
        log.info(
            "member: name=%s %s by hand at node=%s",
            member,
            "disabled" if disabled else "enabled",
            record.get("node", "?"),
        )
        self.apply(member, disabled)
