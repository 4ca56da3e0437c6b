"""Errors a user can act on, one type per area, and the exit code each one means.

Every error carries a one-line message that names the file, key or line, and
a hint saying what to do (the hint names a section of the docs where one
helps). The command line turns any `PulseError` into that line on stderr and
its `exit_code` (see `pipeline.app.cli`); nothing else decides exit codes.

| exit code | meaning | errors |
| --- | --- | --- |
| 0 | success | |
| 1 | the command ran, but did not succeed (`pulse validate` found errors, a report cannot be split by segment) | `RunFailed` |
| 2 | the command could not run: usage, config, input, query, template, working folder | every other `PulseError` |
| 3 | the data-quality gate failed: nothing was rendered or sent | `CheckFailed` |
| 4 | a delivery failed: a recipient certainly did not get the report | `DeliveryFailed` |
| 5 | a delivery is uncertain: the server may or may not have accepted a message | `DeliveryUncertain` |
| 6 | a correction is held: figures changed after the report was sent | `CorrectionHeld` |
| 7 | `pulse due`: something is owed for longer than `schedule.max_owed_hours` | `OwedTooLong` |
| 8 | another pulse command holds the project's lock; nothing was done | `ProjectBusy` |

When one command meets several of these (`pulse due` runs several reports), it exits with the
lowest number among them.
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


# -- the command ran, but did not succeed (exit codes 1, 3-8) -----------------------------------
class RunFailed(PulseError):
    """The command ran but did not succeed (exit code 1; its kinds below have their own codes)."""

    exit_code = 1


class CheckFailed(RunFailed):
    """The data-quality gate failed: nothing was rendered or sent (exit code 3)."""

    exit_code = 3


class DeliveryFailed(RunFailed):
    """At least one recipient certainly did not get the report (exit code 4)."""

    exit_code = 4


class DeliveryUncertain(RunFailed):
    """A message was handed to the server but its reply never came: it may or may not have arrived (exit code 5)."""

    exit_code = 5


class CorrectionHeld(RunFailed):
    """Figures changed after the report was sent, and the correction waits for a decision (exit code 6)."""

    exit_code = 6


class OwedTooLong(RunFailed):
    """`pulse due`: a scheduled report or delivery has been owed longer than allowed (exit code 7)."""

    exit_code = 7


class ProjectBusy(RunFailed):
    """Another pulse command holds the project's lock (exit code 8)."""

    exit_code = 8


def combined_exit_code(codes: list[int]) -> int:
    """The exit code of a command that met several outcomes: the lowest non-zero one (0 when none)."""
    failing = [c for c in codes if c]
    return min(failing) if failing else 0


def error_class(exit_code: int) -> type[PulseError]:
    """The error type that stands for `exit_code` (2 and unknown codes: PulseError)."""
    for kind in (RunFailed, CheckFailed, DeliveryFailed, DeliveryUncertain, CorrectionHeld, OwedTooLong, ProjectBusy):
        if kind.exit_code == exit_code:
            return kind
    return PulseError
