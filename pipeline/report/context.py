"""The typed hand-over to the templates: every figure already formatted.

Templates lay out and format nothing themselves: `build_context` turns KPI
results into strings, CSS classes and chart SVG, so a template only places them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

from pipeline.checks.coverage import PeriodCoverage
from pipeline.checks.source_checks import CheckResult
from pipeline.config import Direction, ProjectConfig, ReportConfig, Unit
from pipeline.core.periods import Calendar, Period
from pipeline.kpis.comparisons import Health, KpiResult
from pipeline.kpis.restatements import Restatement
from pipeline.okrs.cycles import CycleResult

from .appendix import MethodologyRow, TocEntry, methodology_rows, okr_rules, table_of_contents, window_words
from .charts import TrendData, sparkline_svg, svg_image, trend_svg
from .coverage_text import coverage_notes, partial_label
from .formatting import (
    NOT_AVAILABLE,
    NumberStyle,
    axis_labels,
    axis_scale,
    date_range,
    format_change,
    format_kpi_change,
    format_value,
    kpi_style,
    long_date,
    period_name,
)
from .movers import movers, quiet_summary
from .okr_section import OkrSection, okr_section
from .theme import ThemeAssets
from .words import COMPANY_WIDE, HEALTH_LABELS, check_text, sample_note


@dataclass(frozen=True)
class KpiRow:
    """One KPI as the report shows it (table row and trend chart)."""

    kpi_id: str
    title: str
    description: str
    value: str
    previous: str
    change: str  # the KPI's change against the previous period: "+4.2 %", or "−0.3 pp" for a rate
    change_class: str  # "good", "bad" or "flat": is the move favourable?
    last_year: str
    yoy: str  # the same kind of change against the same period last year
    yoy_class: str
    target: str
    gap: str
    health: str  # "green", "amber", "red", "none"
    health_label: str
    chart_svg: Markup  # the trend chart: an <img> of its SVG, with alt text
    sparkline_svg: Markup  # the same periods, small, for the KPI table
    company_wide_only: bool = False  # in a segment's report: this KPI has no segment breakdown
    scope_note: str = ""  # "company-wide" for such a KPI, shown beside its name everywhere
    low_sample: bool = False  # the value rests on fewer observations than the KPI's min_sample
    sample_note: str = ""  # "low sample: 23 (min. 30)"
    partial: bool = False  # a source it reads covers only part of the period


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
    window: tuple[Period, ...] = ()  # the periods the KPI queries ran over
    coverage: tuple[PeriodCoverage, ...] = ()  # how each source the report reads covers the period
    partial_kpis: frozenset[str] = frozenset()  # KPIs reading a source that covers only part of it
    inactive: bool = False  # a segment without activity in the period (every figure of its own zero or missing)
    last_active: Period | None = None  # then: the last period of the window it had activity in
    brief: bool = False  # lay it out as a one-page report saying so (inactive_segments: brief)


@dataclass(frozen=True)
class ReportContext:
    """Everything a report template needs, nothing it has to compute."""

    company: str
    language: str
    report_name: str
    report_title: str
    segment: str | None
    document_title: str  # "Company · Report · Segment · October 2026": <title>, PDF metadata, running header
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
    toc_columns: tuple[tuple[TocEntry, ...], ...]  # `toc` in two columns, the first one the longer
    kpis: tuple[KpiRow, ...]
    health_counts: tuple[tuple[str, str, int], ...]  # (class, label, count) of the report's own KPIs
    movers: tuple[str, ...]  # "Revenue rose 4.2 % from September to DKK 444,068, DKK 35,932 behind target."
    okr: OkrSection | None
    okr_rules: tuple[str, ...]
    quality_warnings: tuple[str, ...]  # failed `warn` checks, for the box on page one
    quality_checks: tuple[QualityRow, ...]  # checks for the appendix
    not_available_note: bool  # some figure is "n/a": explain it in a footnote
    restatements: tuple[RestatedRow, ...]
    restated_since: str
    methodology: tuple[MethodologyRow, ...]
    query_window: str = ""  # "24 periods (1 November 2024 – 31 October 2026)"
    low_sample_note: bool = False  # some value is marked "low sample": explain it in a footnote
    partial: str = ""  # "", "partial" or "period to date": the mark beside the period
    coverage_notes: tuple[str, ...] = ()  # how far the data reaches into a partly covered period
    summary_notes: tuple[str, ...] = ()  # when no KPI is a mover: what is true instead, in words
    inactive_note: str = ""  # "No activity in November 2011 ...; last activity in October 2011."
    brief: bool = False  # a one-page report (a segment without activity): cover, the note, the key figures
    quality_scope_note: str = ""  # in a segment's report: the source checks cover every segment together
    warnings_scope_note: str = ""  # the same note for the warnings box, when a warning there is a source check's


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


def trend_chart(result: KpiResult, style: NumberStyle) -> str:
    """The KPI's 12-period chart: one unit on its axis, low-sample values hollow."""
    scale = axis_scale(style, [*(p.value for p in result.series), *result.last_year_series, result.target])
    return trend_svg(
        TrendData(
            labels=tuple(p.label for p in result.series),
            values=tuple(p.value for p in result.series),
            target=result.target,
            tick_format=lambda v: format_value(v, style),
            last_year=result.last_year_series,
            axis_format=lambda ticks: axis_labels(ticks, style, scale),
            axis_scale=scale,
            low_sample=tuple(p.low_sample for p in result.series),
            whole_ticks=result.unit is Unit.COUNT,
        )
    )


def chart_alt(result: KpiResult, kind: str) -> str:
    """A KPI chart's alt text: what it shows and over which periods."""
    span = f"{result.series[0].label} to {result.series[-1].label}" if result.series else "no periods"
    extras = [name for name, shown in (("target", result.target is not None),
                                       ("last year", any(v is not None for v in result.last_year_series))) if shown]
    if kind == "sparkline":
        return f"{result.title}, {span}"
    return f"{result.title} per period, {span}" + (f", with {' and '.join(extras)}" if extras else "")


def kpi_row(result: KpiResult, locale: str, currency: str, partial: bool = False) -> KpiRow:
    style = kpi_style(result, locale, currency)
    return KpiRow(
        kpi_id=result.kpi_id,
        title=result.title,
        description=result.description,
        value=format_value(result.value, style),
        previous=format_value(result.previous, style),
        change=format_kpi_change(result.change, style),
        change_class=movement_class(result.change_abs, result.direction),
        last_year=format_value(result.last_year, style),
        yoy=format_kpi_change(result.yoy, style),
        yoy_class=movement_class(result.yoy_abs, result.direction),
        target="—" if result.target is None else format_value(result.target, style),
        gap="—" if result.gap is None else format_change(result.gap, style),
        health=result.health.value,
        health_label=HEALTH_LABELS[result.health],
        chart_svg=Markup(svg_image(trend_chart(result, style), chart_alt(result, "trend"))),
        sparkline_svg=Markup(svg_image(sparkline_svg(tuple(p.value for p in result.series)),
                                       chart_alt(result, "sparkline"))),
        company_wide_only=result.company_wide,
        scope_note=COMPANY_WIDE if result.company_wide else "",
        low_sample=result.low_sample,
        sample_note=sample_note(result, locale),
        partial=partial,
    )


def document_title(company: str, title: str, segment: str | None, period: str) -> str:
    """The title every copy of the report carries; a segment's report names its segment."""
    return " · ".join(p for p in (company, title, segment, period) if p)


def inactive_sentence(period: Period, last_active: Period | None, locale: str) -> str:
    """What a segment without activity in `period` has to say, in words."""
    text = f"No activity in {period_name(period, locale)}: every figure of this segment's own is zero or not available"
    if last_active is not None:
        return f"{text}; the last period with activity was {period_name(last_active, locale)}."
    return f"{text}, and it had none in the periods before it that this report looked at."


def summary_notes(results: list[KpiResult], calendar: Calendar, period: Period, locale: str, inputs: ReportInputs,
                  sentences: tuple[str, ...], has_okrs: bool) -> tuple[str, ...]:
    """What the summary says when no KPI is a mover (and there are no OKRs): a segment without activity says
    so; otherwise which KPIs did not change or cannot be compared. Never an empty summary."""
    if sentences or has_okrs:
        return ()
    if inputs.inactive:
        return (inactive_sentence(period, inputs.last_active, locale),)
    return quiet_summary(results, calendar, period, locale)


def check_scope(check: CheckResult, segment: str | None) -> str:
    """A check's scope as the report names it: in a segment's report a source check is marked company-wide
    (it counts every row of the source, all segments together); a KPI anomaly check is the segment's own."""
    if segment is not None and not check.scope.startswith("kpi:"):
        return f"{check.scope} ({COMPANY_WIDE})"
    return check.scope


def toc_columns(contents: tuple[TocEntry, ...]) -> tuple[tuple[TocEntry, ...], ...]:
    """The contents in two columns, the first one the longer."""
    half = (len(contents) + 1) // 2
    return (contents[:half], contents[half:])


def with_contents_of(context: ReportContext, anchors: frozenset[str]) -> ReportContext:
    """`context` with only the contents entries whose section is among `anchors` (the ids the laid-out
    report has): a template that leaves a block out (`{% block methodology %}{% endblock %}`) gets no
    entry pointing at nothing."""
    contents = tuple(entry for entry in context.toc if entry.anchor in anchors)
    return replace(context, toc=contents, toc_columns=toc_columns(contents))


def _quality_rows(checks: list[CheckResult], locale: str, segment: str | None) -> tuple[QualityRow, ...]:
    rows = []
    for c in checks:
        if c.scope.startswith("kpi:") and c.passed:
            continue  # KPI anomaly checks are listed only when they flag something
        status = "passed" if c.passed else "warning" if c.warning else "failed"
        rows.append(QualityRow(check_scope(c, segment), c.name, status, check_text(c, locale)))
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
    rows = tuple(kpi_row(r, locale, currency, r.kpi_id in inputs.partial_kpis) for r in results)
    own = [r for r in results if not r.company_wide]  # the cover counts the report's own KPIs
    counts = tuple(
        (h.value, HEALTH_LABELS[h], sum(1 for r in own if r.health is h))
        for h in (Health.GREEN, Health.AMBER, Health.RED)
    )
    if not any(r.health is not Health.NONE for r in own):
        counts = ()  # no KPI of its own has a target or thresholds: nothing to count, no "0 On track"
    styles = {r.kpi_id: NumberStyle(r.unit, r.decimals, locale, currency) for r in results}
    quality = _quality_rows(inputs.checks, locale, inputs.segment)
    sentences = movers(results, calendar, period, locale, currency)
    inactive = inactive_sentence(period, inputs.last_active, locale) if inputs.inactive else ""
    quiet = summary_notes(results, calendar, period, locale, inputs, sentences, section is not None)
    scope_note = (f"Checks marked {COMPANY_WIDE} count every row of the source, all segments together, "
                  f"not only {inputs.segment}.") if inputs.segment is not None else ""
    source_checks = any(not c.scope.startswith("kpi:") for c in inputs.checks)
    source_warnings = any(not c.scope.startswith("kpi:") for c in inputs.checks if c.warning)
    theme = inputs.theme or ThemeAssets(Markup(""), "")
    contents = table_of_contents(section, bool(quality), bool(inputs.restatements))
    return ReportContext(
        company=config.project.company,
        language=locale.split("_")[0],
        report_name=report_name,
        report_title=report.title,
        segment=inputs.segment,
        document_title=document_title(config.project.company, report.title, inputs.segment,
                                      period_name(period, locale)),
        period_label=period.label,
        period_name=period_name(period, locale),
        period_range=date_range(period.start, period.end, locale),
        data_as_of=long_date(inputs.data_as_of, locale) if inputs.data_as_of else "no data",
        grain=report.grain.value,
        timezone=config.project.timezone,
        page_size=f"{report.page_size} {report.orientation}",
        theme_css=theme.css,
        logo=theme.logo,
        toc=contents,
        toc_columns=toc_columns(contents),
        kpis=rows,
        health_counts=counts,
        movers=sentences,
        okr=section,
        okr_rules=okr_rules(config.okrs.status, locale) if config.okrs else (),
        quality_warnings=tuple(f"{check_scope(c, inputs.segment)}: {check_text(c, locale)}"
                               for c in inputs.checks if c.warning),
        quality_checks=quality,
        not_available_note=any(NOT_AVAILABLE in (r.value, r.change, r.yoy) for r in rows),
        restatements=tuple(
            RestatedRow(r.title, format_value(r.old, styles[r.kpi_id]), format_value(r.new, styles[r.kpi_id]),
                        _reported_day(r.reported_at, config.project.timezone, locale))
            for r in inputs.restatements
        ),
        restated_since=inputs.restated_since,
        methodology=methodology_rows(config, [r.kpi_id for r in results], inputs.sql, period),
        query_window=window_words(inputs.window, locale),
        low_sample_note=any(r.low_sample for r in rows),
        partial=partial_label(inputs.coverage),
        coverage_notes=coverage_notes(inputs.coverage, period, locale),
        summary_notes=quiet,
        inactive_note=inactive,
        brief=inputs.brief,
        quality_scope_note=scope_note if source_checks else "",
        warnings_scope_note=scope_note if source_warnings else "",
    )
