"""completion_rate: the candidate whose path to the LDNS loses fewest probes.

Unsuccessful without fresh path data, like `rtt`. Config:
`methods = ["completion_rate", ...]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import ByPath


class CompletionRate(ByPath):
    name: ClassVar[str] = "completion_rate"
    field: ClassVar[str] = "completion_rate"
    highest_first: ClassVar[bool] = True
