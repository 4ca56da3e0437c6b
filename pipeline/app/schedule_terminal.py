"""`pulse due --list`: the scheduled reports as a table in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .due import ScheduleStatus


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z") if moment is not None else "—"


def print_schedules(statuses: list[ScheduleStatus]) -> None:
    """Each scheduled report: cron, what is owed now, next due time, last success."""
    if not statuses:
        Console().print("no report has a schedule: (see README 'Scheduling')")
        return
    table = Table(title="Scheduled reports", title_justify="left")
    for heading in ("Report", "Schedule", "Owed now", "Next due", "Last successful run"):
        table.add_column(heading)
    for s in statuses:
        nxt = "—" if s.next_due is None else f"{_when(s.next_due.at)} ({s.next_due.period.label})"
        last = "never" if s.last_success is None else (
            f"{s.last_success.period}, finished {_when(s.last_success.finished_at)}")
        table.add_row(s.report, f"{s.cron} ({s.timezone})", ", ".join(s.owed) or "nothing", nxt, last)
    Console(width=max(140, Console().width)).print(table)
