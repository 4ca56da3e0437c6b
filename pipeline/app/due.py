"""`pulse due`: build (and email) every scheduled report whose time has come.

Meant to be started often (hourly from cron or a systemd timer). For each
report with a `schedule:` it asks `schedule.owed_runs` which periods are owed
at this moment, builds each once, oldest first, and emails it when the report
has an `email:` block and `schedule.email` is true (the default). Outcomes go
to the `_pulse_runs` ledger table; only scheduled runs (`trigger =
'schedule'`) count for what is owed, so a manual `pulse run` does not stop the
scheduled one from sending (the delivery ledger stops double emails).

A run counts as successful when the report was built and no delivery is left
to retry (recipients refused permanently are reported once, not retried every
hour). A failed run is retried by the next `pulse due`. The caller holds the
project lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.config import load_project
from pipeline.core.errors import PulseError, RunFailed
from pipeline.core.periods import now_utc
from pipeline.delivery import ledger
from pipeline.delivery.ledger import RunRow
from pipeline.delivery.schedule import Occurrence, next_due, owed_runs, schedule_zone
from pipeline.delivery.send import DeliveryReport

from . import runner


@dataclass(frozen=True)
class DueRun:
    occurrence: Occurrence
    status: str  # succeeded | failed
    error: str = ""
    folder: Path | None = None
    delivery: DeliveryReport | None = None

    def line(self) -> str:
        o = self.occurrence
        when = o.at.strftime("%Y-%m-%d %H:%M %Z")
        if self.status == "succeeded":
            return f"built: {o.report} {o.period.label} (scheduled {when})"
        return f"failed: {o.report} {o.period.label} (scheduled {when}): {self.error}"


@dataclass(frozen=True)
class DueOutcome:
    runs: tuple[DueRun, ...]
    notes: tuple[str, ...]

    def raise_for_failures(self) -> None:
        details = [f"{r.occurrence.report} {r.occurrence.period.label}: {r.error}" for r in self.runs
                   if r.status != "succeeded"]
        for run in self.runs:
            if run.delivery is not None:
                details += [f"{run.delivery.report} {run.delivery.period} {o.where}: {o.status}: {o.error}"
                            for o in run.delivery.failures]
        if details:
            raise RunFailed(
                f"pulse due: {len(details)} scheduled run(s) or delivery(ies) failed",
                "fix the cause; the next 'pulse due' retries what is still owed",
                details=details,
            )


@dataclass(frozen=True)
class ScheduleStatus:
    report: str
    cron: str
    timezone: str
    owed: tuple[str, ...]  # periods owed now
    next_due: Occurrence | None
    last_success: RunRow | None


def run_due(root: Path, now: datetime | None = None, progress: Callable[[str], None] = lambda _m: None,
            sleep: Callable[[float], None] = time.sleep) -> DueOutcome:
    """Build and deliver every owed scheduled run."""
    config = load_project(root)
    moment = now_utc(now)
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    try:
        plans = [
            owed_runs(config, name, report, moment, ledger.last_scheduled_success(con, name),
                      ledger.succeeded_periods(con, name), ledger.first_scheduled(con, name))
            for name, report in config.reports.items() if report.schedule is not None
        ]
    finally:
        con.close()
    notes = tuple(f"{p.report}: runs missed before the catch-up window (schedule.catch_up) were not made up"
                  for p in plans if p.not_made_up)
    runs = []
    for plan in plans:
        for occurrence in plan.runs:
            progress(f"due: {occurrence.report} {occurrence.period.label}")
            runs.append(_run_one(root, occurrence, now, progress, sleep))
    if not runs:
        progress("nothing due")
    return DueOutcome(tuple(runs), notes)


def _run_one(root: Path, occurrence: Occurrence, now: datetime | None, progress, sleep) -> DueRun:
    started = now_utc(now)
    folder, delivered, error = None, None, ""
    try:
        config = load_project(root)
        report = config.reports[occurrence.report]
        emailing = report.email is not None and report.schedule is not None and report.schedule.email
        if emailing:
            runner.prepare_delivery(config, occurrence.report)  # delivery config problems: before building
        result = runner.run_report(root, occurrence.report, occurrence.period.label, now=now, progress=progress)
        folder = result.folder
        if emailing:
            delivered = runner.send_report(root, occurrence.report, now=now, built=result, progress=progress,
                                           sleep=sleep)
            if delivered.owed:
                error = f"{len(delivered.owed)} email(s) still owed"
    except PulseError as exc:
        error = exc.one_line().removeprefix("error: ")
    status = "failed" if error else "succeeded"
    config = load_project(root)
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    try:
        ledger.record_run(con, report=occurrence.report, period=occurrence.period.label,
                          scheduled_for=occurrence.at, trigger="schedule", started_at=started,
                          finished_at=now_utc(now), status=status, error=error)
    finally:
        con.close()
    return DueRun(occurrence, status, error, folder, delivered)


def list_schedules(root: Path, now: datetime | None = None) -> list[ScheduleStatus]:
    """Each scheduled report: what is owed now, its next due time, its last success."""
    config = load_project(root)
    moment = now_utc(now)
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    statuses = []
    try:
        for name, report in config.reports.items():
            if report.schedule is None:
                continue
            done = ledger.succeeded_periods(con, name)
            plan = owed_runs(config, name, report, moment, ledger.last_scheduled_success(con, name), done,
                             ledger.first_scheduled(con, name))
            statuses.append(ScheduleStatus(
                report=name,
                cron=report.schedule.cron,
                timezone=schedule_zone(config, report.schedule).key,
                owed=tuple(o.period.label for o in plan.runs),
                next_due=next_due(config, name, report, moment, done | {o.period.label for o in plan.runs}),
                last_success=ledger.last_run(con, name, "succeeded"),
            ))
    finally:
        con.close()
    return statuses
