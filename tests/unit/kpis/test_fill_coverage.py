"""`fill: zero` fills only periods the KPI's sources cover; outside them a period has no value.

A one-source project (`items`, event time `day`) counted per month with
`fill: zero`; the values below are counted by hand from the rows written.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from pipeline.app import workspace
from pipeline.core.periods import Grain
from pipeline.kpis.anomalies import kpi_anomalies
from support.messy import make
from support.project import NOW


def _project(root: Path, days: list[date]) -> Path:
    rows = "\n".join(f"{i},1.0,x,{d.isoformat()}" for i, d in enumerate(days, 1))
    make(root, {"data/items.csv": f"id,amount,name,day\n{rows}\n"})
    (root / "config" / "kpis.yaml").write_text(yaml.safe_dump(
        {"kpis": {"item_count": {"title": "Items", "unit": "count", "direction": "up", "fill": "zero"}}}))
    return root


def _june(root: Path):
    with workspace.open_workspace(root) as ws:
        calendar = workspace.calendar_for(ws.config, Grain.MONTH)
        period = workspace.resolve_period(ws.config, Grain.MONTH, "2026-06", NOW)
        [result] = workspace.kpi_results(ws, ["item_count"], calendar, period)
    return result


def test_zero_only_inside_the_covered_range(tmp_path: Path) -> None:
    days = ([date(2026, 3, d) for d in range(10, 15)]  # 5 in March (from the 10th), none in April
            + [date(2026, 5, d) for d in range(1, 11)]  # 10 in May
            + [date(2026, 6, 20)])  # 1 in June, the last row
    result = _june(_project(tmp_path, days))
    values = {p.label: p.value for p in result.series}
    assert values == {
        "2025-07": None, "2025-08": None, "2025-09": None, "2025-10": None, "2025-11": None, "2025-12": None,
        "2026-01": None, "2026-02": None,  # before the first row: missing, not 0
        "2026-03": 5.0, "2026-04": 0.0,  # a month without rows inside the data: a real zero
        "2026-05": 10.0, "2026-06": 1.0,
    }
    assert result.last_year is None and result.yoy_abs is None  # June 2025: no false "0" on the last-year line
    assert all(v is None for v in result.last_year_series)  # the whole last-year line: nothing before March
    assert result.previous == 10.0


def test_no_false_anomaly_from_zeros_before_the_data(tmp_path: Path) -> None:
    """Zero-filled, the ten months before May would make June's 10 items "3.2 standard deviations above"
    (mean 10/11, population deviation 2.87); without them there is too little history to judge."""
    days = [date(2026, 5, d) for d in range(1, 11)] + [date(2026, 6, d) for d in range(1, 11)]
    result = _june(_project(tmp_path, days))
    assert [p.value for p in result.series][-2:] == [10.0, 10.0]
    assert all(p.value is None for p in result.series[:-2])
    kpis = {"item_count": type("K", (), {"anomaly_sigma": 3.0})()}
    assert kpi_anomalies([result], kpis) == []


def test_a_period_after_the_last_row_has_no_value_even_when_the_query_returns_one(tmp_path: Path) -> None:
    root = _project(tmp_path, [date(2026, 3, 2), date(2026, 4, 2)])
    # a cumulative count: the query returns a row for every period, also after the data ends
    (root / "queries" / "item_count.sql").write_text(
        "SELECT p.period_start AS period, count(i.id) AS value FROM periods p "
        "LEFT JOIN items i ON i.day < p.period_end GROUP BY ALL\n")
    values = {p.label: p.value for p in _june(root).series}
    assert (values["2026-02"], values["2026-03"], values["2026-04"], values["2026-05"]) == (None, 1.0, 2.0, None)


@pytest.mark.parametrize("fill", ["zero", "null"])
def test_without_event_time_fill_applies_everywhere(tmp_path: Path, fill: str) -> None:
    """A source without a date column has no known coverage: fill as configured, nothing is dropped."""
    root = make(tmp_path, {"data/items.csv": "id,amount\n1,2.0\n"},
                columns={"id": {"type": "integer"}, "amount": {"type": "number"}})
    (root / "config" / "kpis.yaml").write_text(yaml.safe_dump(
        {"kpis": {"item_count": {"title": "Items", "unit": "count", "fill": fill}}}))
    (root / "queries" / "item_count.sql").write_text(
        "SELECT p.period_start AS period, count(*) AS value FROM periods p JOIN items i ON false GROUP BY ALL\n")
    expected = 0.0 if fill == "zero" else None
    assert {p.value for p in _june(root).series} == {expected}
