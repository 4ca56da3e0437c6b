"""The demo's duration queries count real elapsed time, also across a daylight-saving change.

Ticket timestamps are stored as Pulse stores them, as instants (TIMESTAMPTZ;
naive local Copenhagen time on the way in), and the queries use them without
any cast: the night the clocks go back (25 October 2026, 03:00 -> 02:00) adds
an hour, the night they go forward takes one.
"""

from datetime import date, datetime

import pytest

from pipeline.core import database
from pipeline.core.periods import Calendar, Grain
from pipeline.kpis import queries as kpis
from support.project import REPO

QUERIES = REPO / "queries" / "support"


@pytest.fixture
def con():
    connection = database.connect(None, "Europe/Copenhagen")
    connection.execute(
        "CREATE TABLE tickets (ticket_id VARCHAR, created_at TIMESTAMPTZ, first_response_at TIMESTAMPTZ, "
        "resolved_at TIMESTAMPTZ, satisfaction BIGINT, category VARCHAR)"
    )
    rows = [
        # across the October 2026 change: 24 h on the clock, 25 h elapsed
        ("T1", datetime(2026, 10, 24, 12), datetime(2026, 10, 25, 12), datetime(2026, 10, 25, 12)),
        # across the March 2026 change (29 March, 02:00 -> 03:00): 24 h on the clock, 23 h elapsed
        ("T2", datetime(2026, 3, 28, 12), datetime(2026, 3, 29, 12), datetime(2026, 3, 29, 12)),
    ]
    # naive values are local time in the session's zone, as ingest reads naive exports
    connection.executemany("INSERT INTO tickets VALUES ($1, CAST($2 AS TIMESTAMP), CAST($3 AS TIMESTAMP), "
                           "CAST($4 AS TIMESTAMP), NULL, 'other')", [list(r) for r in rows])
    calendar = Calendar(Grain.MONTH)
    window = calendar.window(calendar.parse("2026-10", date(2026, 11, 25)), 8)
    kpis.register_periods(connection, window)
    yield connection
    connection.close()


def _values(con, name: str, params: dict | None = None) -> dict:
    sql = (QUERIES / f"{name}.sql").read_text()
    return {row[0]: row[1] for row in con.execute(sql, params or {}).fetchall()}


def test_first_response_counts_the_extra_autumn_hour(con):
    assert _values(con, "first_response_hours")[date(2026, 10, 1)] == pytest.approx(25.0)


def test_resolution_counts_the_missing_spring_hour(con):
    assert _values(con, "resolution_hours")[date(2026, 3, 1)] == pytest.approx(23.0)


def test_sla_uses_elapsed_time(con):
    values = _values(con, "sla_met_rate", {"sla_hours": 24})
    assert values[date(2026, 10, 1)] == 0.0  # 25 h elapsed: missed a 24 h SLA
    assert values[date(2026, 3, 1)] == 1.0  # 23 h elapsed: met


def test_fractions_of_a_second_count_to_the_microsecond(con):
    # August: answered 24 h and half a second after creation, resolved after 48 h and a quarter of a second
    con.execute("INSERT INTO tickets VALUES ('T3', TIMESTAMPTZ '2026-08-10 08:00:00.25+00', "
                "TIMESTAMPTZ '2026-08-11 08:00:00.75+00', TIMESTAMPTZ '2026-08-12 08:00:00.5+00', NULL, 'other')")
    august = date(2026, 8, 1)
    assert _values(con, "first_response_hours")[august] == (24 * 3600 + 0.5) / 3600
    assert _values(con, "resolution_hours")[august] == (48 * 3600 + 0.25) / 3600
    assert _values(con, "sla_met_rate", {"sla_hours": 24})[august] == 0.0  # half a second late: missed
    assert _values(con, "sla_met_rate", {"sla_hours": 25})[august] == 1.0
