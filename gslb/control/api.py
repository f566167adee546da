"""What gslbctl can ask gslbd, answered from the current snapshot and runner.

Each command is a method `cmd_<name>(args) -> JSON-able result`; a GslbError
raised by one is the caller's one-line error. Results are lists of flat
dicts (rows) where that makes sense, so gslbctl prints them as tables and
`--json` hands them to scripts unchanged.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from gslb import __version__
from gslb.anycast.handoff import gate_status
from gslb.control.explain import explain
from gslb.control.metrics import table_size
from gslb.control.protocol import LDNS_SHOWN
from gslb.control.served import ProbeScheduler, Served
from gslb.errors import GslbError

SHOW = ("wideips", "pools", "members", "datacenters", "topology", "ldns", "sync")
MAX_LDNS_SHOWN = 50_000


class CommandError(GslbError):
    """The command cannot be carried out."""


class ControlApi:
    def __init__(self, server: Served) -> None:
        self.server = server

    async def handle(self, command: str, args: dict[str, Any]) -> Any:
        method = getattr(self, f"cmd_{command}", None)
        if method is None:
            raise CommandError(f"unknown command: {command}")
        return await method(args)

    # -- state ------------------------------------------------------------------

    async def cmd_status(self, args: dict[str, Any]) -> dict[str, Any]:
        server = self.server
        snap = server.holder.current
        cfg = snap.config
        states = Counter(server.monitors.member_status(cfg, vs)[0] for vs in cfg.virtual_servers)
        queries = sum(n for (n,) in server.query_counters().queries.values())
        return {
            "version": __version__,
            "pid": server.pid,
            "uptime": round(time.time() - server.started_at, 1),
            "config": str(server.config_dir),
            "generation": snap.generation,
            "reloads_ok": server.reloads["ok"],
            "reloads_failed": server.reloads["failed"],
            "datacenters": len(cfg.datacenters),
            "wideips": len(cfg.wideips),
            "pools": len(cfg.pools),
            "members": len(cfg.virtual_servers),
            "members_up": states["up"],
            "members_down": states["down"],
            "members_unknown": states["unknown"],
            "members_disabled": states["disabled"],
            "monitors": len(cfg.monitors),
            "queries": queries,
            "ldns_entries": table_size(snap),
            "listening": [f"{p} {h}:{port}" for p, h, port in server.bound],
            **server.worker_status(),
            **({} if cfg.anycast is None else {"anycast": gate_status(cfg.anycast, time.time())}),
        }

    async def cmd_show(self, args: dict[str, Any]) -> Any:
        what = args.get("what")
        if what not in SHOW:
            raise CommandError(f"show what? one of: {', '.join(SHOW)}")
        if what == "ldns":
            return self._ldns(args.get("address"), args.get("limit"))
        return getattr(self, f"_show_{what}")()

    def _show_wideips(self) -> list[dict[str, Any]]:
        cfg = self.server.holder.current.config
        return [
            {
                "name": w.name,
                "aliases": " ".join(w.aliases) or "-",
                "pools": " ".join(cfg.pools[p].name for p in w.pools),
                "pool_method": w.pool_method,
                "last_resort_pool": cfg.pools[w.last_resort_pool].name
                if w.last_resort_pool is not None
                else "-",
                "persistence": f"{w.persistence.ttl}s" if w.persistence else "-",
                "ecs": w.ecs,
            }
            for w in cfg.wideips
        ]

    def _show_pools(self) -> list[dict[str, Any]]:
        snap = self.server.holder.current
        cfg = snap.config
        rows = []
        for pi, p in enumerate(cfg.pools):
            up = {c.name for c in snap.members_up[pi]}
            members = [cfg.virtual_servers[m.vs].name for m in p.members]
            rows.append(
                {
                    "name": p.name,
                    "type": "AAAA" if p.rtype == 28 else "A",
                    "methods": " ".join(p.methods),
                    "members": " ".join(f"{m}{'' if m in up else '(x)'}" for m in members),
                    "available": f"{len(up)}/{len(members)}",
                    "ttl": p.ttl,
                    "max_answers": p.max_answers,
                }
            )
        return rows

    def _show_members(self) -> list[dict[str, Any]]:
        snap = self.server.holder.current
        cfg = snap.config
        runner = self.server.monitors
        rows = []
        for i, vs in enumerate(cfg.virtual_servers):
            state, reason = runner.member_status(cfg, vs)
            rule = f"at_least {vs.monitor_quorum}" if vs.monitor_quorum else "all"
            rows.append(
                {
                    "name": vs.name,
                    "address": str(vs.address),
                    "port": vs.port,
                    "datacenter": cfg.datacenters[vs.datacenter].name,
                    "state": state,
                    "available": snap.available[i],
                    "monitors": (" ".join(vs.monitors) + f" ({rule})") if vs.monitors else "-",
                    "reason": reason or "-",
                }
            )
        if self.server.sync is not None:  # the group's state and each node's view
            views = self.server.sync.member_views(cfg)
            for row, vs in zip(rows, cfg.virtual_servers, strict=True):
                row.update(views[vs.name])
        return rows

    def _show_datacenters(self) -> list[dict[str, Any]]:
        snap = self.server.holder.current
        cfg = snap.config
        rows = []
        for di, dc in enumerate(cfg.datacenters):
            state, reason = self.server.monitors.datacenter_status(dc)
            members = [i for i, vs in enumerate(cfg.virtual_servers) if vs.datacenter == di]
            link = f"{dc.link_monitor} -> {dc.link_address}" if dc.link_monitor else "-"
            rows.append(
                {
                    "name": dc.name,
                    "probe_source": str(dc.probe_source) if dc.probe_source else "-",
                    "link": link,
                    "state": state,
                    "members_available": f"{sum(snap.available[i] for i in members)}"
                    f"/{len(members)}",
                    "reason": reason or "-",
                }
            )
        return rows

    def _show_topology(self) -> list[dict[str, Any]]:
        cfg = self.server.holder.current.config
        return [
            {
                "line": r.line,
                "server": f"{r.server_kind}:{r.server}",
                "ldns": ("!" if r.negate else "")
                + (r.ldns if r.ldns_kind == "subnet" else f"{r.ldns_kind}:{r.ldns}".rstrip(":")),
                "score": r.score,
            }
            for r in cfg.topology
        ]

    def _show_sync(self) -> list[dict[str, Any]]:
        sync = self.server.sync
        if sync is None:
            raise CommandError("this node is standalone: no [sync] in its config")
        return sync.status()

    def _ldns(self, address: str | None, limit: object) -> list[dict[str, Any]]:
        # Built on the event loop: a million entries would hold the answers
        # for seconds (and make an answer past gslbctl's 16 MiB), so at most
        # `limit` of them, least recently seen first.
        if limit is None:
            limit = LDNS_SHOWN
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LDNS_SHOWN:
            raise CommandError(f"show ldns: --limit must be 1..{MAX_LDNS_SHOWN}")
        try:
            return list(self.server.probe_scheduler.entries(address, limit=limit))
        except ValueError as exc:
            raise CommandError(f"show ldns: {exc}") from None

    # -- actions ----------------------------------------------------------------

    async def cmd_reload(self, args: dict[str, Any]) -> dict[str, Any]:
        server = self.server
        if not await server.reload():
            error = server.last_reload_error
            raise CommandError(
                "reload rejected, the old configuration keeps serving:\n"
                + (error.report() if error is not None else "")
            )
        await server.synced()
        return {"generation": server.holder.current.generation}

    async def cmd_member(self, args: dict[str, Any]) -> dict[str, Any]:
        action, name = args.get("action"), args.get("name")
        if action not in ("disable", "enable") or not isinstance(name, str):
            raise CommandError("member disable|enable NAME")
        self.server.set_member_disabled(name, action == "disable")
        await self.server.synced()
        cfg = self.server.holder.current.config
        vs = next(v for v in cfg.virtual_servers if v.name == name)
        state, reason = self.server.monitors.member_status(cfg, vs)
        return {"name": name, "state": state, "reason": reason or "-"}

    async def cmd_explain(self, args: dict[str, Any]) -> dict[str, Any]:
        name, ldns = args.get("name"), args.get("ldns")
        if not isinstance(name, str) or not isinstance(ldns, str):
            raise CommandError("explain NAME --ldns IP")
        return explain(
            self.server.holder.current,
            self.server.responder,
            name,
            ldns,
            ecs=args.get("ecs"),
            qtype=str(args.get("qtype") or "A"),
        )

    async def cmd_probe(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        address = args.get("address")
        if not isinstance(address, str):
            raise CommandError("probe IP")
        scheduler: ProbeScheduler = self.server.probe_scheduler
        try:
            return list(await scheduler.probe_now(address))
        except ValueError as exc:
            raise CommandError(f"probe: {exc}") from None
