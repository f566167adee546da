"""Compiling `[[monitor]]` tables and the references to them.

A monitor table's common fields are checked by the schema; the rest belong
to its type and are validated by that monitor's own `settings` model (see
gslb/monitors/), with errors located at the table's fields like any other.
Virtual servers name their monitors (`monitors`, `monitor_rule`) and data
centers their link monitor (`link_monitor`, `link_address`); both are checked
here against the defined monitors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import ValidationError

from gslb.config import schema
from gslb.config.source import FieldPath
from gslb.model import Monitor

Report = Callable[[FieldPath, object, str], None]


def monitor_types() -> dict[str, type]:
    # Imported here, like the algorithm registry: gslb.config stays light.
    from gslb.monitors import REGISTRY

    return {name: m.settings for name, m in REGISTRY.items()}


def compile_monitors(tables: Sequence[schema.Monitor], report: Report) -> tuple[Monitor, ...]:
    types = monitor_types()
    known = ", ".join(sorted(types))
    monitors = []
    for i, m in enumerate(tables):
        path: FieldPath = ("monitor", i)
        settings = types.get(m.type)
        if settings is None:
            report((*path, "type"), m.type, f"unknown monitor type; known: {known}")
            continue
        try:
            spec = settings.model_validate(m.model_extra or {})  # type: ignore[attr-defined]
        except ValidationError as exc:
            for item in exc.errors(include_url=False):
                value = None if item["type"] == "missing" else item["input"]
                message = item["msg"].removeprefix("Value error, ")
                if item["type"] == "extra_forbidden":
                    message = f"not a field of a {m.type} monitor"
                report((*path, *item["loc"]), value, message)
            continue
        monitors.append(
            Monitor(m.name, m.type, m.interval, m.timeout, m.rise, m.fall, m.port, spec)
        )
    return tuple(monitors)


def quorum(i: int, v: schema.VirtualServer, names: set[str], report: Report) -> int:
    """Check a virtual server's monitors; the number that must be up (0 = all)."""
    seen: set[str] = set()
    for k, name in enumerate(v.monitors):
        path: FieldPath = ("virtual_server", i, "monitors", k)
        if name not in names:
            report(path, name, "unknown monitor")
        elif name in seen:
            report(path, name, "monitor listed twice")
        seen.add(name)
    if v.monitor_rule == "all":
        return 0
    needed = int(v.monitor_rule.split()[1])
    if needed > len(v.monitors):
        report(
            ("virtual_server", i, "monitor_rule"),
            v.monitor_rule,
            f"needs {needed} monitors up but {len(v.monitors)} are listed",
        )
    return needed


def check_link(i: int, d: schema.DataCenter, names: set[str], report: Report) -> None:
    path: FieldPath = ("datacenter", i)
    if d.link_monitor is not None and d.link_monitor not in names:
        report((*path, "link_monitor"), d.link_monitor, "unknown monitor")
    if (d.link_monitor is None) != (d.link_address is None):
        missing = "link_address" if d.link_address is None else "link_monitor"
        report((*path, missing), None, "link_monitor and link_address go together")
