"""The cyclic garbage collector, paused while a reload makes its objects.

gslbd freezes what start-up built (gc.freeze: the collector never walks
it again). A reload makes a config's worth of objects again, about a
million for a topology of 100,000 records, unpickled and indexed in a
thread; a collection that walks them holds the GIL, so the event loop, for
hundreds of milliseconds (a reply p99 of 283-384 ms during such a reload,
12.9 ms with the collector paused; bench/README.md). A config and its
snapshot hold no reference cycles (tests/unit/test_collector.py), so what
is frozen goes by reference counting once a later reload replaces it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]
SWITCH = 0.001  # seconds a thread holds the GIL meanwhile (Python's default: 0.005)


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection meanwhile, and the GIL handed back to the event
    loop every millisecond; what was made meanwhile is frozen after."""
    enabled = gc.isenabled()
    gc.disable()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.freeze()
        if enabled:
            gc.enable()
