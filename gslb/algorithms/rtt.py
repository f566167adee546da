"""rtt: the candidate whose data center has the lowest smoothed RTT to the LDNS.

Reads the proximity view (filled by the probers). Unsuccessful when no
candidate's data center has a path younger than the path TTL; the LDNS is
then queued for probing and the next method answers meanwhile. Config:
`methods = ["rtt", "topology", "global_availability"]`.
"""

from __future__ import annotations

from typing import ClassVar

from gslb.algorithms.base import ByPath


class Rtt(ByPath):
    name: ClassVar[str] = "rtt"
    field: ClassVar[str] = "rtt_us"
