"""The typed hand-over to the templates: every figure already formatted.

Templates lay out and format nothing themselves: `build_context` turns KPI
results into strings, CSS classes and chart SVG, so a template only places them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from .charts import TrendData, trend_svg
from .comparisons import Health, KpiResult
from .config import Direction, ProjectConfig, ReportConfig
from .checks import CheckResult
from .formatting import NOT_AVAILABLE, NumberStyle, format_change, format_relative, format_value, long_date, period_name
from .okr_context import OkrSection, movers, okr_section
from .okr_eval import CycleResult
from .periods import Calendar, Period

HEALTH_LABELS = {
    Health.GREEN: "On track",
    Health.AMBER: "Watch",
    Health.RED: "Off track",
    Health.NONE: "—",
}


@dataclass(frozen=True)
class SeriesCell:
    label: str
    value: str


@dataclass(frozen=True)
class KpiRow:
    """One KPI as the report shows it."""

    kpi_id: str
    title: str
    description: str
    value: str
    previous: str
    change_abs: str
    change_rel: str
    change_class: str  # "good", "bad" or "flat": is the move favourable?
    last_year: str
    yoy_rel: str
    yoy_class: str
    target: str
    gap: str
    health: str  # "green", "amber", "red", "none"
    health_label: str
    chart_svg: Markup
    series: tuple[SeriesCell, ...]


@dataclass(frozen=True)
class QualityRow:
    scope: str
    check: str
    status: str  # "passed", "warning" or "failed"
    message: str


@dataclass(frozen=True)
class ReportContext:
    """Everything a report template needs, nothing it has to compute."""

    company: str
    report_name: str
    report_title: str
    period_label: str
    period_name: str
    period_range: str
    data_as_of: str
    page_size: str
    kpis: tuple[KpiRow, ...]
    health_counts: tuple[tuple[str, str, int], ...]  # (class, label, count)
    movers: tuple[str, ...]  # "Revenue rose 4.2 % on September, ahead of target."
    okr: OkrSection | None
    quality_warnings: tuple[str, ...]  # failed `warn` checks, for the box on page one
    quality_checks: tuple[QualityRow, ...]  # every check, for the appendix
    not_available_note: bool  # some figure is "n/a": explain it in a footnote


def movement_class(delta: float | None, direction: Direction) -> str:
    """'good' when the move is in the KPI's good direction, 'bad' against it."""
    if delta is None or delta == 0 or direction is Direction.NEUTRAL:
        return "flat"
    up = delta > 0
    return "good" if up == (direction is Direction.UP) else "bad"


def kpi_row(result: KpiResult, locale: str, currency: str) -> KpiRow:
    style = NumberStyle(result.unit, result.decimals, locale, currency)
    chart = trend_svg(
        TrendData(
            labels=tuple(p.label for p in result.series),
            values=tuple(p.value for p in result.series),
            target=result.target,
            tick_format=lambda v: format_value(v, NumberStyle(result.unit, 0 if abs(v) >= 10 else 1, locale, currency)),
        )
    )
    return KpiRow(
        kpi_id=result.kpi_id,
        title=result.title,
        description=result.description,
        value=format_value(result.value, style),
        previous=format_value(result.previous, style),
        change_abs=format_change(result.change_abs, style),
        change_rel=format_relative(result.change_rel, locale),
        change_class=movement_class(result.change_abs, result.direction),
        last_year=format_value(result.last_year, style),
        yoy_rel=format_relative(result.yoy_rel, locale),
        yoy_class=movement_class(result.yoy_abs, result.direction),
        target="—" if result.target is None else format_value(result.target, style),
        gap="—" if result.gap is None else format_change(result.gap, style),
        health=result.health.value,
        health_label=HEALTH_LABELS[result.health],
        chart_svg=Markup(chart),
        series=tuple(SeriesCell(p.label, format_value(p.value, style)) for p in result.series),
    )


def build_context(
    config: ProjectConfig,
    report_name: str,
    report: ReportConfig,
    period: Period,
    results: list[KpiResult],
    data_as_of: date | None,
    okr: CycleResult | None = None,
    checks: list[CheckResult] | None = None,
) -> ReportContext:
    locale, currency = config.project.locale, config.project.currency
    calendar = Calendar(report.grain, config.project.fiscal_year_start)
    section = None
    if okr is not None and config.okrs is not None:
        objectives = config.okrs.cycles[okr.name].objectives
        section = okr_section(okr, objectives, config.kpis, locale, currency)
    rows = tuple(kpi_row(r, locale, currency) for r in results)
    counts = tuple(
        (h.value, HEALTH_LABELS[h], sum(1 for r in results if r.health is h))
        for h in (Health.GREEN, Health.AMBER, Health.RED)
    )
    last_day = date.fromordinal(period.end.toordinal() - 1)
    return ReportContext(
        company=config.project.company,
        report_name=report_name,
        report_title=report.title,
        period_label=period.label,
        period_name=period_name(period, locale),
        period_range=f"{long_date(period.start, locale)} – {long_date(last_day, locale)}",
        data_as_of=long_date(data_as_of, locale) if data_as_of else "no data",
        page_size=report.page_size,
        kpis=rows,
        health_counts=counts,
        movers=movers(results, calendar, period, locale, currency),
        okr=section,
        quality_warnings=tuple(f"{c.scope}: {c.message}" for c in checks or [] if c.warning),
        quality_checks=tuple(
            QualityRow(c.scope, c.name, "passed" if c.passed else "warning" if c.warning else "failed", c.message)
            for c in checks or []
        ),
        not_available_note=any(NOT_AVAILABLE in (r.value, r.change_rel, r.yoy_rel, r.change_abs) for r in rows),
    )
