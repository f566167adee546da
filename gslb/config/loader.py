"""load(): the one validation path shared by `gslbctl check` and start-up.

Reads `wideips.toml`, `topology.csv` (optional) and the zone files named in
`[[zone]]`, all relative to one directory; validates them with the schema;
compiles them into a `gslb.model.Config`. Every problem found is raised at
once in a single ConfigError, each naming file, line, field path and value.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from gslb.config.compiler import Compiler, under
from gslb.config.schema import Control, Document
from gslb.config.schema import Zone as ZoneEntry
from gslb.config.source import TomlSource, read_toml
from gslb.config.topology_csv import parse_topology
from gslb.config.zonefile import absolute_name, check_name, parse_zone
from gslb.errors import ConfigError, Problem
from gslb.model import Config, TopologyRecord, Zone

OBJECTS_FILE = "wideips.toml"
TOPOLOGY_FILE = "topology.csv"
_ZONES = TypeAdapter(list[ZoneEntry])


def validation_problems(error: ValidationError, source: TomlSource) -> list[Problem]:
    """pydantic's errors as Problems located in the TOML source."""
    problems = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        value = item["input"]
        # A missing field's "input" is its parent table, which says nothing.
        if item["type"] == "missing" or isinstance(value, dict):
            value = None
        message = item["msg"].removeprefix("Value error, ")
        problems.append(source.problem(loc, value, message))
    return problems


def _read_text(path: Path) -> str:
    """The file's text; OSError/UnicodeDecodeError become one ValueError message."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None


def _read_topology(path: Path, problems: list[Problem]) -> list[TopologyRecord]:
    if not path.exists():
        return []  # no topology file: no records
    try:
        text = _read_text(path)
    except ValueError as exc:
        problems.append(Problem(str(path), None, "", None, str(exc)))
        return []
    records, found = parse_topology(text, str(path))
    problems.extend(found)
    return records


def _read_zones(
    base: Path, entries: list[ZoneEntry], source: TomlSource, problems: list[Problem]
) -> list[Zone]:
    zones = []
    for i, entry in enumerate(entries):
        origin = absolute_name(entry.name)
        bad_name = check_name(origin)
        if bad_name is not None:
            problems.append(source.problem(("zone", i, "name"), entry.name, bad_name))
            continue
        try:
            text = _read_text(base / entry.file)
        except ValueError as exc:
            problems.append(source.problem(("zone", i, "file"), entry.file, str(exc)))
            # Still a configured zone: names in it must not be reported as outside.
            zones.append(Zone(origin, str(base / entry.file), ()))
            continue
        zone, found = parse_zone(text, origin, str(base / entry.file), _read_text)
        problems.extend(found)
        zones.append(zone)
    return zones


def _ordered(problems: list[Problem]) -> list[Problem]:
    # Reading order: file by file, line by line; unlocated ones first in a file.
    return sorted(problems, key=lambda p: (p.file, p.line or 0))


def load(directory: str | Path) -> Config:
    """Load, validate and compile the configuration in `directory`."""
    base = Path(directory)
    source = read_toml(base / OBJECTS_FILE)
    problems: list[Problem] = []
    topology = _read_topology(base / TOPOLOGY_FILE, problems)
    try:
        doc = Document.model_validate(source.data)
    except ValidationError as exc:
        problems += validation_problems(exc, source)
        # Cross-checks need a valid document, but zone files stand alone.
        try:
            entries = _ZONES.validate_python(source.data.get("zone", []))
        except ValidationError:
            entries = []
        _read_zones(base, entries, source, problems)
        raise ConfigError(_ordered(problems)) from None
    zones = _read_zones(base, doc.zone, source, problems)
    compiler = Compiler(source, doc)
    config = compiler.compile(str(directory), str(base / TOPOLOGY_FILE), topology, zones)
    problems += compiler.problems
    if problems:
        raise ConfigError(_ordered(problems))
    return config


def control_socket(directory: str | Path) -> str:
    """The `[control] socket` of the configuration in `directory`, for gslbctl.
    Only that table is read: a configuration being edited, with mistakes
    elsewhere, must not keep gslbctl from reaching the running gslbd (to
    reload it and read why it was rejected). An unreadable one gives the
    default."""
    try:
        control = Control.model_validate(read_toml(Path(directory) / OBJECTS_FILE).data["control"])
    except (ConfigError, KeyError, ValidationError):
        control = Control()
    return under(str(directory), control.socket)
