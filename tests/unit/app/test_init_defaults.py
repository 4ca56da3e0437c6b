"""What `pulse init` proposes on its own: the first period to build, the example months, the time zone."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from pipeline.app import init
from pipeline.core.errors import UsageError

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)  # the last complete month is 2026-10


@pytest.mark.parametrize("last_event, expected", [
    (date(2026, 10, 31), None),  # the exports reach the last complete month: plain `pulse run`
    (date(2026, 11, 20), None),  # and beyond
    (date(2026, 10, 30), "2026-09"),  # October is not covered to its last day
    (date(1998, 5, 6), "1998-04"),
    (date(1998, 5, 31), "1998-05"),
    (date(2024, 2, 29), "2024-02"),  # a leap day is February's last
    (date(2023, 2, 28), "2023-02"),
    (None, None),
])
def test_the_first_period_is_the_last_month_the_exports_cover_to_its_end(last_event, expected) -> None:
    assert init._first_period(last_event, "Europe/Copenhagen", NOW) == expected


def test_the_example_exports_cover_the_thirteen_months_before_this_one() -> None:
    months = init._months_back(date(2026, 1, 15), 13)
    assert months[0] == (2024, 12) and months[-1] == (2025, 12) and len(months) == 13
    assert init._months_back(date(2026, 11, 1), 1) == [(2026, 10)]


def test_the_time_zone_is_given_or_the_machines_or_utc(monkeypatch) -> None:
    assert init._zone("Europe/Copenhagen") == "Europe/Copenhagen"
    with pytest.raises(UsageError, match="--timezone Mars/Olympus: unknown time zone"):
        init._zone("Mars/Olympus")
    monkeypatch.setattr(init, "_machine_zones", lambda: ["Not/AZone", "America/New_York"])
    assert init._zone(None) == "America/New_York"
    monkeypatch.setattr(init, "_machine_zones", lambda: [])
    assert init._zone(None) == "UTC"
