"""The write side of the LDNS view's two layers: publishing in small steps.

The hot path reads a published `FrozenView` (gslb/proximity.py): an
immutable `base` and a `recent` layer of the keys changed since the base
was made (b"": removed). Publishing copies `recent` (a new dict, so a
view already handed out never changes) and adds the changes; once
`recent` holds FOLD_AT keys, a new base is made with them folded in.

Both copies are paid on the event loop, so both are bounded: `recent`
stays near FOLD_AT keys (its copy well under a millisecond), and the new
base is copied CHUNK entries at a time (`step`), the loop answering
between chunks, while the old base and a growing `recent` go on being
published. Measured at 1,000,000 entries (bench/README.md, "Answers while
the control plane works"): before, `recent` grew to an eighth of the
table and the fold copied it at once, 100-145 ms to publish and 150-230
ms to fold on the loaded 2-core machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import islice

__all__ = ["Layers"]

FOLD_AT = 16_384  # keys in `recent` that start a new base
CHUNK = 8_192  # base entries copied by one `step` (0.9 ms at 16 384 under load, 2026-12-01)
PAUSE = 0.002  # seconds between steps, for the queries


class Layers:
    """Key -> packed bytes as `base` and `recent`, and what the last fold
    folded (`folded`: the base before it and the recent layer folded in), so
    a copy elsewhere can be brought up to date from the changes alone."""

    def __init__(self) -> None:
        self.fold_at, self.chunk = FOLD_AT, CHUNK
        self.base: dict[int, bytes] = {}
        self.recent: dict[int, bytes] = {}
        self.folded: tuple[Mapping[int, bytes], Mapping[int, bytes]] | None = None
        self._fold: tuple[Iterator[tuple[int, bytes]], dict[int, bytes]] | None = None

    @property
    def folding(self) -> bool:
        """A new base is being made: `step` until it is done."""
        return self._fold is not None

    def publish(self, changes: Mapping[int, bytes]) -> None:
        """Take these changes into a new `recent`; a new base is started (at
        once when the base is small) once `recent` is big enough."""
        recent = dict(self.recent)
        recent.update(changes)
        self.recent = recent
        if self._fold is None and len(recent) > self.fold_at:
            if len(self.base) <= self.chunk:
                self._finish(dict(self.base))
            else:
                self._fold = (iter(self.base.items()), {})

    def step(self) -> bool:
        """Copy the next `chunk` entries into the new base; True once it is
        done and published as `base` (with `recent` folded in and emptied)."""
        if self._fold is None:
            return True
        items, new = self._fold
        copied = len(new)
        new.update(islice(items, self.chunk))  # the old base never changes meanwhile
        if len(new) - copied == self.chunk:
            return False
        self._fold = None
        self._finish(new)
        return True

    def _finish(self, new: dict[int, bytes]) -> None:
        recent = self.recent
        new.update(recent)
        if b"" in recent.values():  # a scan in C; most folds remove nothing
            for key, packed in recent.items():
                if not packed:
                    new.pop(key, None)
        # Remembered for `FrozenView.changes_since`, but not a fold into an
        # empty base (the table loaded at start-up): that layer is the table.
        self.folded = (self.base, recent) if self.base else None
        self.base, self.recent = new, {}
