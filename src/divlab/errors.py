"""The errors divlab raises for what a user can fix: a bad value, a missing file, a directory holding
something else. The CLI prints any `DivlabError` as one line and exits 2; every other exception is a bug
and keeps its traceback. This module imports nothing, so raising or catching an error loads no package."""

from __future__ import annotations

from typing import Any


class DivlabError(Exception):
    """A user's mistake or an unmet precondition, explained in one line."""


class ConfigError(DivlabError, ValueError):
    """A configuration that cannot be satisfied; the message names the field and the value."""

    def __init__(self, field: str, value: Any, problem: str):
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}={value!r}: {problem}")

    def __reduce__(self):  # picklable across worker processes with its three arguments
        return type(self), (self.field, self.value, self.problem)


class UsageError(DivlabError):
    """A command line that cannot be run as given."""


class DataError(DivlabError):
    """A data file that is missing or malformed; the message names the file (and line, field)."""


class RunDirError(DivlabError):
    """An output directory that holds something other than the run asked for, or no run at all."""
