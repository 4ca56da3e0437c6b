"""The executive summary an email carries, built with the report and archived.

A run builds one `EmailSummary` per report file (the company-wide one and each
segment's) from the same typed results the report shows, and stores it in
`manifest.json` under `summary`. `pulse send` mails exactly what was built from
it, without recomputing anything. Pure: no I/O, no clock.
"""

from __future__ import annotations

from datetime import date

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from pipeline.config import ProjectConfig, ReportConfig
from pipeline.core.periods import Calendar, Period
from pipeline.kpis.comparisons import KpiResult

from .context import ReportInputs, check_scope, movement_class, summary_notes
from .coverage_text import coverage_notes, partial_label
from .formatting import date_range, format_kpi_change, format_value, kpi_style, long_date, period_name
from .movers import movers
from .okr_section import status_counts
from .words import COMPANY_WIDE, HEALTH_LABELS, check_text, sample_note


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KpiLine(_Frozen):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    title: str
    value: str
    # the KPI's change against the previous period as the report shows it: "+4.2 %", "−0.3 pp" for a rate
    # (read from `change_rel` in manifests written before it had this name)
    change: str = Field(validation_alias=AliasChoices("change", "change_rel"))
    change_class: str  # good | bad | flat
    target: str
    health: str  # green | amber | red | none
    health_label: str
    company_wide_only: bool = False
    scope_note: str = ""  # "company-wide" in a segment's summary for a KPI without a segment breakdown
    sample_note: str = ""  # "low sample: 23 (min. 30)"
    partial: bool = False  # a source it reads covers only part of the period


class OkrCount(_Frozen):
    status: str
    label: str
    objectives: int
    key_results: int


class EmailSummary(_Frozen):
    """Everything the email template shows, already formatted."""

    company: str
    report: str
    title: str
    segment: str | None
    period: str  # label, e.g. 2026-10
    period_name: str  # October 2026
    period_range: str
    data_as_of: str  # "31 October 2026", or "no data"
    data_as_of_iso: date | None
    okr_cycle: str | None
    okr_counts: tuple[OkrCount, ...]
    movers: tuple[str, ...]
    kpis: tuple[KpiLine, ...]
    quality_warnings: tuple[str, ...]
    partial: str = ""  # "", "partial" or "period to date"
    coverage_notes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # without movers: what is true instead ("No activity in October 2026: ...")


def kpi_line(result: KpiResult, locale: str, currency: str, partial: bool = False) -> KpiLine:
    style = kpi_style(result, locale, currency)
    return KpiLine(
        title=result.title,
        value=format_value(result.value, style),
        change=format_kpi_change(result.change, style),
        change_class=movement_class(result.change_abs, result.direction),
        target="—" if result.target is None else format_value(result.target, style),
        health=result.health.value,
        health_label=HEALTH_LABELS[result.health],
        company_wide_only=result.company_wide,
        scope_note=COMPANY_WIDE if result.company_wide else "",
        sample_note=sample_note(result, locale),
        partial=partial,
    )


def build_summary(config: ProjectConfig, name: str, report: ReportConfig, period: Period,
                  results: list[KpiResult], inputs: ReportInputs) -> EmailSummary:
    """The summary of one report file (company-wide, or a segment's)."""
    locale, currency = config.project.locale, config.project.currency
    calendar = Calendar(report.grain, config.project.fiscal_year_start)
    cycle = inputs.okr
    counts = tuple(
        OkrCount(status=c.status, label=c.label, objectives=c.objectives, key_results=c.key_results)
        for c in (status_counts(cycle) if cycle is not None else ())
    )
    sentences = movers(results, calendar, period, locale, currency)
    return EmailSummary(
        company=config.project.company,
        report=name,
        title=report.title,
        segment=inputs.segment,
        period=period.label,
        period_name=period_name(period, locale),
        period_range=date_range(period.start, period.end, locale),
        data_as_of=long_date(inputs.data_as_of, locale) if inputs.data_as_of else "no data",
        data_as_of_iso=inputs.data_as_of,
        okr_cycle=cycle.name if cycle is not None else None,
        okr_counts=counts,
        movers=sentences,
        kpis=tuple(kpi_line(r, locale, currency, r.kpi_id in inputs.partial_kpis) for r in results),
        quality_warnings=tuple(f"{check_scope(c, inputs.segment)}: {check_text(c, locale)}"
                               for c in inputs.checks if c.warning),
        partial=partial_label(inputs.coverage),
        coverage_notes=coverage_notes(inputs.coverage, period, locale),
        notes=summary_notes(results, calendar, period, locale, inputs, sentences, cycle is not None),
    )



