"""The delivery ledger, kept in the project's DuckDB file.

`_pulse_deliveries`: one row per report, period, segment ('' for the
company-wide report) and recipient address. `status` is the recipient's state:

- `sent`: the server accepted a message (`delivered_*` columns: which one,
  with which PDF and manifest; `sent_at`);
- `failed` (transient failures until the attempts ran out), `rejected`
  (refused permanently), `skipped` (not attempted because the server was
  unavailable): owed;
- `uncertain`: the message data was handed to the server but its reply never
  came (timeout, dropped connection, or the sending process was killed). It may
  or may not have arrived, so it is not sent again unless the operator says so
  (`pulse send --uncertain resend|delivered`);
- `abandoned`: the operator gave up on it (`pulse send --abandon`).

`message_id`, `pdf_sha256`, `manifest_sha256` and `kind` describe the latest
message that decided the state (the uncertain one, the failed one); `delivered_*`
what the recipient certainly got. A later resend or correction that fails never
rewrites what was delivered: its failures are attempts, and the row stays `sent`.

`_pulse_delivery_attempts` keeps every single attempt. An attempt that reaches
the DATA command is recorded as `in_flight` (and committed) before the message
data is sent, then resolved to its outcome; one still `in_flight` when the next
delivery starts belongs to a process that was killed (the project lock rules
out a live one) and becomes `uncertain` (`resolve_in_flight`).

Every statement binds its values; DuckDB commits each one as it runs, so a
`sent` row is on disk before the next recipient is tried.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.core import database, tables

COMPANY = ""  # the segment key of the company-wide report
OWED = ("failed", "rejected", "skipped")  # not delivered, to be sent again
UNRESOLVED = ("uncertain", "in_flight")  # may or may not have arrived
INTERRUPTED = "the sending process ended after handing the message to the server, before the server's reply"


@dataclass(frozen=True)
class DeliveryKey:
    report: str
    period: str
    segment: str  # COMPANY for the company-wide report
    recipient: str  # bare, lower-cased address


@dataclass(frozen=True)
class MessageRef:
    """One message as the ledger knows it."""

    message_id: str
    pdf_sha256: str
    manifest_sha256: str
    kind: str  # original | correction | resend


@dataclass(frozen=True)
class RecipientState:
    status: str
    latest: MessageRef  # the message that decided the status
    delivered: MessageRef | None  # what the recipient certainly got
    sent_at: datetime | None
    last_error: str
    recipient_list: str


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt sends to whom."""

    key: DeliveryKey
    recipient_list: str
    message: MessageRef
    run_id: str


def open_ledger(workdir: Path, timezone: str) -> duckdb.DuckDBPyConnection:
    """The project's database with the ledger tables in place."""
    con = database.connect(workdir / "pulse.duckdb", timezone)
    tables.ensure(con, *tables.LEDGER)
    return con


def _without(params: dict, *names: str) -> dict:
    """DuckDB wants exactly the parameters a statement names."""
    return {k: v for k, v in params.items() if k not in names}


def _key(key: DeliveryKey) -> dict:
    return {"r": key.report, "p": key.period, "s": key.segment, "a": key.recipient}


_WHERE = "report = $r AND period = $p AND segment = $s AND recipient = $a"


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def state_of(con: duckdb.DuckDBPyConnection, key: DeliveryKey) -> RecipientState | None:
    rows = con.execute(
        "SELECT status, coalesce(message_id, ''), coalesce(pdf_sha256, ''), coalesce(manifest_sha256, ''), "
        "coalesce(kind, 'original'), delivered_message_id, coalesce(delivered_pdf_sha256, ''), "
        "coalesce(delivered_manifest_sha256, ''), coalesce(delivered_kind, 'original'), sent_at, "
        f"coalesce(last_error, ''), recipient_list FROM _pulse_deliveries WHERE {_WHERE}",
        _key(key),
    ).fetchall()
    if not rows:
        return None
    row = rows[0]
    delivered = MessageRef(row[5], row[6], row[7], row[8]) if row[5] is not None else None
    return RecipientState(row[0], MessageRef(row[1], row[2], row[3], row[4]), delivered, row[9], row[10], row[11])


def status_of(con: duckdb.DuckDBPyConnection, key: DeliveryKey) -> str | None:
    state = state_of(con, key)
    return None if state is None else state.status


def delivered_ids(con: duckdb.DuckDBPyConnection, key: DeliveryKey) -> tuple[str, ...]:
    """Every Message-ID the recipient certainly got for this report file, oldest first (for References)."""
    rows = con.execute(
        f"SELECT message_id, min(attempt) AS first FROM _pulse_delivery_attempts WHERE {_WHERE} "
        "AND outcome IN ('sent', 'marked_delivered') GROUP BY message_id ORDER BY first",
        _key(key),
    ).fetchall()
    return tuple(row[0] for row in rows)


# -- attempts ------------------------------------------------------------------
def _next_attempt(con: duckdb.DuckDBPyConnection, key: DeliveryKey) -> int:
    """The number the next attempt for `key` gets (1 for the first)."""
    return con.execute(
        f"SELECT coalesce(max(attempt), 0) + 1 FROM _pulse_delivery_attempts WHERE {_WHERE}", _key(key)
    ).fetchall()[0][0]


def begin_attempt(con: duckdb.DuckDBPyConnection, attempt: Attempt, at: datetime) -> int:
    """Record an attempt as `in_flight` before its message data is sent; returns its number."""
    key = attempt.key
    m = attempt.message
    with _transaction(con):
        number = _next_attempt(con, key)
        con.execute(
            "INSERT INTO _pulse_delivery_attempts (report, period, segment, recipient, attempt, attempted_at, outcome, "
            "error, message_id, kind, pdf_sha256, manifest_sha256, run_id) "
            "VALUES ($r, $p, $s, $a, $n, $t, 'in_flight', '', $m, $k, $h, $mh, $run)",
            {**_key(key), "n": number, "t": at, "m": m.message_id, "k": m.kind, "h": m.pdf_sha256,
             "mh": m.manifest_sha256, "run": attempt.run_id},
        )
        con.execute(
            "INSERT INTO _pulse_deliveries (report, period, segment, recipient, recipient_list, status, attempts, "
            "message_id, pdf_sha256, manifest_sha256, kind, first_attempt_at, last_attempt_at, last_error) "
            "VALUES ($r, $p, $s, $a, $l, 'skipped', 0, $m, $h, $mh, $k, $t, $t, '') "
            "ON CONFLICT (report, period, segment, recipient) DO UPDATE SET "
            "first_attempt_at = coalesce(_pulse_deliveries.first_attempt_at, excluded.first_attempt_at), "
            "recipient_list = excluded.recipient_list",
            {**_key(key), "l": attempt.recipient_list, "m": m.message_id, "h": m.pdf_sha256,
             "mh": m.manifest_sha256, "k": m.kind, "t": at},
        )
    return number


def finish_attempt(con: duckdb.DuckDBPyConnection, attempt: Attempt, number: int, outcome: str, at: datetime,
                   error: str = "") -> None:
    """Resolve an `in_flight` attempt: sent, failed, rejected or uncertain."""
    with _transaction(con):
        con.execute(
            f"UPDATE _pulse_delivery_attempts SET outcome = $o, error = $e, finished_at = $t WHERE {_WHERE} "
            "AND attempt = $n",
            {**_key(attempt.key), "o": outcome, "e": error, "t": at, "n": number},
        )
        _apply(con, attempt, outcome, at, error)


def record_attempt(con: duckdb.DuckDBPyConnection, attempt: Attempt, outcome: str, at: datetime,
                   error: str = "") -> None:
    """An attempt that ended before its message data was sent (failed or rejected), committed at once."""
    key = attempt.key
    m = attempt.message
    with _transaction(con):
        number = _next_attempt(con, key)
        con.execute(
            "INSERT INTO _pulse_delivery_attempts (report, period, segment, recipient, attempt, attempted_at, outcome, "
            "error, message_id, kind, pdf_sha256, manifest_sha256, run_id, finished_at) "
            "VALUES ($r, $p, $s, $a, $n, $t, $o, $e, $m, $k, $h, $mh, $run, $t)",
            {**_key(key), "n": number, "t": at, "o": outcome, "e": error, "m": m.message_id, "k": m.kind,
             "h": m.pdf_sha256, "mh": m.manifest_sha256, "run": attempt.run_id},
        )
        _apply(con, attempt, outcome, at, error)


def _apply(con: duckdb.DuckDBPyConnection, attempt: Attempt, outcome: str, at: datetime, error: str) -> None:
    """The recipient's row after an attempt with `outcome`.

    sent: delivered. uncertain: uncertain. A certain failure (failed, rejected)
    changes the state only of a recipient who has nothing delivered and nothing
    uncertain: a failed resend or correction never undoes a delivery.
    """
    m = attempt.message
    params = {**_key(attempt.key), "l": attempt.recipient_list, "o": outcome, "m": m.message_id,
              "h": m.pdf_sha256, "mh": m.manifest_sha256, "k": m.kind, "t": at, "e": error}
    con.execute(
        "INSERT INTO _pulse_deliveries (report, period, segment, recipient, recipient_list, status, attempts, "
        "message_id, pdf_sha256, manifest_sha256, kind, first_attempt_at, last_attempt_at, last_error) "
        "VALUES ($r, $p, $s, $a, $l, 'skipped', 0, $m, $h, $mh, $k, $t, $t, '') "
        "ON CONFLICT (report, period, segment, recipient) DO NOTHING",
        _without(params, "o", "e"),
    )
    if outcome == "sent":
        con.execute(
            "UPDATE _pulse_deliveries SET status = 'sent', attempts = attempts + 1, last_attempt_at = $t, "
            "message_id = $m, pdf_sha256 = $h, manifest_sha256 = $mh, kind = $k, delivered_message_id = $m, "
            "delivered_pdf_sha256 = $h, delivered_manifest_sha256 = $mh, delivered_kind = $k, sent_at = $t, "
            f"last_error = '', recipient_list = $l WHERE {_WHERE}",
            _without(params, "o", "e"),
        )
    elif outcome == "uncertain":
        con.execute(
            "UPDATE _pulse_deliveries SET status = 'uncertain', attempts = attempts + 1, last_attempt_at = $t, "
            f"message_id = $m, pdf_sha256 = $h, manifest_sha256 = $mh, kind = $k, last_error = $e WHERE {_WHERE}",
            _without(params, "o", "l"),
        )
    else:
        con.execute(
            "UPDATE _pulse_deliveries SET attempts = attempts + 1, last_attempt_at = $t, "
            "status = CASE WHEN status = 'uncertain' OR delivered_message_id IS NOT NULL THEN status ELSE $o END, "
            "message_id = CASE WHEN status = 'uncertain' OR delivered_message_id IS NOT NULL THEN message_id ELSE $m END, "
            "pdf_sha256 = CASE WHEN status = 'uncertain' OR delivered_message_id IS NOT NULL THEN pdf_sha256 ELSE $h END, "
            "manifest_sha256 = CASE WHEN status = 'uncertain' OR delivered_message_id IS NOT NULL "
            "THEN manifest_sha256 ELSE $mh END, "
            "kind = CASE WHEN status = 'uncertain' OR delivered_message_id IS NOT NULL THEN kind ELSE $k END, "
            "last_error = CASE WHEN status = 'uncertain' OR delivered_message_id IS NOT NULL THEN last_error ELSE $e END "
            f"WHERE {_WHERE}",
            _without(params, "l"),
        )


def record_skipped(con: duckdb.DuckDBPyConnection, key: DeliveryKey, *, recipient_list: str, error: str) -> None:
    """A recipient not attempted (the server was unavailable): still owed, no attempt counted.

    A recipient with something delivered or uncertain keeps its state.
    """
    con.execute(
        "INSERT INTO _pulse_deliveries (report, period, segment, recipient, recipient_list, status, attempts, "
        "message_id, pdf_sha256, manifest_sha256, kind, last_error) "
        "VALUES ($r, $p, $s, $a, $l, 'skipped', 0, '', '', '', 'original', $e) "
        "ON CONFLICT (report, period, segment, recipient) DO UPDATE SET "
        "status = CASE WHEN _pulse_deliveries.status = 'uncertain' OR _pulse_deliveries.delivered_message_id IS NOT NULL "
        "THEN _pulse_deliveries.status ELSE 'skipped' END, "
        "last_error = CASE WHEN _pulse_deliveries.status = 'uncertain' "
        "OR _pulse_deliveries.delivered_message_id IS NOT NULL THEN _pulse_deliveries.last_error ELSE excluded.last_error END",
        {**_key(key), "l": recipient_list, "e": error},
    )


def resolve_in_flight(con: duckdb.DuckDBPyConnection, at: datetime) -> list[tuple[DeliveryKey, str]]:
    """Attempts left `in_flight` by a killed process become `uncertain`; returns (key, Message-ID) of each.

    Call only while holding the project lock (no other process is sending).
    """
    rows = con.execute(
        "SELECT report, period, segment, recipient, attempt, message_id, pdf_sha256, manifest_sha256, kind, run_id "
        "FROM _pulse_delivery_attempts WHERE outcome = 'in_flight' ORDER BY attempted_at, attempt"
    ).fetchall()
    resolved = []
    for report, period, segment, recipient, number, message_id, pdf, manifest, kind, run_id in rows:
        key = DeliveryKey(report, period, segment, recipient)
        state = state_of(con, key)
        attempt = Attempt(key, state.recipient_list if state else "", MessageRef(message_id, pdf or "", manifest or "",
                                                                               kind or "original"), run_id or "")
        finish_attempt(con, attempt, number, "uncertain", at, INTERRUPTED)
        resolved.append((key, message_id))
    return resolved


def mark_delivered(con: duckdb.DuckDBPyConnection, key: DeliveryKey, at: datetime, run_id: str) -> MessageRef | None:
    """The operator confirmed that the uncertain message arrived: it counts as delivered (no attempt counted)."""
    state = state_of(con, key)
    if state is None or state.status not in UNRESOLVED:
        return None
    m = state.latest
    params = {**_key(key), "t": at, "m": m.message_id, "k": m.kind, "h": m.pdf_sha256, "mh": m.manifest_sha256,
              "run": run_id}
    with _transaction(con):
        number = _next_attempt(con, key)
        con.execute(
            "INSERT INTO _pulse_delivery_attempts (report, period, segment, recipient, attempt, attempted_at, outcome, "
            "error, message_id, kind, pdf_sha256, manifest_sha256, run_id, finished_at) "
            "VALUES ($r, $p, $s, $a, $n, $t, 'marked_delivered', 'confirmed by the operator', $m, $k, $h, $mh, $run, $t)",
            {**params, "n": number},
        )
        con.execute(
            "UPDATE _pulse_deliveries SET status = 'sent', delivered_message_id = $m, delivered_pdf_sha256 = $h, "
            "delivered_manifest_sha256 = $mh, delivered_kind = $k, sent_at = coalesce(last_attempt_at, $t), "
            f"last_error = '' WHERE {_WHERE}",
            _without(params, "run"),
        )
    return m


def abandon(con: duckdb.DuckDBPyConnection, key: DeliveryKey, recipient_list: str, at: datetime, run_id: str) -> str:
    """The operator gave up on an owed or uncertain delivery.

    Returns `abandoned`, or `already_sent` / `was_abandoned` when there was nothing to give up.
    """
    state = state_of(con, key)
    if state is not None and state.status == "abandoned":
        return "was_abandoned"
    if state is not None and state.delivered is not None and state.status not in UNRESOLVED:
        return "already_sent"
    with _transaction(con):
        number = _next_attempt(con, key)
        con.execute(
            "INSERT INTO _pulse_delivery_attempts (report, period, segment, recipient, attempt, attempted_at, outcome, "
            "error, message_id, kind, pdf_sha256, manifest_sha256, run_id, finished_at) "
            "VALUES ($r, $p, $s, $a, $n, $t, 'abandoned', 'abandoned by the operator', '', '', '', '', $run, $t)",
            {**_key(key), "n": number, "t": at, "run": run_id},
        )
        con.execute(
            "INSERT INTO _pulse_deliveries (report, period, segment, recipient, recipient_list, status, attempts, "
            "message_id, pdf_sha256, manifest_sha256, kind, last_error) "
            "VALUES ($r, $p, $s, $a, $l, 'abandoned', 0, '', '', '', 'original', 'abandoned by the operator') "
            "ON CONFLICT (report, period, segment, recipient) DO UPDATE SET status = 'abandoned', "
            "last_error = 'abandoned by the operator'",
            {**_key(key), "l": recipient_list},
        )
    return "abandoned"


def deliveries(con: duckdb.DuckDBPyConnection, report: str, period: str) -> list[tuple]:
    """(segment, recipient, status, attempts, last_error) of a report and period."""
    return con.execute(
        "SELECT segment, recipient, status, attempts, last_error FROM _pulse_deliveries "
        "WHERE report = $r AND period = $p ORDER BY segment, recipient",
        {"r": report, "p": period},
    ).fetchall()


@dataclass(frozen=True)
class OwedDelivery:
    """A delivery not (certainly) made and not abandoned."""

    report: str
    period: str
    segment: str
    recipient: str
    status: str
    since: datetime | None  # the first attempt
    last_error: str


def owed_deliveries(con: duckdb.DuckDBPyConnection, reports: list[str]) -> list[OwedDelivery]:
    """Every delivery of these reports that is owed or uncertain (not sent, not abandoned), oldest first."""
    if not reports:
        return []
    rows = con.execute(
        "SELECT report, period, segment, recipient, status, first_attempt_at, coalesce(last_error, '') "
        "FROM _pulse_deliveries WHERE list_contains($reports, report) AND status NOT IN ('sent', 'abandoned') "
        "ORDER BY period, report, segment, recipient",
        {"reports": reports},
    ).fetchall()
    return [OwedDelivery(*row) for row in rows]
