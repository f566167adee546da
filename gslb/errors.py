"""The one exception family of gslb."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Problems one configuration error holds; past that they are only counted,
# so a file of a million bad lines costs neither memory nor a report of
# hundreds of megabytes.
MAX_PROBLEMS = 100


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
        value = "" if self.value is None else f" (value: {_shortened(repr(self.value))})"
        return f"{where}:{field} {self.message}{value}"


def _shortened(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _place(problem: Problem) -> tuple[str, int]:
    """Reading order: file by file, line by line; unlocated ones first in a file."""
    return problem.file, problem.line or 0


class Problems(list[Problem]):
    """Problems found so far: the first `limit` of them in reading order, and
    how many `more` there are."""

    def __init__(self, problems: Iterable[Problem] = (), limit: int = MAX_PROBLEMS) -> None:
        super().__init__()
        self.limit = limit
        self.more = 0
        self._last: tuple[str, int] | None = None  # the place of the last held, once full
        self.extend(problems)

    def append(self, problem: Problem) -> None:
        if len(self) < self.limit:
            super().append(problem)
            return
        self.more += 1
        if self._last is None:
            self._last = max(map(_place, self))
        # Files are read line by line: a later problem mostly comes later, and
        # costs one comparison.
        if _place(problem) < self._last:
            last = max(range(len(self)), key=lambda i: _place(self[i]))
            self[last] = problem
            self._last = max(map(_place, self))

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.append(problem)
        self.more += problems.more if isinstance(problems, Problems) else 0

    def __iadd__(self, problems: Iterable[Problem]) -> Problems:  # type: ignore[override,misc]
        self.extend(problems)
        return self

    def ordered(self) -> Problems:
        """In reading order."""
        out = Problems(sorted(self, key=_place), self.limit)
        out.more += self.more
        return out

    @property
    def total(self) -> int:
        return len(self) + self.more


class ConfigError(GslbError):
    """The configuration is invalid."""

    def __init__(self, problems: Iterable[Problem], more: int = 0) -> None:
        held = problems if isinstance(problems, Problems) else Problems(problems)
        self.problems: tuple[Problem, ...] = tuple(held)
        self.more = held.more + more  # found but not held (past MAX_PROBLEMS)
        super().__init__(self.report() or self.__doc__)

    def __reduce__(self) -> tuple[type[ConfigError], tuple[tuple[Problem, ...], int]]:
        return ConfigError, (self.problems, self.more)  # pickled by gslb/config/isolated.py

    def report(self) -> str:
        """The problems one a line, then how many more there are."""
        lines = [str(p) for p in self.problems]
        if self.more:
            lines.append(f"... and {self.more} more")
        return "\n".join(lines)


class FormError(GslbError):
    """The query is malformed but its header could be read."""

    def __init__(self, why: str, query_id: int, flags: int) -> None:
        super().__init__(why)
        self.query_id = query_id
        self.flags = flags
