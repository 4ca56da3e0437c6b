"""`pulse due`: build (and email) every scheduled report whose time has come, and keep what is owed owed.

Meant to be started often (hourly from cron or a systemd timer). For each
report with a `schedule:` it asks `schedule.owed_runs` which periods are owed
at this moment, builds each once, oldest first, and emails it when the report
has an `email:` block and `schedule.email` is true (the default). Outcomes go
to the `_pulse_runs` ledger table; only scheduled runs (`trigger =
'schedule'`) count for what is owed, so a manual `pulse run` does not stop the
scheduled one from sending (the delivery ledger stops double emails).

A scheduled run succeeds when the report was built and no delivery is left to
retry, uncertain or held. Recipients refused permanently (5xx) do not fail the
run (it is not rebuilt every hour for them) but stay owed. A failed run stays
owed and is retried by every `pulse due` until it succeeds or is abandoned
(`pulse send REPORT --period P --abandon`), also after later periods were sent.

Whatever is still owed (failed periods, deliveries not made) is listed after
the runs; once something has been owed longer than `schedule.max_owed_hours`,
`pulse due` exits 7 (unless a run of this invocation failed: the lowest exit
code wins). `--dry-run` says what would be built and sent, and does nothing.
The caller holds the project lock (not needed for a dry run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pipeline.config import ProjectConfig, load_project
from pipeline.core.errors import OwedTooLong, PulseError, combined_exit_code, error_class
from pipeline.core.periods import now_utc
from pipeline.delivery import ledger, runs
from pipeline.delivery.outcome import DeliveryReport
from pipeline.delivery.runs import RunEntry, RunRow
from pipeline.delivery.schedule import DuePlan, Occurrence, next_due, owed_runs, schedule_zone

from . import runner


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z") if moment is not None else "—"


@dataclass(frozen=True)
class DueRun:
    occurrence: Occurrence
    status: str  # succeeded | failed
    exit_code: int = 0
    error: str = ""
    details: tuple[str, ...] = ()
    folder: Path | None = None
    delivery: DeliveryReport | None = None
    run_id: str = ""

    def line(self) -> str:
        o = self.occurrence
        head = f"{o.report} {o.period.label} (scheduled {_when(o.at)})"
        if self.status == "succeeded":
            return f"built: {head}"
        return f"failed: {head}: {self.error}" + (f": {'; '.join(self.details)}" if self.details else "")

    def to_json(self) -> dict:
        o = self.occurrence
        return {"report": o.report, "period": o.period.label, "scheduled_for": o.at.isoformat(),
                "status": self.status, "exit_code": self.exit_code, "error": self.error or None,
                "details": list(self.details), "run_id": self.run_id,
                "folder": str(self.folder) if self.folder else None,
                "delivery": self.delivery.to_json() if self.delivery else None}


@dataclass(frozen=True)
class OwedItem:
    """Something a scheduled report still owes: a period not built and sent, or one recipient."""

    report: str
    period: str
    what: str  # "the scheduled run" or a recipient address
    status: str  # failed (run) / the delivery's status
    since: datetime | None
    error: str
    overdue: bool  # owed longer than schedule.max_owed_hours

    def line(self) -> str:
        since = f" since {_when(self.since)}" if self.since else ""
        late = " (overdue)" if self.overdue else ""
        return f"owed{late}: {self.report} {self.period} {self.what}: {self.status}{since}" + (
            f": {self.error}" if self.error else "")

    def to_json(self) -> dict:
        return {"report": self.report, "period": self.period, "what": self.what, "status": self.status,
                "since": self.since.isoformat() if self.since else None, "error": self.error or None,
                "overdue": self.overdue}


@dataclass(frozen=True)
class Planned:
    """--dry-run: a run `pulse due` would make now, and the recipient lists it would email."""

    occurrence: Occurrence
    lists: tuple[str, ...]  # empty: built, not emailed

    def line(self) -> str:
        o = self.occurrence
        mail = f" and email it (lists {', '.join(self.lists)})" if self.lists else ""
        return f"would build: {o.report} {o.period.label} (scheduled {_when(o.at)}){mail}"


@dataclass(frozen=True)
class DueOutcome:
    runs: tuple[DueRun, ...]
    notes: tuple[str, ...]
    owed: tuple[OwedItem, ...] = ()
    planned: tuple[Planned, ...] = ()  # --dry-run: what would be built

    @property
    def overdue(self) -> list[OwedItem]:
        return [o for o in self.owed if o.overdue]

    @property
    def exit_code(self) -> int:
        codes = [r.exit_code for r in self.runs] + [OwedTooLong.exit_code if self.overdue else 0]
        return combined_exit_code(codes)

    def error(self) -> PulseError | None:
        code = self.exit_code
        if not code:
            return None
        failed = [r for r in self.runs if r.exit_code]
        details = [f"{r.occurrence.report} {r.occurrence.period.label}: {r.error}" for r in failed if r.error]
        details += [f"{r.occurrence.report} {r.occurrence.period.label}: {d}" for r in failed for d in r.details]
        for run in failed:
            if run.delivery is not None:
                error = run.delivery.error()
                details += error.details if error is not None else []
        details += [o.line() for o in self.overdue]
        parts = []
        if failed:
            parts.append(f"pulse due: {len(failed)} scheduled run(s) failed")
        if self.overdue:
            parts.append(f"{len(self.overdue)} item(s) owed longer than allowed (schedule.max_owed_hours)")
        return error_class(code)(
            "; ".join(parts) or "pulse due failed",
            "fix the cause; the next 'pulse due' retries what is still owed ('pulse send REPORT --period P' "
            "sends owed emails now, '--abandon' gives them up); see docs/email-and-scheduling.md "
            "'What is owed stays owed'",
            details=list(dict.fromkeys(details)),
        )

    def raise_for_failures(self) -> None:
        error = self.error()
        if error is not None:
            raise error

    def to_json(self) -> dict:
        return {"runs": [r.to_json() for r in self.runs], "owed": [o.to_json() for o in self.owed],
                "notes": list(self.notes), "exit_code": self.exit_code,
                "would_build": [{"report": p.occurrence.report, "period": p.occurrence.period.label,
                                 "scheduled_for": p.occurrence.at.isoformat(), "email_lists": list(p.lists)}
                                for p in self.planned]}


@dataclass(frozen=True)
class ScheduleStatus:
    report: str
    cron: str
    timezone: str
    owed: tuple[str, ...]  # periods owed now
    next_due: Occurrence | None
    last_success: RunRow | None
    owed_deliveries: int = 0


def _plans(config: ProjectConfig, moment: datetime) -> list[DuePlan]:
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    try:
        return [
            owed_runs(config, name, report, moment, runs.last_scheduled_success(con, name),
                      runs.settled_periods(con, name), runs.first_scheduled(con, name), runs.failed_periods(con, name))
            for name, report in config.reports.items() if report.schedule is not None
        ]
    finally:
        con.close()


def run_due(root: Path, now: datetime | None = None, progress: Callable[[str], None] = lambda _m: None,
            sleep: Callable[[float], None] = time.sleep, dry_run: bool = False) -> DueOutcome:
    """Build and deliver every owed scheduled run (with `dry_run`: only say which), then list what is owed."""
    config = load_project(root)
    moment = now_utc(now)
    plans = _plans(config, moment)
    notes = tuple(f"{p.report}: runs missed before the catch-up window (schedule.catch_up) were not made up"
                  for p in plans if p.not_made_up)
    if dry_run:
        planned = tuple(Planned(o, _lists(config, o.report)) for plan in plans for o in plan.runs)
        return DueOutcome((), notes, owed_items(config, moment), planned)
    done = []
    for plan in plans:
        for occurrence in plan.runs:
            progress(f"due: {occurrence.report} {occurrence.period.label}")
            done.append(_run_one(root, occurrence, now, progress, sleep))
    if not done:
        progress("nothing due")
    return DueOutcome(tuple(done), notes, owed_items(load_project(root), moment))


def _lists(config: ProjectConfig, name: str) -> tuple[str, ...]:
    """The recipient lists a scheduled run of `name` emails (none when it only builds)."""
    report = config.reports[name]
    if report.email is None or report.schedule is None or not report.schedule.email:
        return ()
    return tuple(dict.fromkeys([*report.email.send_to, *(x for lists in report.email.segments.values() for x in lists)]))


def _run_one(root: Path, occurrence: Occurrence, now: datetime | None, progress, sleep) -> DueRun:
    started = now_utc(now)
    run_id = runs.new_run_id()
    folder, delivered, error, details, code = None, None, "", (), 0
    try:
        config = load_project(root)
        report = config.reports[occurrence.report]
        emailing = report.email is not None and report.schedule is not None and report.schedule.email
        if emailing:
            runner.prepare_delivery(config, occurrence.report)  # delivery config problems: before building
        result = runner.run_report(root, occurrence.report, occurrence.period.label, now=now, progress=progress)
        folder = result.folder
        if emailing:
            delivered = runner.send_report(root, occurrence.report, now=now, built=result, run_id=run_id,
                                           progress=progress, sleep=sleep)
            problem = delivered.error()
            if problem is not None:
                code, error, details = problem.exit_code, problem.message, tuple(problem.details)
    except PulseError as exc:
        code, error, details = exc.exit_code, exc.message, tuple(exc.details)
    # permanent refusals alone do not fail the run (they stay owed); anything to retry, uncertain or held does
    retry = delivered is None or bool(delivered.owed or delivered.uncertain or delivered.held or delivered.problems)
    status = "failed" if code and (delivered is None or retry) else "succeeded"
    config = load_project(root)
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    try:
        runs.record_run(con, RunEntry(run_id, "schedule", occurrence.report, occurrence.period.label, occurrence.at,
                                      started, now_utc(now), status, code, error, details))
    finally:
        con.close()
    return DueRun(occurrence, status, code, error, details, folder, delivered, run_id)


def owed_items(config: ProjectConfig, moment: datetime) -> tuple[OwedItem, ...]:
    """What the scheduled reports still owe: failed periods and deliveries not made (not abandoned)."""
    scheduled = {name: r for name, r in config.reports.items() if r.schedule is not None}
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    try:
        items = []
        for name, report in scheduled.items():
            assert report.schedule is not None
            limit = timedelta(hours=report.schedule.max_owed_hours)
            for period, since in runs.failed_periods(con, name).items():
                items.append(OwedItem(name, period, "the scheduled run", "failed", since, "",
                                      since is not None and moment - since > limit))
        for owed in ledger.owed_deliveries(con, list(scheduled)):
            schedule = scheduled[owed.report].schedule
            assert schedule is not None
            limit = timedelta(hours=schedule.max_owed_hours)
            what = owed.recipient if not owed.segment else f"{owed.segment} → {owed.recipient}"
            items.append(OwedItem(owed.report, owed.period, what, owed.status, owed.since, owed.last_error,
                                  owed.since is not None and moment - owed.since > limit))
    finally:
        con.close()
    return tuple(items)


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
            done = runs.settled_periods(con, name)
            plan = owed_runs(config, name, report, moment, runs.last_scheduled_success(con, name), done,
                             runs.first_scheduled(con, name), runs.failed_periods(con, name))
            statuses.append(ScheduleStatus(
                report=name,
                cron=report.schedule.cron,
                timezone=schedule_zone(config, report.schedule).key,
                owed=tuple(o.period.label for o in plan.runs),
                next_due=next_due(config, name, report, moment, done | {o.period.label for o in plan.runs}),
                last_success=runs.last_run(con, name, "succeeded"),
                owed_deliveries=len(ledger.owed_deliveries(con, [name])),
            ))
    finally:
        con.close()
    return statuses


def abandon_period(root: Path, report: str, period: str, now: datetime | None, run_id: str) -> bool:
    """Settle a scheduled period the operator gave up on (False: the report has no schedule)."""
    config = load_project(root)
    if config.reports[report].schedule is None:
        return False
    moment = now_utc(now)
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    try:
        runs.record_run(con, RunEntry(run_id, "schedule", report, period, None, moment, moment, "abandoned", 0,
                                      "abandoned by the operator"))
    finally:
        con.close()
    return True
