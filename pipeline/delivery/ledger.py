"""The delivery and run ledger, kept in the project's DuckDB file.

`_pulse_deliveries`: one row per report, period, segment ('' for the
company-wide report) and recipient address: status (`sent`, `failed` =
transient failures until the attempts ran out, `rejected` = refused
permanently, `skipped` = not attempted because the server was unavailable),
attempts, Message-ID, the PDF's sha256, first/last attempt and sent times, the
last error. `_pulse_delivery_attempts` keeps every single attempt.

`_pulse_runs`: one row per build started by `pulse due` (or recorded by a
caller): report, period, the scheduled time it was for, status and error.

Every statement binds its values; DuckDB commits each one as it runs, so a
`sent` row is on disk before the next recipient is tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.core import database, tables

COMPANY = ""  # the segment key of the company-wide report


@dataclass(frozen=True)
class DeliveryKey:
    report: str
    period: str
    segment: str  # COMPANY for the company-wide report
    recipient: str  # bare, lower-cased address


@dataclass(frozen=True)
class RunRow:
    report: str
    period: str
    scheduled_for: datetime | None
    status: str
    finished_at: datetime | None
    error: str


def open_ledger(workdir: Path, timezone: str) -> duckdb.DuckDBPyConnection:
    """The project's database with the ledger tables in place."""
    con = database.connect(workdir / "pulse.duckdb", timezone)
    tables.ensure(con, *tables.LEDGER)
    return con


# -- deliveries ---------------------------------------------------------------
def _key(key: DeliveryKey) -> dict:
    return {"r": key.report, "p": key.period, "s": key.segment, "a": key.recipient}


def status_of(con: duckdb.DuckDBPyConnection, key: DeliveryKey) -> str | None:
    rows = con.execute(
        "SELECT status FROM _pulse_deliveries WHERE report = $r AND period = $p AND segment = $s AND recipient = $a",
        _key(key),
    ).fetchall()
    return rows[0][0] if rows else None


def record_attempt(con: duckdb.DuckDBPyConnection, key: DeliveryKey, *, recipient_list: str, status: str,
                   at: datetime, message_id: str, pdf_sha256: str, error: str = "") -> None:
    """One attempt (sent, failed or rejected), committed before this returns."""
    params = {**_key(key), "l": recipient_list, "st": status, "m": message_id, "h": pdf_sha256, "t": at,
              "e": error}
    con.execute("BEGIN TRANSACTION")
    try:
        attempt = con.execute(
            "SELECT coalesce(max(attempt), 0) + 1 FROM _pulse_delivery_attempts "
            "WHERE report = $r AND period = $p AND segment = $s AND recipient = $a",
            _key(key),
        ).fetchall()[0][0]
        con.execute(
            "INSERT INTO _pulse_delivery_attempts VALUES ($r, $p, $s, $a, $n, $t, $st, $e, $m)",
            {**_key(key), "n": attempt, "t": at, "st": status, "e": error, "m": message_id},
        )
        con.execute(
            "INSERT INTO _pulse_deliveries VALUES ($r, $p, $s, $a, $l, $st, 1, $m, $h, $t, $t, "
            "CASE WHEN $st = 'sent' THEN $t END, $e) "
            "ON CONFLICT (report, period, segment, recipient) DO UPDATE SET recipient_list = excluded.recipient_list, "
            "status = excluded.status, attempts = _pulse_deliveries.attempts + 1, message_id = excluded.message_id, "
            "pdf_sha256 = excluded.pdf_sha256, last_attempt_at = excluded.last_attempt_at, "
            "sent_at = coalesce(excluded.sent_at, _pulse_deliveries.sent_at), last_error = excluded.last_error",
            params,
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def record_skipped(con: duckdb.DuckDBPyConnection, key: DeliveryKey, *, recipient_list: str, error: str) -> None:
    """A recipient not attempted (the server was unavailable): still owed, no attempt counted."""
    con.execute(
        "INSERT INTO _pulse_deliveries VALUES ($r, $p, $s, $a, $l, 'skipped', 0, '', '', NULL, NULL, NULL, $e) "
        "ON CONFLICT (report, period, segment, recipient) DO UPDATE SET "
        "status = CASE WHEN _pulse_deliveries.status = 'sent' THEN 'sent' ELSE 'skipped' END, "
        "last_error = excluded.last_error",
        {**_key(key), "l": recipient_list, "e": error},
    )


def deliveries(con: duckdb.DuckDBPyConnection, report: str, period: str) -> list[tuple]:
    """(segment, recipient, status, attempts, last_error) of a report and period."""
    return con.execute(
        "SELECT segment, recipient, status, attempts, last_error FROM _pulse_deliveries "
        "WHERE report = $r AND period = $p ORDER BY segment, recipient",
        {"r": report, "p": period},
    ).fetchall()


# -- runs ---------------------------------------------------------------------
def record_run(con: duckdb.DuckDBPyConnection, *, report: str, period: str, scheduled_for: datetime | None,
               trigger: str, started_at: datetime, finished_at: datetime, status: str, error: str = "") -> None:
    con.execute(
        "INSERT INTO _pulse_runs VALUES ($r, $p, $sf, $tr, $sa, $fa, $st, $e)",
        {"r": report, "p": period, "sf": scheduled_for, "tr": trigger, "sa": started_at, "fa": finished_at,
         "st": status, "e": error},
    )


def succeeded_periods(con: duckdb.DuckDBPyConnection, report: str, trigger: str = "schedule") -> set[str]:
    rows = con.execute(
        "SELECT DISTINCT period FROM _pulse_runs WHERE report = $r AND trigger = $t AND status = 'succeeded'",
        {"r": report, "t": trigger},
    ).fetchall()
    return {row[0] for row in rows}


def last_scheduled_success(con: duckdb.DuckDBPyConnection, report: str) -> datetime | None:
    """The latest scheduled time whose run succeeded: catch-up starts after it."""
    return con.execute(
        "SELECT max(scheduled_for) FROM _pulse_runs WHERE report = $r AND trigger = 'schedule' "
        "AND status = 'succeeded'",
        {"r": report},
    ).fetchall()[0][0]


def first_scheduled(con: duckdb.DuckDBPyConnection, report: str) -> datetime | None:
    """The scheduled time of the first scheduled run ever attempted (failed or not)."""
    return con.execute(
        "SELECT min(scheduled_for) FROM _pulse_runs WHERE report = $r AND trigger = 'schedule'", {"r": report}
    ).fetchall()[0][0]


def last_run(con: duckdb.DuckDBPyConnection, report: str, status: str = "succeeded") -> RunRow | None:
    """The latest run of `report` with this status."""
    rows = con.execute(
        "SELECT report, period, scheduled_for, status, finished_at, error FROM _pulse_runs "
        "WHERE report = $r AND status = $st ORDER BY finished_at DESC LIMIT 1",
        {"r": report, "st": status},
    ).fetchall()
    return RunRow(*rows[0]) if rows else None
