"""Reading the ledger back for `pulse log`: runs, deliveries and attempts, newest first, filtered.

Every filter is optional and bound as a value (`$name IS NULL OR column = $name`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import duckdb


@dataclass(frozen=True)
class LogFilter:
    report: str | None = None
    period: str | None = None
    status: str | None = None  # runs: status; deliveries: status; attempts: outcome
    recipient: str | None = None
    run_id: str | None = None
    since: datetime | None = None
    limit: int = 50


def _json(row: object) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(row).items()}  # type: ignore[call-overload]


@dataclass(frozen=True)
class RunLine:
    run_id: str
    trigger: str
    report: str
    period: str
    scheduled_for: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    exit_code: int | None
    error: str
    details: tuple[str, ...]

    def to_json(self) -> dict:
        return {**_json(self), "details": list(self.details)}


@dataclass(frozen=True)
class DeliveryLine:
    report: str
    period: str
    segment: str
    recipient: str
    recipient_list: str
    status: str
    attempts: int
    kind: str
    message_id: str
    delivered_message_id: str | None
    delivered_pdf_sha256: str | None
    sent_at: datetime | None
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str

    def to_json(self) -> dict:
        return _json(self)


@dataclass(frozen=True)
class AttemptLine:
    attempted_at: datetime | None
    finished_at: datetime | None
    run_id: str
    report: str
    period: str
    segment: str
    recipient: str
    attempt: int
    kind: str
    outcome: str
    message_id: str
    pdf_sha256: str
    error: str

    def to_json(self) -> dict:
        return _json(self)


def _params(f: LogFilter, with_recipient: bool = True, with_run: bool = False) -> dict:
    params = {"report": f.report, "period": f.period, "status": f.status, "since": f.since, "n": f.limit}
    if with_recipient:
        params["recipient"] = f.recipient.lower() if f.recipient else None
    if with_run:
        params["run"] = f.run_id
    return params


_COMMON = "($report IS NULL OR report = $report) AND ($period IS NULL OR period = $period)"


def runs(con: duckdb.DuckDBPyConnection, f: LogFilter) -> list[RunLine]:
    rows = con.execute(
        "SELECT coalesce(run_id, ''), trigger, report, period, scheduled_for, started_at, finished_at, status, "
        "exit_code, coalesce(error, ''), coalesce(details, '') FROM _pulse_runs "
        f"WHERE {_COMMON} AND ($status IS NULL OR status = $status) AND ($since IS NULL OR started_at >= $since) "
        "AND ($run IS NULL OR run_id = $run) ORDER BY started_at DESC, rowid DESC LIMIT $n",
        _params(f, with_recipient=False, with_run=True),
    ).fetchall()
    return [RunLine(*row[:10], tuple(d for d in row[10].split("\n") if d)) for row in rows]


def deliveries(con: duckdb.DuckDBPyConnection, f: LogFilter) -> list[DeliveryLine]:
    rows = con.execute(
        "SELECT report, period, segment, recipient, coalesce(recipient_list, ''), status, attempts, "
        "coalesce(kind, 'original'), coalesce(message_id, ''), delivered_message_id, delivered_pdf_sha256, sent_at, "
        "first_attempt_at, last_attempt_at, coalesce(last_error, '') FROM _pulse_deliveries "
        f"WHERE {_COMMON} AND ($status IS NULL OR status = $status) AND ($recipient IS NULL OR recipient = $recipient) "
        "AND ($since IS NULL OR coalesce(last_attempt_at, sent_at) >= $since) "
        "ORDER BY coalesce(last_attempt_at, sent_at) DESC NULLS LAST, report, period, segment, recipient LIMIT $n",
        _params(f),
    ).fetchall()
    return [DeliveryLine(*row) for row in rows]


def attempts(con: duckdb.DuckDBPyConnection, f: LogFilter) -> list[AttemptLine]:
    rows = con.execute(
        "SELECT attempted_at, finished_at, coalesce(run_id, ''), report, period, segment, recipient, attempt, "
        "coalesce(kind, 'original'), outcome, coalesce(message_id, ''), coalesce(pdf_sha256, ''), "
        "coalesce(error, '') FROM _pulse_delivery_attempts "
        f"WHERE {_COMMON} AND ($status IS NULL OR outcome = $status) AND ($recipient IS NULL OR recipient = $recipient) "
        "AND ($since IS NULL OR attempted_at >= $since) AND ($run IS NULL OR run_id = $run) "
        "ORDER BY attempted_at DESC, rowid DESC LIMIT $n",
        _params(f, with_run=True),
    ).fetchall()
    return [AttemptLine(*row) for row in rows]
