"""The OKR part of the report context, and the executive summary's sentences.

Turns a scored cycle into formatted rows (scores, bars, statuses, check-ins),
and the KPI results into the "moved most" sentences. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from pipeline.config import Direction, KpiConfig, Unit
from pipeline.config.okrs import StatusThresholds
from pipeline.core.periods import Calendar, Period
from pipeline.kpis.comparisons import KpiResult
from pipeline.okrs.cycles import CycleResult
from pipeline.okrs.scoring import STATUS_LABELS, KrScore, ObjectiveScore, Status

from .charts import bullet_svg
from .formatting import NumberStyle, date_range, format_change, format_relative, format_value, long_date, period_name

STATUS_ORDER = (Status.ACHIEVED, Status.ON_TRACK, Status.AT_RISK, Status.OFF_TRACK, Status.NOT_STARTED)
TYPE_LABELS = {
    "increase_to": "increase to",
    "decrease_to": "decrease to",
    "stay_above": "stay above",
    "stay_below": "stay below",
    "milestone": "milestone",
}


@dataclass(frozen=True)
class KrRow:
    kr_id: str
    title: str
    owner: str
    kpi_title: str
    kind: str
    baseline: str
    current: str
    target: str
    score: str
    attainment: str
    expected: str
    bullet_svg: Markup  # score bar with a marker at the expected progress
    status: str
    status_label: str
    confidence: str
    comment: str
    checkin_date: str
    note: str


@dataclass(frozen=True)
class ObjectiveRow:
    objective_id: str
    title: str
    owner: str
    description: str
    score: str
    status: str
    status_label: str
    key_results: tuple[KrRow, ...]


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    objectives: int
    key_results: int


@dataclass(frozen=True)
class OkrSection:
    cycle: str
    cycle_range: str
    expected: str
    final: bool
    objectives: tuple[ObjectiveRow, ...]
    counts: tuple[StatusCount, ...]
    on_track: str  # the pace thresholds, e.g. "0.10"
    at_risk: str


def kr_row(score: KrScore, kpis: dict[str, KpiConfig], locale: str, currency: str, charts: bool = True) -> KrRow:
    """One key result's row; `charts=False` leaves out the bullet chart (the terminal shows none, and drawing
    it costs the matplotlib import)."""
    kr = score.config
    kpi = kpis.get(kr.kpi) if kr.kpi else None
    style = NumberStyle(kpi.unit, kpi.decimals, locale, currency) if kpi else NumberStyle(Unit.NUMBER, 2, locale)
    checkin = score.checkin
    return KrRow(
        kr_id=score.kr_id,
        title=kr.title,
        owner=kr.owner,
        kpi_title=kpi.title if kpi else "check-in",
        kind=TYPE_LABELS[kr.type.value] + (f" ({kr.aggregation.value})" if kpi and kr.type.value.endswith("_to") else ""),
        baseline="—" if kpi is None or kr.type.value.startswith("stay") else format_value(score.baseline, style),
        current="—" if kpi is None else format_value(score.current, style),
        target="done" if kpi is None else format_value(kr.target, style),
        score=f"{score.score:.2f}",
        attainment="n/a" if score.attainment is None else f"{score.attainment:.2f}",
        expected=f"{score.expected:.2f}",
        bullet_svg=Markup(bullet_svg(score.score, score.expected, score.status.value) if charts else ""),
        status=score.status.value,
        status_label=STATUS_LABELS[score.status],
        confidence=checkin.confidence or "—" if checkin else "—",
        comment=checkin.comment if checkin else "",
        checkin_date=long_date(checkin.day, locale) if checkin else "",
        note=score.note,
    )


def objective_row(objective: ObjectiveScore, config_objectives, kpis, locale: str, currency: str,
                  charts: bool = True) -> ObjectiveRow:
    conf = config_objectives[objective.objective_id]
    return ObjectiveRow(
        objective_id=objective.objective_id,
        title=conf.title,
        owner=conf.owner,
        description=conf.description,
        score=f"{objective.score:.2f}",
        status=objective.status.value,
        status_label=STATUS_LABELS[objective.status],
        key_results=tuple(kr_row(k, kpis, locale, currency, charts) for k in objective.key_results),
    )


def status_counts(cycle: CycleResult) -> tuple[StatusCount, ...]:
    """How many objectives and key results have each status (statuses in use only)."""
    krs = [k for o in cycle.objectives for k in o.key_results]
    return tuple(
        StatusCount(s.value, STATUS_LABELS[s], sum(o.status is s for o in cycle.objectives), sum(k.status is s for k in krs))
        for s in STATUS_ORDER
        if any(o.status is s for o in cycle.objectives) or any(k.status is s for k in krs)
    )


def okr_section(cycle: CycleResult, config_objectives, kpis, locale: str, currency: str,
                thresholds: StatusThresholds | None = None, charts: bool = True) -> OkrSection:
    thresholds = thresholds or StatusThresholds()
    objectives = tuple(objective_row(o, config_objectives, kpis, locale, currency, charts) for o in cycle.objectives)
    counts = status_counts(cycle)
    return OkrSection(
        cycle=cycle.name,
        cycle_range=date_range(cycle.start, cycle.end, locale),
        expected=f"{cycle.expected:.2f}",
        final=cycle.final,
        objectives=objectives,
        counts=counts,
        on_track=f"{thresholds.on_track:.2f}",
        at_risk=f"{thresholds.at_risk:.2f}",
    )


def movers(results: list[KpiResult], calendar: Calendar, period: Period, locale: str, currency: str,
           count: int = 3) -> tuple[str, ...]:
    """Sentences on the KPIs that moved most relative to the previous period."""
    previous_name = _short_period_name(calendar.shift(period, -1), locale)
    moved = [r for r in results if r.change_rel is not None and r.change_abs]
    moved.sort(key=lambda r: abs(r.change_rel or 0), reverse=True)
    sentences = []
    for r in moved[:count]:
        verb = "rose" if (r.change_abs or 0) > 0 else "fell"
        style = NumberStyle(r.unit, r.decimals, locale, currency)
        if r.unit is Unit.PERCENT:
            amount = format_change(abs(r.change_abs or 0), style).lstrip("+")  # percentage points
        else:
            amount = format_relative(abs(r.change_rel or 0), locale).lstrip("+")
        sentence = f"{r.title} {verb} {amount} on {previous_name}, to {format_value(r.value, style)}"
        if r.target is not None and r.value is not None and r.direction is not Direction.NEUTRAL:
            ahead = r.value >= r.target if r.direction is Direction.UP else r.value <= r.target
            sentence += ", ahead of target" if ahead else ", behind target"
        sentences.append(sentence + ".")
    return tuple(sentences)


def _short_period_name(period: Period, locale: str) -> str:
    name = period_name(period, locale)
    return name.split(" ")[0] if period.grain.value == "month" else name
