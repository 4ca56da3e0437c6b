"""The OKR part of the report context.

Turns a scored cycle into formatted rows (scores, bars, statuses, check-ins),
every number written in the project's locale ("0.34" in en, "0,34" in da and
en_DK). Check-in comments are plain text: the template escapes them, so markup
in a comment is shown as typed, never interpreted. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from pipeline.config import KpiConfig, Unit
from pipeline.config.okrs import StatusThresholds
from pipeline.okrs.cycles import CycleResult
from pipeline.okrs.scoring import STATUS_LABELS, KrScore, ObjectiveScore, Status

from .charts import bullet_svg, svg_image
from .formatting import LocaleWords, NumberStyle, date_range, format_number, format_value, long_date

SCORE_DECIMALS = 2

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
    bullet_svg: Markup  # score bar with a marker at the expected progress (an <img> of its SVG)
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
    score_range: str = "0.00–1.00"  # the score scale, in the locale
    stretch: str = "0.7"  # a good stretch result


def kr_row(score: KrScore, kpis: dict[str, KpiConfig], locale: str, currency: str, charts: bool = True) -> KrRow:
    """One key result's row; `charts=False` leaves out the bullet chart (the terminal shows none, and drawing
    it costs the matplotlib import)."""
    kr = score.config
    kpi = kpis.get(kr.kpi) if kr.kpi else None
    style = NumberStyle(kpi.unit, kpi.decimals, locale, currency) if kpi else NumberStyle(Unit.NUMBER, 2, locale)
    checkin = score.checkin
    shown_score = format_number(score.score, SCORE_DECIMALS, locale)
    shown_expected = format_number(score.expected, SCORE_DECIMALS, locale)
    return KrRow(
        kr_id=score.kr_id,
        title=kr.title,
        owner=kr.owner,
        kpi_title=kpi.title if kpi else "check-in",
        kind=TYPE_LABELS[kr.type.value] + (f" ({kr.aggregation.value})" if kpi and kr.type.value.endswith("_to") else ""),
        baseline="—" if kpi is None or kr.type.value.startswith("stay") else format_value(score.baseline, style),
        current="—" if kpi is None else format_value(score.current, style),
        target="done" if kpi is None else format_value(kr.target, style),
        score=shown_score,
        attainment=format_number(score.attainment, SCORE_DECIMALS, locale),
        expected=shown_expected,
        bullet_svg=Markup(svg_image(bullet_svg(score.score, score.expected, score.status.value),
                                    f"score {shown_score}, expected {shown_expected}") if charts else ""),
        status=score.status.value,
        status_label=STATUS_LABELS[score.status],
        confidence=checkin.confidence or "—" if checkin else "—",
        comment=checkin.comment if checkin else "",
        checkin_date=long_date(checkin.day, locale) if checkin else "",
        note=score.note_text(LocaleWords(locale, style)),
    )


def objective_row(objective: ObjectiveScore, config_objectives, kpis, locale: str, currency: str,
                  charts: bool = True) -> ObjectiveRow:
    conf = config_objectives[objective.objective_id]
    return ObjectiveRow(
        objective_id=objective.objective_id,
        title=conf.title,
        owner=conf.owner,
        description=conf.description,
        score=format_number(objective.score, SCORE_DECIMALS, locale),
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
        expected=format_number(cycle.expected, SCORE_DECIMALS, locale),
        final=cycle.final,
        objectives=objectives,
        counts=counts,
        on_track=format_number(thresholds.on_track, SCORE_DECIMALS, locale),
        at_risk=format_number(thresholds.at_risk, SCORE_DECIMALS, locale),
        score_range=f"{format_number(0, SCORE_DECIMALS, locale)}–{format_number(1, SCORE_DECIMALS, locale)}",
        stretch=format_number(0.7, 1, locale),
    )
