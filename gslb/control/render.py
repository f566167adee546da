"""How gslbctl prints what gslbd answers: aligned tables and readable traces.

Pure functions from the JSON-able results of gslb/control/api.py to text,
so `--json` and the table show the same data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    return str(value)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as columns aligned under upper-case headers; the last column is not padded."""
    if not rows:
        return "(none)"
    names = list(columns or rows[0].keys())
    cells = [[cell(row.get(c)) for c in names] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(names)]
    lines = [[c.upper() for c in names], *cells]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line[:-1], widths, strict=False)) + "  " + line[-1]
        if len(line) > 1
        else line[0]
        for line in lines
    )


def member_views(row: Mapping[str, Any]) -> dict[str, Any]:
    """A `show members` row of a sync group with each node's view on one line:
    `node=state/age` (`*` when it counted, `stale` when too old to)."""
    if "views" not in row:
        return dict(row)
    views = " ".join(
        f"{v['node']}={v['state']}/{v['age']}s" + ("(stale)" if v["stale"] else "*" * v["counted"])
        for v in row["views"]
    )
    return {**row, "views": views}


def fields(result: Mapping[str, Any]) -> str:
    """`key: value` lines, keys aligned."""
    width = max(len(k) for k in result)
    out = []
    for key, value in result.items():
        text = ", ".join(map(cell, value)) if isinstance(value, list) else cell(value)
        out.append(f"{key + ':':<{width + 1}} {text}")
    return "\n".join(out)


def _metrics(metrics: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in metrics.items())


def explanation(result: Mapping[str, Any]) -> str:
    """An explain result: the question, every method tried, then the answer."""
    ecs = f" ecs {result['ecs']}" if result.get("ecs") else ""
    head = (
        f"{result['name']} {result['qtype']} from ldns {result['ldns']}{ecs}"
        f" (wide IP {result['wideip']}, decided for {result['decided_for']},"
        f" generation {result['generation']})"
    )
    rows = []
    for step in result["steps"]:
        chosen = " ".join(step["chosen"])
        detail = step["reason"] or (f"-> {chosen}" if chosen else "")
        if step["metrics"]:
            detail = f"{detail}  [{_metrics(step['metrics'])}]".strip()
        rows.append(
            {
                "tier": step["tier"],
                "scope": step["scope"],
                "method": step["method"],
                "outcome": step["outcome"],
                "detail": detail or "-",
            }
        )
    d = result["decision"]
    if d["action"] == "answer":
        tail = "\n".join(f"answer: {line}" for line in d["answer"])
        tail += f"\n  (pool {d['pool']}, decided by {d['method']})"
    else:
        tail = f"answer: none ({d['action']})"
    if d.get("probe"):
        tail += "\n  (this LDNS is queued for probing: a dynamic method had no path data)"
    if result.get("hot_path") == "plan":
        if result.get("plan_agrees"):
            tail += "\n  (queries take the compiled plan; it decides the same)"
        else:
            planned = result.get("plan_decision") or {}
            tail += (
                "\n  (queries take the compiled plan, and it DISAGREES: it answers"
                f" {planned.get('answer') or planned.get('action')}; please report this bug)"
            )
    return f"{head}\n{table(rows)}\n{tail}"
