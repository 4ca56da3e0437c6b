"""Errors a user can act on, one type per area, and the exit code each one means.

Every error carries a one-line message that names the file, key or line, and
a hint saying what to do (the hint names a section of the docs where one
helps). The command line turns any `PulseError` into that line on stderr and
its `exit_code` (see `pipeline.app.cli`); nothing else decides exit codes.

| exit code | meaning | errors |
| --- | --- | --- |
| 0 | success | |
| 1 | the command ran, but a check, a delivery or a validation failed, or the project was busy | `RunFailed` and its kinds |
| 2 | the command could not run: usage, config, input, query, template, working folder | every other `PulseError` |
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


# -- the command could not run (exit code 2) ------------------------------------------------
class UsageError(PulseError):
    """A command-line value is wrong: a period, a report name, a format, an option."""


class WorkdirError(PulseError):
    """The project's working folder or database cannot be used."""


class ConfigError(PulseError):
    """A config file is missing, malformed or inconsistent."""


class InputError(PulseError):
    """An export file or folder is missing or cannot be read."""


class QueryError(PulseError):
    """A KPI, check or ad hoc query is refused, failed or returned the wrong shape."""


class RenderError(PulseError):
    """A report template or stylesheet cannot be rendered."""


class DeliveryError(PulseError):
    """Built outputs cannot be delivered as they are (missing, changed, not built from these exports)."""


# -- the command ran, but did not succeed (exit code 1) -------------------------------------
class RunFailed(PulseError):
    """The run executed but a check, a delivery or a validation failed (exit code 1)."""

    exit_code = 1


class CheckFailed(RunFailed):
    """The data-quality gate failed: nothing was rendered or sent."""


class DeliveryFailed(RunFailed):
    """At least one recipient did not get the report."""


class ProjectBusy(RunFailed):
    """Another pulse command holds the project's lock."""
