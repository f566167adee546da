"""The one exception family of gslb."""

from __future__ import annotations

from dataclasses import dataclass


class GslbError(Exception):
    """A gslb error."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration, located as precisely as it can be."""

    file: str
    line: int | None
    path: str
    value: object
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.path}:" if self.path else ""
        value = "" if self.value is None else f" (value: {self.value!r})"
        return f"{where}:{field} {self.message}{value}"


class ConfigError(GslbError):
    """The configuration is invalid."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or self.__doc__)


class FormError(GslbError):
    """The query is malformed but its header could be read."""

    def __init__(self, why: str, query_id: int, flags: int) -> None:
        super().__init__(why)
        self.query_id = query_id
        self.flags = flags
