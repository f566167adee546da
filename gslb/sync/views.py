"""Member health as each node sees it, and the rule that combines the views.

Each node reports its own monitors' verdict per member (`up`, `down`,
`unknown`) with the time of the report. A member's state comes from the
views of the nodes standing in the member's data center (the data centers
they probe from, `[probes] datacenters`) when there are any, like BIG-IP's
prober pools; else from every view. Among those, one `up` is enough (a node
that lost its way to a data center must not take that data center's
servers down for everyone); `down` needs every view that knows to say so;
none knowing is `unknown`. A view older than `stale_after` (a node gone
silent, or this node cut off from the bus) counts as no view at all, never
as `down`: the node then decides from its own view, as a standalone one.
Links (`datacenter_up`) and admin state stay as the node has them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gslb.health import Health
from gslb.model import Config

UP, DOWN, UNKNOWN = "up", "down", "unknown"


@dataclass(frozen=True, slots=True)
class View:
    node: str
    datacenters: tuple[str, ...]  # where it stands: the data centers it probes from
    at: float  # when it reported (its clock)
    members: Mapping[str, str]  # member name -> up | down | unknown


def own_members(config: Config, health: Health) -> dict[str, str]:
    """This node's monitors' verdict per member, as it is reported."""
    return {
        vs.name: UNKNOWN if i in health.unknown else UP if health.member_up[i] else DOWN
        for i, vs in enumerate(config.virtual_servers)
    }


def verdict(states: Iterable[str]) -> str:
    known = [s for s in states if s != UNKNOWN]
    if not known:
        return UNKNOWN
    return UP if UP in known else DOWN


def voters(views: list[View], datacenter: str) -> tuple[list[View], str]:
    """The views that decide a member of `datacenter`, and the rule that chose them."""
    local = [v for v in views if datacenter in v.datacenters]
    return (local, f"datacenter {datacenter}") if local else (views, "all")


def combine(
    config: Config, own: Health, mine: View, peers: Iterable[View], now: float, stale_after: float
) -> Health:
    """The Health the hot path reads: `own` with member states from the group."""
    views = [mine, *(v for v in peers if now - v.at <= stale_after)]
    if len(views) == 1:
        return own
    member_up: list[bool] = []
    unknown: set[int] = set()
    for i, vs in enumerate(config.virtual_servers):
        chosen, _ = voters(views, config.datacenters[vs.datacenter].name)
        state = verdict(v.members.get(vs.name, UNKNOWN) for v in chosen)
        member_up.append(state == UP)
        if state == UNKNOWN:
            unknown.add(i)
    return dataclasses.replace(own, member_up=tuple(member_up), unknown=frozenset(unknown))


def explain(
    config: Config, mine: View, peers: Iterable[View], now: float, stale_after: float
) -> dict[str, dict[str, Any]]:
    """`gslbctl show members` in a group, per member: the group's state, the
    rule that chose the views deciding it, and every node's view with its
    age (a stale one shown as `unknown`, as it counts)."""
    every = [mine, *sorted(peers, key=lambda v: v.node)]
    fresh = [v for v in every if now - v.at <= stale_after]
    shown = {}
    for vs in config.virtual_servers:
        chosen, rule = voters(fresh, config.datacenters[vs.datacenter].name)
        counted = {v.node for v in chosen}
        shown[vs.name] = {
            "group": verdict(v.members.get(vs.name, UNKNOWN) for v in chosen),
            "rule": rule,
            "views": [
                {
                    "node": v.node,
                    "datacenters": ",".join(v.datacenters) or "-",
                    "state": v.members.get(vs.name, UNKNOWN) if v in fresh else UNKNOWN,
                    "age": round(max(0.0, now - v.at), 1),
                    "stale": v not in fresh,
                    "counted": v.node in counted,
                }
                for v in every
            ],
        }
    return shown
