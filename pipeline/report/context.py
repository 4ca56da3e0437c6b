"""The typed hand-over to the templates: every figure already formatted.

Templates lay out and format nothing themselves: `build_context` turns KPI
results into strings, CSS classes and chart SVG, so a template only places them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

from pipeline.checks.source_checks import CheckResult
from pipeline.config import Direction, ProjectConfig, ReportConfig
from pipeline.core.periods import Calendar, Period
from pipeline.kpis.comparisons import Health, KpiResult
from pipeline.kpis.restatements import Restatement
from pipeline.okrs.cycles import CycleResult

from .appendix import MethodologyRow, TocEntry, methodology_rows, okr_rules, table_of_contents
from .charts import TrendData, sparkline_svg, trend_svg
from .formatting import (
    NOT_AVAILABLE,
    NumberStyle,
    date_range,
    format_change,
    format_relative,
    format_value,
    long_date,
    period_name,
)
from .okr_section import OkrSection, movers, okr_section
from .theme import ThemeAssets

HEALTH_LABELS = {
    Health.GREEN: "On track",
    Health.AMBER: "Watch",
    Health.RED: "Off track",
    Health.NONE: "—",
}


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
    sparkline_svg: Markup
    company_wide_only: bool = False  # in a segment's report: this KPI has no segment breakdown


@dataclass(frozen=True)
class QualityRow:
    scope: str
    check: str
    status: str  # "passed", "warning" or "failed"
    message: str


@dataclass(frozen=True)
class RestatedRow:
    title: str
    old: str  # as first reported
    new: str
    reported: str  # when the old value was first reported ("3 November 2026"), "" when unknown


@dataclass(frozen=True)
class ReportInputs:
    """What a run hands to `build_context` besides the KPI results."""

    data_as_of: date | None
    okr: CycleResult | None = None
    checks: list[CheckResult] = field(default_factory=list)
    theme: ThemeAssets | None = None
    sql: dict[str, str] = field(default_factory=dict)  # KPI id -> its query text
    restatements: list[Restatement] = field(default_factory=list)
    restated_since: str = ""
    segment: str | None = None
    company_wide_only: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReportContext:
    """Everything a report template needs, nothing it has to compute."""

    company: str
    language: str
    report_name: str
    report_title: str
    segment: str | None
    period_label: str
    period_name: str
    period_range: str
    data_as_of: str
    grain: str
    timezone: str
    page_size: str  # CSS @page size, e.g. "A4 portrait"
    theme_css: Markup
    logo: str
    toc: tuple[TocEntry, ...]
    kpis: tuple[KpiRow, ...]
    health_counts: tuple[tuple[str, str, int], ...]  # (class, label, count)
    movers: tuple[str, ...]  # "Revenue rose 4.2 % on September, ahead of target."
    okr: OkrSection | None
    okr_rules: tuple[str, ...]
    quality_warnings: tuple[str, ...]  # failed `warn` checks, for the box on page one
    quality_checks: tuple[QualityRow, ...]  # checks for the appendix
    not_available_note: bool  # some figure is "n/a": explain it in a footnote
    restatements: tuple[RestatedRow, ...]
    restated_since: str
    methodology: tuple[MethodologyRow, ...]


def _reported_day(moment: str, timezone: str, locale: str) -> str:
    """The day a build reported a value (ISO time of the build), in the project's zone."""
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return ""
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(ZoneInfo(timezone))
    return long_date(parsed.date(), locale)


def movement_class(delta: float | None, direction: Direction) -> str:
    """'good' when the move is in the KPI's good direction, 'bad' against it."""
    if delta is None or delta == 0 or direction is Direction.NEUTRAL:
        return "flat"
    up = delta > 0
    return "good" if up == (direction is Direction.UP) else "bad"


def kpi_row(result: KpiResult, locale: str, currency: str, company_wide_only: bool = False) -> KpiRow:
    style = NumberStyle(result.unit, result.decimals, locale, currency)
    values = tuple(p.value for p in result.series)
    chart = trend_svg(
        TrendData(
            labels=tuple(p.label for p in result.series),
            values=values,
            target=result.target,
            tick_format=lambda v: format_value(v, NumberStyle(result.unit, 0 if abs(v) >= 10 else 1, locale, currency)),
            last_year=result.last_year_series,
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
        sparkline_svg=Markup(sparkline_svg(values)),
        company_wide_only=company_wide_only,
    )


def _quality_rows(checks: list[CheckResult]) -> tuple[QualityRow, ...]:
    rows = []
    for c in checks:
        if c.scope.startswith("kpi:") and c.passed:
            continue  # KPI anomaly checks are listed only when they flag something
        status = "passed" if c.passed else "warning" if c.warning else "failed"
        rows.append(QualityRow(c.scope, c.name, status, c.message))
    return tuple(rows)


def build_context(
    config: ProjectConfig,
    report_name: str,
    report: ReportConfig,
    period: Period,
    results: list[KpiResult],
    inputs: ReportInputs,
) -> ReportContext:
    locale, currency = config.project.locale, config.project.currency
    calendar = Calendar(report.grain, config.project.fiscal_year_start)
    section = None
    if inputs.okr is not None and config.okrs is not None:
        objectives = config.okrs.cycles[inputs.okr.name].objectives
        section = okr_section(inputs.okr, objectives, config.kpis, locale, currency, config.okrs.status)
    rows = tuple(kpi_row(r, locale, currency, r.kpi_id in inputs.company_wide_only) for r in results)
    counts = tuple(
        (h.value, HEALTH_LABELS[h], sum(1 for r in results if r.health is h))
        for h in (Health.GREEN, Health.AMBER, Health.RED)
    )
    styles = {r.kpi_id: NumberStyle(r.unit, r.decimals, locale, currency) for r in results}
    quality = _quality_rows(inputs.checks)
    theme = inputs.theme or ThemeAssets(Markup(""), "")
    return ReportContext(
        company=config.project.company,
        language=locale.split("_")[0],
        report_name=report_name,
        report_title=report.title,
        segment=inputs.segment,
        period_label=period.label,
        period_name=period_name(period, locale),
        period_range=date_range(period.start, period.end, locale),
        data_as_of=long_date(inputs.data_as_of, locale) if inputs.data_as_of else "no data",
        grain=report.grain.value,
        timezone=config.project.timezone,
        page_size=f"{report.page_size} {report.orientation}",
        theme_css=theme.css,
        logo=theme.logo,
        toc=table_of_contents(section, bool(quality), bool(inputs.restatements)),
        kpis=rows,
        health_counts=counts,
        movers=movers(results, calendar, period, locale, currency),
        okr=section,
        okr_rules=okr_rules(config.okrs.status) if config.okrs else (),
        quality_warnings=tuple(f"{c.scope}: {c.message}" for c in inputs.checks if c.warning),
        quality_checks=quality,
        not_available_note=any(NOT_AVAILABLE in (r.value, r.change_rel, r.yoy_rel, r.change_abs) for r in rows),
        restatements=tuple(
            RestatedRow(r.title, format_value(r.old, styles[r.kpi_id]), format_value(r.new, styles[r.kpi_id]),
                        _reported_day(r.reported_at, config.project.timezone, locale))
            for r in inputs.restatements
        ),
        restated_since=inputs.restated_since,
        methodology=methodology_rows(config, [r.kpi_id for r in results], inputs.sql),
    )
