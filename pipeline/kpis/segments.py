"""Segments of a burst report (burst_by): each segment's KPI results from the KPIs' dimension series.

Every KPI a burst report shows either returns the `burst_by` column (its
segment figures are the rows where exactly that column is set) or is listed
under the report's `company_wide:` (shown with its company-wide figures and
marked so). A query that returns neither is refused (`burst_problems`), so a
misnamed column (`AS nation` for `country`) never puts a company-wide figure
on a segment's page as the segment's own.

A segment is any value of the column with a row in the query window. One
without activity in the report period (every figure of its own zero or
missing) is `active=False`, with the last period it had any: the report
chooses what to do with it (`inactive_segments`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from pipeline.config import ProjectConfig, ReportConfig
from pipeline.core.errors import ConfigError, RunFailed
from pipeline.core.paths import display_path
from pipeline.core.periods import Calendar, Period

from .comparisons import KpiResult, compare
from .queries import KpiSeries, dimensions_returned

SEGMENTS_DOCS = "docs/configuration.md 'Segments'"


@dataclass(frozen=True)
class SegmentResults:
    """One segment's KPI results, which of them are company-wide, and whether it had activity."""

    segment: str
    results: list[KpiResult]
    company_wide: frozenset[str]
    active: bool = True  # some figure of its own is neither zero nor missing in the report period
    last_active: Period | None = None  # when inactive: the last window period with such a figure


def burst_problems(full: dict[str, KpiSeries], report_name: str, report: ReportConfig,
                   config: ProjectConfig) -> list[ConfigError]:
    """A problem per KPI of a burst report whose query returns no `burst_by` column and that is not
    declared company-wide (the message names the KPI, its query file and the column expected)."""
    dimension = report.burst_by
    if dimension is None:
        return []
    problems = []
    for kpi_id in report.kpis:
        if kpi_id in report.company_wide or kpi_id not in full:
            continue
        returned = full[kpi_id].dimensions
        if dimension in returned:
            continue
        listed = config.kpis[kpi_id].dimensions
        company_wide = (f"list '{kpi_id}' under reports.{report_name}.company_wide in config/reports.yaml to show "
                        f"its company-wide figures; see {SEGMENTS_DOCS}")
        if listed is not None:  # its query may return the column: the KPI is not broken down by it
            problems.append(ConfigError(
                f"{display_path(config.query_path(kpi_id))}: KPI '{kpi_id}' of report '{report_name}' is not broken "
                f"down by '{dimension}' for burst_by: {dimension} (it lists dimensions: [{', '.join(listed)}] in "
                "config/kpis.yaml)",
                f"add '{dimension}' to the KPI's dimensions: if its query returns that segment's own figures, or "
                + company_wide,
            ))
            continue
        problems.append(ConfigError(
            f"{display_path(config.query_path(kpi_id))}: KPI '{kpi_id}' of report '{report_name}' returns no "
            f"'{dimension}' column for burst_by: {dimension} ({dimensions_returned(returned)})",
            f"return the segment as a column named '{dimension}' (... AS {dimension}), or " + company_wide,
        ))
    return problems


def segment_results(full: dict[str, KpiSeries], report_name: str, report: ReportConfig, config: ProjectConfig,
                    calendar: Calendar, period: Period) -> Iterator[SegmentResults]:
    """Per segment of the report's `burst_by` column: its KPI results (see the module's rules).

    A KPI declared company-wide is shown with its company-wide figures, its result
    marked `company_wide` so every output names it so (and the segment's sentences
    leave it out). A KPI neither declared nor returning the column is refused."""
    dimension = report.burst_by
    assert dimension is not None
    problems = burst_problems(full, report_name, report, config)
    if problems:
        first = problems[0]
        raise ConfigError(first.message, first.hint, [p.message for p in problems[1:]])
    kpi_ids = report.kpis
    own_ids = [k for k in kpi_ids if k not in report.company_wide]
    names = sorted({s for k in own_ids for s in full[k].by_dimension.get(dimension, {})})
    if not names:
        raise RunFailed(
            f"burst_by: {dimension}: no KPI query of report '{report_name}' returns a row with a '{dimension}' "
            "value in the window",
            "return the dimension as an extra column (e.g. GROUP BY GROUPING SETS ((period, region), (period)))",
        )
    for segment in names:
        results, own_series = [], []
        for k in kpi_ids:
            kpi = config.kpis[k]
            if k in report.company_wide:
                result = compare(k, kpi, full[k].values, calendar, period, samples=full[k].samples)
                results.append(replace(result, company_wide=True))
                continue
            values = full[k].by_dimension.get(dimension, {}).get(
                segment, {p: (0.0 if kpi.fill == "zero" else None) for p in full[k].values})
            own_series.append(values)
            kpi = kpi.model_copy(update={"target": None})  # targets are company-wide figures
            results.append(compare(k, kpi, values, calendar, period,
                                   samples=full[k].segment_samples(dimension, segment)))
        active = _has_activity(own_series, period.start)
        last = None if active else _last_active(own_series, calendar, period)
        yield SegmentResults(segment, results, frozenset(report.company_wide), active, last)


def _has_activity(series: list[dict], start) -> bool:
    return any(values.get(start) not in (None, 0, 0.0) for values in series)


def _last_active(series: list[dict], calendar: Calendar, period: Period) -> Period | None:
    starts = sorted({s for values in series for s in values if s < period.start and _has_activity(series, s)})
    return calendar.containing(starts[-1]) if starts else None
