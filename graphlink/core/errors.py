"""graphlink's exceptions and the record of one problem found in the input.

>>> str(Problem("shops.csv", 5, "created_at", "unparseable date '2026-13-01'"))
"shops.csv line 5, column created_at: unparseable date '2026-13-01'"
>>> str(Problem("shops.csv", None, None, "required file is missing"))
'shops.csv: required file is missing'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "GraphlinkError", "DatasetError", "ConfigError", "Neo4jError", "Stopped"]


@dataclass(frozen=True)
class Problem:
    """One problem in an input file, with its place.

    ``line`` is the physical line of the file (the header is line 1) for text
    formats, the row number (first data row is 1) for Parquet, where
    ``unit`` is ``"row"``.
    """

    file: str
    line: int | None
    column: str | None
    message: str
    reason: str = "invalid"
    unit: str = "line"

    def __str__(self) -> str:
        place = self.file
        if self.line is not None:
            place += f" {self.unit} {self.line}"
        if self.column is not None:
            sep = ", column" if self.line is not None else " column"
            place += f"{sep} {self.column}"
        return f"{place}: {self.message}"


class GraphlinkError(Exception):
    """Base class of every error graphlink reports to its user."""


class DatasetError(GraphlinkError):
    """The input dataset is invalid; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem], limit: int = 50):
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:limit])
        more = len(problems) - limit
        if more > 0:
            shown += f"\n... and {more} more problem(s)"
        super().__init__(shown)


class ConfigError(GraphlinkError):
    """A bad option, mapping file or environment setting."""


class Neo4jError(GraphlinkError):
    """Neo4j could not be reached or refused a request."""


class Stopped(BaseException):  # noqa: N818 (a stop, like KeyboardInterrupt, not an error)
    """The process was told to stop (SIGTERM, SIGINT, SIGHUP): unwind and exit.

    A BaseException, as KeyboardInterrupt is, so ``except Exception`` never
    swallows it and nothing retries the work. ``signum`` is the signal;
    :meth:`exit_status` the conventional status, 128 + signum (143 for SIGTERM).

    >>> Stopped(15).exit_status, str(Stopped(15))
    (143, 'stopped by SIGTERM')
    """

    def __init__(self, signum: int):
        import signal

        self.signum = int(signum)
        super().__init__(f"stopped by {signal.Signals(self.signum).name}")

    @property
    def exit_status(self) -> int:
        return 128 + self.signum
