"""The run ledger `_pulse_runs`: one row per `pulse run`, `pulse send` and scheduled build.

Each row: a run id (attempts made by the run carry it), the trigger (`run`,
`send`, `schedule`), report, period, the scheduled time it was for (scheduled
builds), start and end, status (`succeeded`, `failed`, `abandoned`), the exit
code, the error line and its details (e.g. every failed check).

Only scheduled rows (`trigger = 'schedule'`) decide what `pulse due` owes: a
scheduled period is settled when a scheduled run of it succeeded or the
operator abandoned it; one that failed stays owed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import duckdb


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class RunEntry:
    run_id: str
    trigger: str  # run | send | schedule
    report: str
    period: str
    scheduled_for: datetime | None
    started_at: datetime
    finished_at: datetime
    status: str  # succeeded | failed | abandoned
    exit_code: int
    error: str = ""
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunRow:
    report: str
    period: str
    scheduled_for: datetime | None
    status: str
    finished_at: datetime | None
    error: str


def record_run(con: duckdb.DuckDBPyConnection, entry: RunEntry) -> None:
    con.execute(
        "INSERT INTO _pulse_runs (report, period, scheduled_for, trigger, started_at, finished_at, status, error, "
        "run_id, exit_code, details) VALUES ($r, $p, $sf, $tr, $sa, $fa, $st, $e, $id, $x, $d)",
        {"r": entry.report, "p": entry.period, "sf": entry.scheduled_for, "tr": entry.trigger, "sa": entry.started_at,
         "fa": entry.finished_at, "st": entry.status, "e": entry.error, "id": entry.run_id, "x": entry.exit_code,
         "d": "\n".join(entry.details)},
    )


def settled_periods(con: duckdb.DuckDBPyConnection, report: str) -> set[str]:
    """Periods a scheduled run built successfully, or that the operator abandoned: not owed."""
    rows = con.execute(
        "SELECT DISTINCT period FROM _pulse_runs WHERE report = $r AND trigger = 'schedule' "
        "AND status IN ('succeeded', 'abandoned')",
        {"r": report},
    ).fetchall()
    return {row[0] for row in rows}


def failed_periods(con: duckdb.DuckDBPyConnection, report: str) -> dict[str, datetime]:
    """Scheduled periods that failed and are not settled: period -> the scheduled time of its first run."""
    rows = con.execute(
        "SELECT period, min(scheduled_for) FROM _pulse_runs WHERE report = $r AND trigger = 'schedule' "
        "GROUP BY period HAVING bool_and(status = 'failed') ORDER BY 2",
        {"r": report},
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def last_scheduled_success(con: duckdb.DuckDBPyConnection, report: str) -> datetime | None:
    """The latest scheduled time whose run succeeded: catch-up of missed runs starts after it."""
    return con.execute(
        "SELECT max(scheduled_for) FROM _pulse_runs WHERE report = $r AND trigger = 'schedule' "
        "AND status = 'succeeded'",
        {"r": report},
    ).fetchall()[0][0]


def first_scheduled(con: duckdb.DuckDBPyConnection, report: str) -> datetime | None:
    """The scheduled time of the first scheduled run ever attempted (failed or not)."""
    return con.execute(
        "SELECT min(scheduled_for) FROM _pulse_runs WHERE report = $r AND trigger = 'schedule' "
        "AND status <> 'abandoned'",
        {"r": report},
    ).fetchall()[0][0]


def last_run(con: duckdb.DuckDBPyConnection, report: str, status: str = "succeeded",
             trigger: str = "schedule") -> RunRow | None:
    """The latest run of `report` with this status and trigger."""
    rows = con.execute(
        "SELECT report, period, scheduled_for, status, finished_at, error FROM _pulse_runs "
        "WHERE report = $r AND status = $st AND trigger = $tr ORDER BY finished_at DESC LIMIT 1",
        {"r": report, "st": status, "tr": trigger},
    ).fetchall()
    return RunRow(*rows[0]) if rows else None
