"""`gslbctl explain NAME --ldns IP`: what would this resolver get, and why.

The name resolves through the served zones exactly as a query would (so an
alias, a wildcard or a CNAME to a wide IP explain too), then the decision is
made by `pipeline.decide(..., explain=True)` on the current snapshot — the
general path, each method's select() with a trace. It is given a copy of the
round-robin cursors and of the persistence table: explaining never moves a
rotation nor records a persistence, so it never changes what real clients
get. Queries for most wide IPs take the wide IP's compiled plan
(gslb/decide/plan.py) instead; the plan is then run too and the result says
whether it agrees (it must: a disagreement is a bug to report).
"""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from random import Random
from typing import Any

from gslb.config.zonefile import absolute_name, check_name
from gslb.decide.memo import SnapshotMemo
from gslb.decide.pipeline import Cursors, Decision, Step, decide, plan_for
from gslb.dns.answer import Responder
from gslb.dns.ldns import ldns_of, unmapped
from gslb.dns.wire import ClientSubnet
from gslb.dns.zone import to_wire
from gslb.errors import GslbError
from gslb.model import AAAA, A, IPAddress, address_of
from gslb.snapshot import Snapshot

QTYPES = {"A": A, "AAAA": AAAA}


class ExplainError(GslbError):
    """The question cannot be explained."""


def _address(text: str, what: str) -> IPAddress:
    try:
        return ip_address(text)
    except ValueError:
        raise ExplainError(f"{what}: not an IP address: {text!r}") from None


def _shortened(text: str, limit: int = 80) -> str:
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def _step(step: Step) -> dict[str, Any]:
    return {
        "tier": step.tier,
        "scope": step.scope,
        "method": step.method,
        "outcome": step.outcome,
        "reason": step.reason,
        "chosen": list(step.chosen),
        "metrics": {k: v for k, v in step.metrics.items()},
    }


def _decision(snap: Snapshot, name: str, d: Decision) -> dict[str, Any]:
    cfg = snap.config
    members = [
        {"name": cfg.virtual_servers[i].name, "address": str(cfg.virtual_servers[i].address)}
        for i in d.members
    ]
    addresses = [m["address"] for m in members]
    if d.fallback is not None:
        addresses = [str(d.fallback)]
    rtype = "AAAA" if d.pool >= 0 and cfg.pools[d.pool].rtype == AAAA else "A"
    return {
        "action": d.action,
        "pool": cfg.pools[d.pool].name if d.pool >= 0 else None,
        "method": d.method or None,
        "members": members,
        "fallback": str(d.fallback) if d.fallback is not None else None,
        "ttl": d.ttl,
        "answer": [f"{name} {d.ttl} IN {rtype} {a}" for a in addresses]
        if d.action == "answer"
        else [],
        "probe": d.probe,
    }


def explain(
    snap: Snapshot,
    responder: Responder,
    name: str,
    ldns: str,
    *,
    ecs: str | None = None,
    qtype: str = "A",
) -> dict[str, Any]:
    rtype = QTYPES.get(qtype.upper())
    if rtype is None:
        raise ExplainError(f"qtype must be A or AAAA, not {qtype!r}")
    resolver = _address(ldns, "--ldns")
    subnet = None
    if ecs is not None:
        try:
            subnet = ip_network(ecs, strict=False)
        except ValueError:
            raise ExplainError(f"--ecs: not a network: {ecs!r}") from None
    bad_name = check_name(absolute_name(name)) if name.isascii() else "not ASCII"
    if bad_name is not None:
        raise ExplainError(f"not a domain name ({bad_name}): {_shortened(name)}")
    res = snap.zones.resolve(to_wire(name), rtype)
    if res.wideip < 0:
        raise ExplainError(f"{name} is not a wide IP (nor an alias of one, nor a CNAME to one)")
    wip = snap.config.wideips[res.wideip]
    offered = None
    if subnet is not None:
        offered = ClientSubnet.of(subnet)
    key, _ = ldns_of(unmapped(resolver), offered, wip.ecs)  # as the responder decides it
    decided_for, now = address_of(key), responder.clock()
    # The trace and the plan start from the same cursors and the same draws.
    seed = Random().getrandbits(64)
    decision = decide(
        snap,
        res.wideip,
        rtype,
        key,
        now=now,
        rng=Random(seed),
        cursors=responder.cursors.copy(),
        persistence=responder.persistence.copy(),
        explain=True,
    )
    same_start = (responder.cursors.copy(), Random(seed))
    fqdn = name if name.endswith(".") else name + "."
    return {
        "name": fqdn,
        "wideip": wip.name,
        "qtype": qtype.upper(),
        "ldns": str(resolver),
        "ecs": str(subnet) if subnet is not None else None,
        "decided_for": str(decided_for),
        "generation": snap.generation,
        "steps": [_step(s) for s in decision.trace],
        "decision": _decision(snap, fqdn, decision),
        **_hot_path(snap, responder.memo, res.wideip, rtype, key, now, same_start, decision),
    }


def _hot_path(
    snap: Snapshot,
    memo: SnapshotMemo,
    wideip: int,
    rtype: int,
    key: int,
    now: float,
    start: tuple[Cursors, Random],
    decision: Decision,
) -> dict[str, Any]:
    """Which path real queries take, and whether the plan decides the same
    (from the cursors and the generator the trace started from)."""
    plan = plan_for(snap, memo, wideip, rtype)
    if plan is None or decision.method == "persistence":
        return {"hot_path": "general", "plan_agrees": None}
    planned = plan(key, now, snap.proximity, *start)
    agrees = planned == decision._replace(trace=())
    out: dict[str, Any] = {"hot_path": "plan", "plan_agrees": agrees}
    if not agrees:
        out["plan_decision"] = _decision(snap, snap.config.wideips[wideip].name, planned)
    return out
