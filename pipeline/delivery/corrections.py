"""Corrections: which figures changed between the version a recipient got and the report as built now.

A report file counts as corrected for a recipient when the ledger says a
version was delivered (its PDF's and manifest's sha256), the PDF built now is a
different one, and a figure differs between the manifest that version was sent
from (archived in `sent/`) and the current manifest: a KPI's value, previous
period, same period last year or target (company-wide, or the segment's), or an
OKR key result's current value or score (company-wide report). The same PDF
means the same figures; a different PDF with the same figures (a new layout) is
not a correction.

The changes are written as the report writes them ("3.5 %"), old -> new, for
the correction email. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import ProjectConfig
from pipeline.config.kpis import Unit
from pipeline.kpis.restatements import differs
from pipeline.outputs.manifest import KpiValue, Manifest
from pipeline.report.formatting import NumberStyle, format_number, format_value
from pipeline.report.okr_section import SCORE_DECIMALS

KPI_FIGURES = (("value", ""), ("previous", ", previous period"), ("last_year", ", same period last year"),
               ("target", ", target"))


@dataclass(frozen=True)
class FigureChange:
    figure: str  # "Return rate", "Return rate, previous period", "Key result 'Answer fast': score"
    old: str  # as the recipients got it
    new: str

    def line(self) -> str:
        return f"{self.figure}: {self.old} → {self.new}"


@dataclass(frozen=True)
class CorrectionNotice:
    """What a correction email says about the version it replaces (pre-formatted for the templates)."""

    sent_on: str  # the day the replaced version was sent, "3 November 2026" ("" when unknown)
    changes: tuple[FigureChange, ...]

    @property
    def intro(self) -> str:
        when = f" sent on {self.sent_on}" if self.sent_on else " sent earlier"
        return f"This replaces the report{when}. The data changed after it was sent; these figures are different now:"

    def lines(self) -> list[str]:
        return [change.line() for change in self.changes]


def _style(config: ProjectConfig, kpi_id: str) -> NumberStyle:
    kpi = config.kpis.get(kpi_id)
    unit, decimals = (kpi.unit, kpi.decimals) if kpi is not None else (Unit.NUMBER, 2)
    return NumberStyle(unit, decimals, config.project.locale, config.project.currency)


def _shown(old: float | None, new: float | None, style: NumberStyle) -> tuple[str, str]:
    before, after = format_value(old, style), format_value(new, style)
    if before == after:  # changed below the precision the report shows
        after += " (changed below the precision shown)"
    return before, after


def _kpi_changes(sent: dict[str, KpiValue], now: dict[str, KpiValue], config: ProjectConfig) -> list[FigureChange]:
    changes = []
    for kpi_id in [k for k in now if k in sent]:
        style = _style(config, kpi_id)
        kpi = config.kpis.get(kpi_id)
        title = kpi.title if kpi is not None else kpi_id
        for field, suffix in KPI_FIGURES:
            old, new = getattr(sent[kpi_id], field), getattr(now[kpi_id], field)
            if differs(old, new):
                changes.append(FigureChange(title + suffix, *_shown(old, new, style)))
    return changes


def _okr_changes(sent: Manifest, now: Manifest, config: ProjectConfig) -> list[FigureChange]:
    if sent.okrs is None or now.okrs is None or sent.okrs.cycle != now.okrs.cycle:
        return []
    cycle = config.okrs.cycles.get(now.okrs.cycle) if config.okrs else None
    changes = []
    for objective_id, objective in now.okrs.objectives.items():
        before = sent.okrs.objectives.get(objective_id)
        if before is None:
            continue
        for kr_id, kr in objective.key_results.items():
            old = before.key_results.get(kr_id)
            if old is None:
                continue
            kr_config = None
            if cycle is not None and objective_id in cycle.objectives:
                kr_config = cycle.objectives[objective_id].key_results.get(kr_id)
            title = kr_config.title if kr_config is not None else kr_id
            if differs(old.current, kr.current):
                style = _style(config, kr_config.kpi) if kr_config is not None and kr_config.kpi else _style(config, "")
                changes.append(FigureChange(f"Key result '{title}': current", *_shown(old.current, kr.current, style)))
            if differs(old.score, kr.score):
                locale = config.project.locale  # scores written as the report writes them
                changes.append(FigureChange(f"Key result '{title}': score", format_number(old.score, SCORE_DECIMALS, locale),
                                            format_number(kr.score, SCORE_DECIMALS, locale)))
    return changes


def figure_changes(sent: Manifest, now: Manifest, segment: str | None, config: ProjectConfig) -> tuple[FigureChange, ...]:
    """Every figure of one report file (company-wide: segment None) that differs between two builds."""
    if segment is None:
        return tuple(_kpi_changes(sent.kpis, now.kpis, config) + _okr_changes(sent, now, config))
    old, new = sent.segments.get(segment), now.segments.get(segment)
    if old is None or new is None:
        return ()
    return tuple(_kpi_changes(old.kpis, new.kpis, config))
