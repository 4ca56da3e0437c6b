"""Errors a user can act on.

`PulseError` means the command could not run (exit code 2): bad config, missing
input, a broken query. `RunFailed` means the run executed but a check or a
delivery failed (exit code 1). Both carry a one-line message that names the
file, key or line, and a hint saying what to do.
"""

from __future__ import annotations


class PulseError(Exception):
    """A problem the user can fix; the command could not run (exit code 2)."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or []

    def one_line(self) -> str:
        """The message as printed on stderr: message, then the hint."""
        if self.hint:
            return f"error: {self.message} (hint: {self.hint})"
        return f"error: {self.message}"

    def report(self) -> str:
        """The one line plus any detail lines (e.g. every failed check)."""
        return "\n".join([self.one_line(), *(f"  - {d}" for d in self.details)])


class ConfigError(PulseError):
    """A config file is missing, malformed or inconsistent."""


class InputError(PulseError):
    """An export file or folder is missing or cannot be read."""


class QueryError(PulseError):
    """A KPI or ad hoc query failed or returned the wrong shape."""


class RunFailed(PulseError):
    """The run executed but a check or delivery failed (exit code 1)."""

    exit_code = 1
