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
from gslb.config.files import DEFAULT_MAX_FILE_SIZE, FileRejected, read_text
from gslb.config.schema import Control, Document
from gslb.config.schema import Zone as ZoneEntry
from gslb.config.source import TOO_DEEP, TomlSource, read_toml
from gslb.config.topology_csv import parse_topology
from gslb.config.zonefile import Reader, absolute_name, check_name, parse_zone
from gslb.errors import ConfigError, Problem, Problems
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


def _read_topology(path: Path, limit: int, problems: Problems) -> list[TopologyRecord]:
    if not path.exists() and not path.is_symlink():
        return []  # no topology file: no records
    try:
        text = read_text(path, limit)
    except FileRejected as exc:
        problems.append(Problem(str(path), None, "", None, str(exc)))
        return []
    records, found = parse_topology(text, str(path))
    problems.extend(found)
    return records


def _include_reader(limit: int) -> Reader:
    """How a zone file's `$INCLUDE`s are read: as the zone files themselves."""

    def read(path: Path) -> str:
        try:
            return read_text(path, limit)
        except FileRejected as exc:
            raise ValueError(f"cannot read {path}: {exc.reason}") from None

    return read


def _read_zones(
    base: Path, entries: list[ZoneEntry], limit: int, source: TomlSource, problems: Problems
) -> list[Zone]:
    zones = []
    for i, entry in enumerate(entries):
        origin = absolute_name(entry.name)
        bad_name = check_name(origin)
        if bad_name is not None:
            problems.append(source.problem(("zone", i, "name"), entry.name, bad_name))
            continue
        path = base / entry.file
        try:
            text = read_text(path, limit)
        except FileRejected as exc:
            message = f"cannot read {path}: {exc.reason}"
            problems.append(source.problem(("zone", i, "file"), entry.file, message))
            # Still a configured zone: names in it must not be reported as outside.
            zones.append(Zone(origin, str(path), ()))
            continue
        zone, found = parse_zone(text, origin, str(path), _include_reader(limit))
        problems.extend(found)
        zones.append(zone)
    return zones


def load(directory: str | Path) -> Config:
    """Load, validate and compile the configuration in `directory`."""
    base = Path(directory)
    source = read_toml(base / OBJECTS_FILE)
    try:
        return _compile(base, str(directory), source)
    except RecursionError:  # what tomllib let through, deeper than a config can be
        raise ConfigError([Problem(source.file, None, "", None, TOO_DEEP)]) from None


def _compile(base: Path, directory: str, source: TomlSource) -> Config:
    problems = Problems()
    try:
        doc = Document.model_validate(source.data)
    except ValidationError as exc:
        problems += validation_problems(exc, source)
        # Cross-checks need a valid document, but the other files stand alone.
        _read_topology(base / TOPOLOGY_FILE, DEFAULT_MAX_FILE_SIZE, problems)
        try:
            entries = _ZONES.validate_python(source.data.get("zone", []))
        except ValidationError:
            entries = []
        _read_zones(base, entries, DEFAULT_MAX_FILE_SIZE, source, problems)
        raise ConfigError(problems.ordered()) from None
    limit = doc.server.max_file_size
    topology = _read_topology(base / TOPOLOGY_FILE, limit, problems)
    zones = _read_zones(base, doc.zone, limit, source, problems)
    compiler = Compiler(source, doc)
    config = compiler.compile(directory, str(base / TOPOLOGY_FILE), topology, zones)
    problems += compiler.problems
    if problems or problems.more:
        raise ConfigError(problems.ordered())
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
