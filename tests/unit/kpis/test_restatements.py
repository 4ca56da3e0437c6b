"""Restatements are measured against the value first reported, and stay on record until it is back."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pipeline.config.kpis import Direction, Unit
from pipeline.core.periods import Grain, Period
from pipeline.kpis.comparisons import Health, KpiResult
from pipeline.kpis.restatements import Reported, restatements

OCTOBER = Period(date(2026, 10, 1), date(2026, 11, 1), "2026-10", Grain.MONTH)
RESULT = KpiResult("return_rate", "Return rate", "", Unit.PERCENT, 1, Direction.DOWN, OCTOBER, 0.035, None, None,
                   None, None, None, None, None, None, Health.NONE, (), ())


def at(value: float | None) -> KpiResult:
    return replace(RESULT, value=value)


def test_a_changed_value_is_a_restatement_of_what_the_previous_build_reported():
    found = restatements({"return_rate": 0.035}, [at(0.073)], {}, "2026-11-03T07:00:00+01:00")
    assert [(r.kpi_id, r.old, r.new, r.reported_at) for r in found] == [
        ("return_rate", 0.035, 0.073, "2026-11-03T07:00:00+01:00")]
    assert restatements({"return_rate": 0.035}, [at(0.035 + 1e-13)]) == []  # float noise is not a restatement
    assert restatements({}, [at(0.073)]) == []  # never reported before
    assert [(r.old, r.new) for r in restatements({"return_rate": None}, [at(0.073)])] == [(None, 0.073)]


def test_a_restatement_stays_on_record_across_later_builds_against_the_first_value():
    on_record = {"return_rate": Reported(0.035, "2026-11-03T07:00:00+01:00")}
    # the next build sees the restated value unchanged: the previous build's value is 0.073, but the record wins
    again = restatements({"return_rate": 0.073}, [at(0.073)], on_record, "2026-11-10T07:00:00+01:00")
    assert [(r.old, r.new, r.reported_at) for r in again] == [(0.035, 0.073, "2026-11-03T07:00:00+01:00")]
    # restated once more: still measured from what was first reported
    twice = restatements({"return_rate": 0.073}, [at(0.081)], on_record, "2026-11-10T07:00:00+01:00")
    assert [(r.old, r.new) for r in twice] == [(0.035, 0.081)]
    # back to the first value: nothing restated any more
    assert restatements({"return_rate": 0.073}, [at(0.035)], on_record) == []
