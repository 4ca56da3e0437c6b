"""Timestamps are stored as instants (TIMESTAMPTZ): the obvious duration SQL is right across daylight saving.

A project in Europe/Rome (CET +01:00, CEST +02:00; clocks go forward at 02:00
on 29 March 2026 and back at 03:00 on 25 October 2026). Every expected value
is worked out by hand in the comments. Naive text is local time in Rome; text
with an offset is that instant; both are bucketed into months by Rome's
calendar; `date_diff('second', a, b)` is real elapsed time without any cast.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from pipeline.config import load_project
from pipeline.core.database import connect
from pipeline.core.periods import Calendar, Grain
from pipeline.kpis.queries import register_periods
from pipeline.sources.ingest import ingest
from support.messy import make

UTC = timezone.utc
COLUMNS = {"ticket_id": {"type": "text"}, "created_at": {"type": "timestamp"},
           "resolved_at": {"type": "timestamp"}}
ROWS = [
    # id, created, resolved, hours elapsed, created as UTC
    ("autumn", "2026-10-24 12:00:00", "2026-10-25 12:00:00", 25.0, datetime(2026, 10, 24, 10, 0)),  # CEST -> CET
    ("spring", "2026-03-28 12:00:00", "2026-03-29 12:00:00", 23.0, datetime(2026, 3, 28, 11, 0)),  # CET -> CEST
    ("offsets", "2026-10-24T10:00:00Z", "2026-10-25T11:00:00Z", 25.0, datetime(2026, 10, 24, 10, 0)),
    # 22:30 UTC on 31 March is 00:30 on 1 April in Rome: April's
    ("april", "2026-03-31T22:30:00Z", "2026-04-01T00:30:00+02:00", 0.0, datetime(2026, 3, 31, 22, 30)),
    ("late", "2026-10-31 23:30:00", "2026-11-01 00:30:00", 1.0, datetime(2026, 10, 31, 22, 30)),
    # 02:30 on 29 March does not exist in Rome: read as 03:30 CEST (01:30 UTC); 04:30 CEST is 02:30 UTC
    ("gap", "2026-03-29 02:30:00", "2026-03-29 04:30:00", 1.0, datetime(2026, 3, 29, 1, 30)),
    # 02:30 on 25 October happens twice: the later one, CET (01:30 UTC); 03:30 CET is 02:30 UTC
    ("twice", "2026-10-25 02:30:00", "2026-10-25 03:30:00", 1.0, datetime(2026, 10, 25, 1, 30)),
]


@pytest.fixture
def con(tmp_path: Path):
    lines = "".join(f"{r[0]},{r[1]},{r[2]}\n" for r in ROWS)
    root = make(tmp_path, {"data/tickets.csv": "ticket_id,created_at,resolved_at\n" + lines}, columns=COLUMNS,
                source={"event_time": "created_at"}, project={"timezone": "Europe/Rome"})
    config = load_project(root)
    connection = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    ingest(connection, config)
    calendar = Calendar(Grain.MONTH)
    register_periods(connection, calendar.window(calendar.parse("2026-11", date(2026, 12, 5)), 10))
    yield connection
    connection.close()


def test_stored_as_instants(con) -> None:
    assert [r[0] for r in con.execute("SELECT typeof(created_at) FROM items LIMIT 1").fetchall()] == [
        "TIMESTAMP WITH TIME ZONE"]
    found = dict(con.execute("SELECT ticket_id, created_at FROM items").fetchall())
    assert {k: v.astimezone(UTC).replace(tzinfo=None) for k, v in found.items()} == {r[0]: r[4] for r in ROWS}


def test_date_diff_is_elapsed_time_across_both_changes(con) -> None:
    sql = ("SELECT ticket_id, date_diff('second', created_at, resolved_at) / 3600.0, "
           "(epoch(resolved_at) - epoch(created_at)) / 3600.0 FROM items")
    hours = {r[0]: (r[1], r[2]) for r in con.execute(sql).fetchall()}
    assert hours == {r[0]: (r[3], r[3]) for r in ROWS}


def test_bucketed_by_the_local_calendar(con) -> None:
    sql = ("SELECT p.label, list(t.ticket_id ORDER BY t.ticket_id) FROM periods p JOIN items t "
           "ON t.created_at >= p.period_start AND t.created_at < p.period_end GROUP BY ALL ORDER BY 1")
    assert con.execute(sql).fetchall() == [
        ("2026-03", ["gap", "spring"]),
        ("2026-04", ["april"]),  # 22:30 UTC on 31 March
        ("2026-10", ["autumn", "late", "offsets", "twice"]),  # 'late': 23:30 on 31 October, local
    ]
    assert con.execute("SELECT CAST(created_at AS DATE) FROM items WHERE ticket_id = 'april'").fetchall() == [
        (date(2026, 4, 1),)]


def test_naive_parquet_and_excel_timestamps_are_local_time(tmp_path: Path) -> None:
    frame = pl.DataFrame({"ticket_id": ["p"], "created_at": [datetime(2026, 10, 24, 12, 0)],
                          "resolved_at": [datetime(2026, 10, 25, 12, 0)]})
    root = make(tmp_path, {}, columns=COLUMNS, paths=["data/*.parquet", "data/*.xlsx"],
                source={"event_time": "created_at"}, project={"timezone": "Europe/Rome"})
    frame.write_parquet(root / "data" / "a.parquet")
    frame.with_columns(pl.lit("x").alias("ticket_id")).write_excel(root / "data" / "b.xlsx", worksheet="Sheet1")
    aware = pl.DataFrame({"ticket_id": ["z"], "created_at": [datetime(2026, 10, 24, 10, 0, tzinfo=UTC)],
                          "resolved_at": [datetime(2026, 10, 25, 11, 0, tzinfo=UTC)]})
    aware.write_parquet(root / "data" / "c.parquet")
    config = load_project(root)
    connection = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    try:
        ingest(connection, config)
        rows = connection.execute("SELECT ticket_id, created_at, date_diff('second', created_at, resolved_at) "
                                  "FROM items ORDER BY 1").fetchall()
    finally:
        connection.close()
    assert [(r[0], r[1].astimezone(UTC).replace(tzinfo=None), r[2] / 3600) for r in rows] == [
        ("p", datetime(2026, 10, 24, 10, 0), 25.0),  # 12:00 CEST
        ("x", datetime(2026, 10, 24, 10, 0), 25.0),
        ("z", datetime(2026, 10, 24, 10, 0), 25.0),  # an instant stays that instant
    ]
