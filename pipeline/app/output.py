"""How `run`, `send` and `due` report: text lines (or nothing with --quiet), or one JSON document, and a
row in `_pulse_runs` for every `pulse run` and `pulse send`.

`command_output` wraps a command: it gives it an `Output` to fill, and when the
command ends (however it ends) prints the JSON document (`--format json`: on
stdout, also when the command failed, with the error and its exit code) and
records the run. Errors still go to stderr as one line with the exit code
(see `pipeline.app.cli`); `--quiet` leaves only them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click

from pipeline.core.errors import ProjectBusy, PulseError
from pipeline.core.periods import now_utc

FORMATS = ["text", "json"]


@dataclass
class Output:
    """What a command says: its lines (text) and its result fields (JSON); filled while it runs."""

    command: str
    fmt: str
    quiet: bool
    run_id: str
    report: str = ""
    period: str = ""
    data: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def line(self, text: str) -> None:
        if self.fmt == "text" and not self.quiet:
            click.echo(text)

    def note(self, text: str) -> None:
        """Said on stderr in text mode (unless --quiet), kept in the JSON document otherwise."""
        self.notes.append(text)
        if self.fmt == "text" and not self.quiet:
            click.echo(f"note: {text}", err=True)

    def document(self, error: BaseException | None) -> dict:
        code = exit_code_of(error)
        failure = None
        if isinstance(error, PulseError):
            failure = {"message": error.message, "hint": error.hint, "details": error.details}
        elif error is not None:
            failure = {"message": f"{type(error).__name__}: {error}", "hint": None, "details": []}
        return {"command": self.command, "run_id": self.run_id, "report": self.report or None,
                "period": self.period or None, "status": "succeeded" if code == 0 else "failed", "exit_code": code,
                **self.data, "notes": self.notes, "error": failure}


def exit_code_of(error: BaseException | None) -> int:
    if error is None:
        return 0
    if isinstance(error, PulseError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return 130
    return 2


@contextmanager
def command_output(project: Path, command: str, fmt: str, quiet: bool, now: datetime | None = None,
                   trigger: str | None = None) -> Iterator[Output]:
    """Run a command body with an `Output`; print its JSON and record the run (`trigger`) when it ends."""
    from pipeline.delivery.runs import new_run_id

    out = Output(command, fmt, quiet, new_run_id())
    started = now_utc(now)
    error: BaseException | None = None
    try:
        yield out
    except BaseException as exc:
        error = exc
        raise
    finally:
        if trigger is not None and not isinstance(error, ProjectBusy):
            _record(project, out, trigger, started, now, error)
        if fmt == "json":
            click.echo(json.dumps(out.document(error), indent=2, ensure_ascii=False, default=str))


def _record(project: Path, out: Output, trigger: str, started: datetime, now: datetime | None,
            error: BaseException | None) -> None:
    """The run as a row of `_pulse_runs`; a project whose config or database cannot be opened records nothing."""
    import duckdb

    from pipeline.config import load_project
    from pipeline.delivery import ledger
    from pipeline.delivery.runs import RunEntry, record_run

    code = exit_code_of(error)
    message = details = None
    if isinstance(error, PulseError):
        message, details = error.message, tuple(error.details)
    elif error is not None:
        message, details = ("interrupted" if code == 130 else f"internal error: {type(error).__name__}: {error}"), ()
    try:
        config = load_project(project)
        con = ledger.open_ledger(config.workdir, config.project.timezone)
    except (PulseError, duckdb.Error, OSError):
        return
    try:
        record_run(con, RunEntry(out.run_id, trigger, out.report, out.period, None, started, now_utc(now),
                                 "succeeded" if code == 0 else "failed", code, message or "", details or ()))
    finally:
        con.close()
