"""Segments of a burst report (burst_by): each segment's KPI results from the KPIs' dimension series."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from pipeline.config import ProjectConfig
from pipeline.core.errors import RunFailed
from pipeline.core.periods import Calendar, Period

from .comparisons import KpiResult, compare
from .queries import KpiSeries


def segment_results(full: dict[str, KpiSeries], kpi_ids: list[str], dimension: str, config: ProjectConfig,
                    calendar: Calendar, period: Period) -> Iterator[tuple[str, list[KpiResult], frozenset[str]]]:
    """Per segment of `dimension`: its KPI results and the KPIs shown company-wide.

    A KPI whose query has no `dimension` column is shown with its company-wide
    figures, its result marked `company_wide` so every output names it so (and
    the segment's sentences leave it out)."""
    names = sorted({s for k in kpi_ids for s in full[k].by_dimension.get(dimension, {})})
    if not names:
        raise RunFailed(
            f"burst_by: {dimension}: no KPI query of this report returns a '{dimension}' column",
            "return the dimension as an extra column (e.g. GROUP BY GROUPING SETS ((period, region), (period)))",
        )
    for segment in names:
        results, wide_only = [], set()
        for k in kpi_ids:
            by_segment = full[k].by_dimension.get(dimension)
            if by_segment is None:
                wide_only.add(k)
                values, samples = full[k].values, full[k].samples
            else:
                values = by_segment.get(segment, {p: (0.0 if config.kpis[k].fill == "zero" else None)
                                                  for p in full[k].values})
                samples = full[k].segment_samples(dimension, segment)
            kpi = config.kpis[k]
            if by_segment is not None:
                kpi = kpi.model_copy(update={"target": None})  # targets are company-wide figures
            result = compare(k, kpi, values, calendar, period, samples=samples)
            results.append(replace(result, company_wide=True) if by_segment is None else result)
        yield segment, results, frozenset(wide_only)
