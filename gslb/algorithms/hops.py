"""hops: the candidate whose data center is the fewest hops from the LDNS.

Unsuccessful without fresh path data, like `rtt`. Config:
`methods = ["hops", ...]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import ByPath


class Hops(ByPath):
    name: ClassVar[str] = "hops"
    field: ClassVar[str] = "hops"
