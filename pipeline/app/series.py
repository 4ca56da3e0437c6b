"""Whole KPI series: `pulse kpis --series` and the `--all-periods` window of `pulse kpis` and `pulse query`.

`pulse kpis --series` prints each KPI's value for every period of its window
(the report's: the trend periods and the same periods last year), as a table,
JSON or CSV; `--all-periods` stretches the window back to the first period
holding data of the sources the queries read (their first event), so a KPI's
whole history comes from one run. `pulse kpis --format json|csv` without
`--series` gives the KPI table itself as data.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.config import KpiConfig, ProjectConfig
from pipeline.core.periods import Calendar, Period, periods_since
from pipeline.core.result_cache import sources_read
from pipeline.kpis.comparisons import KpiResult
from pipeline.kpis.lineage import first_event

if TYPE_CHECKING:
    from .workspace import Workspace


@dataclass(frozen=True)
class KpiSeriesOut:
    """One KPI's values over a window, for printing."""

    kpi_id: str
    kpi: KpiConfig
    values: tuple[tuple[Period, float | None], ...]


def sources_of(config: ProjectConfig, kpi_ids: list[str]) -> list[str]:
    """The sources the KPIs' queries read (every source when a query names none or something else)."""
    names: set[str] = set()
    for kpi_id in kpi_ids:
        read = sources_read(config.query_path(kpi_id).read_text(encoding="utf-8"), list(config.sources))
        names.update(read if read is not None else config.sources)
    return sorted(names)


def print_series(ws: Workspace, kpi_ids: list[str], calendar: Calendar, period: Period, whole: bool,
                 fmt: str) -> None:
    """Run each KPI's query once over its window (or every period with data) and print the values."""
    from . import workspace

    window = workspace.report_window(calendar, period)
    if whole:
        window = periods_since(calendar, period, first_event(sources_of(ws.config, kpi_ids), ws.ranges), window)
    values = workspace.kpi_series(ws, kpi_ids, window, period)  # in the workspace's sandbox; its owner closes it
    series = [KpiSeriesOut(k, ws.config.kpis[k], tuple((p, values[k][p.start]) for p in window)) for k in kpi_ids]
    sys.stdout.write(series_text(series, fmt, ws.config.project.locale, ws.config.project.currency))


def series_text(series: list[KpiSeriesOut], fmt: str, locale: str, currency: str) -> str:
    """The series as a table (periods down, KPIs across), JSON or CSV (one row per KPI and period)."""
    if fmt == "json":
        return json.dumps([{"kpi": s.kpi_id, "title": s.kpi.title, "unit": s.kpi.unit.value,
                            "values": [{"period": p.label, "start": p.start.isoformat(), "value": v}
                                       for p, v in s.values]} for s in series],
                          indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["kpi", "period", "start", "value"])
        for s in series:
            writer.writerows([s.kpi_id, p.label, p.start.isoformat(), "" if v is None else str(v)] for p, v in s.values)
        return buffer.getvalue()
    return _table(series, locale, currency)


def _table(series: list[KpiSeriesOut], locale: str, currency: str) -> str:
    from rich.console import Console
    from rich.table import Table

    from pipeline.report.formatting import NumberStyle, format_value

    periods = [p for p, _ in series[0].values] if series else []
    title = f"KPIs, {periods[0].label} to {periods[-1].label}" if periods else "KPIs"
    table = Table(title=title, title_justify="left")
    table.add_column("Period")
    for s in series:
        table.add_column(s.kpi.title, justify="right")
    styles = [NumberStyle(s.kpi.unit, s.kpi.decimals, locale, currency) for s in series]
    for index, period in enumerate(periods):
        table.add_row(period.label, *(format_value(s.values[index][1], style) for s, style in zip(series, styles)))
    buffer = io.StringIO()
    Console(file=buffer, width=max(100, 14 * (len(series) + 1)), force_terminal=False).print(table)
    return buffer.getvalue()


def results_text(results: list[KpiResult], fmt: str) -> str:
    """The KPI table as data: raw numbers (not formatted), one record per KPI."""
    records = [{
        "kpi": r.kpi_id, "title": r.title, "unit": r.unit.value, "period": r.period.label, "value": r.value,
        "previous": r.previous, "change": r.change_abs, "change_relative": r.change_rel, "last_year": r.last_year,
        "change_last_year_relative": r.yoy_rel, "target": r.target, "health": r.health.value, "low_sample": r.low_sample,
    } for r in results]
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]) if records else ["kpi"], lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in record.items()} for record in records)
    return buffer.getvalue()
