"""The executive summary's sentences: the KPIs a manager must know about first.

Pure: no I/O, no clock. Ranking (hand-checked in tests/unit/report/test_movers.py):

1. status worse than in the previous period (e.g. "Watch" -> "Off track");
2. off target: health red (or, with a target and no thresholds, more than 5 %
   behind it), unchanged since the previous period;
3. status better than in the previous period;
4. every other KPI that moved.

Within each group, the larger move first: the relative change against the
previous period (for rates too: 2 % -> 3 % is a 50 % move), a move from 0 last.
KPIs left out: those without a value, those whose value or previous value rests on
a small sample (below `min_sample`), neutral ones that did not move, and in a
segment's report the KPIs shown with company-wide figures (the sentences are about
the segment). The first `count` are written as sentences with the same change the
table shows ("Revenue fell 9.2 % from September to DKK 444,000, DKK 36,000 behind
target, now off track (was on track).").
"""

from __future__ import annotations

from pipeline.config import Direction
from pipeline.core.periods import Calendar, Period
from pipeline.kpis.comparisons import Change, Health, KpiResult

from .formatting import format_change, format_kpi_change, format_value, kpi_style, period_name, sentence

HEALTH_WORDS = {Health.GREEN: "on track", Health.AMBER: "watch", Health.RED: "off track"}
_SEVERITY = {Health.GREEN: 0, Health.AMBER: 1, Health.RED: 2}
WORSE, OFF_TARGET, BETTER, MOVED = range(4)


def group(result: KpiResult) -> int | None:
    """The ranking group of a KPI (see the module's rules), or None when it is left out."""
    if result.value is None or result.company_wide or not result.solid:
        return None
    now, before = result.health, result.previous_health
    if now in _SEVERITY and before in _SEVERITY and now is not before:
        return WORSE if _SEVERITY[now] > _SEVERITY[before] else BETTER
    if now is Health.RED:
        return OFF_TARGET
    if result.change is not None and result.change.amount != 0:
        return MOVED
    return None


def move_size(result: KpiResult) -> float:
    """How far the KPI moved: its relative change (0 when there is none, e.g. from 0)."""
    return abs(result.change_rel) if result.change_rel is not None else 0.0


def rank(results: list[KpiResult]) -> list[KpiResult]:
    """The KPIs worth a sentence, most important first (ties keep the report's order)."""
    grouped = [(g, r) for r in results if (g := group(r)) is not None]
    return [r for _g, r in sorted(grouped, key=lambda item: (item[0], -move_size(item[1])))]


def movers(results: list[KpiResult], calendar: Calendar, period: Period, locale: str, currency: str,
           count: int = 3) -> tuple[str, ...]:
    """Sentences on the `count` KPIs a manager must know about first."""
    previous_name = short_period_name(calendar.shift(period, -1), locale)
    return tuple(mover_sentence(r, previous_name, locale, currency) for r in rank(results)[:count])


def mover_sentence(r: KpiResult, previous_name: str, locale: str, currency: str) -> str:
    style = kpi_style(r, locale, currency)
    value = format_value(r.value, style)
    if r.change is None:
        text = f"{r.title} is {value} ({previous_name} has no value)"
    elif r.change.amount == 0:
        text = f"{r.title} was unchanged from {previous_name} at {value}"
    else:
        verb = "rose" if r.change.amount > 0 else "fell"
        amount = format_kpi_change(Change(r.change.kind, r.change.size), style).lstrip("+")
        text = f"{r.title} {verb} {amount} from {previous_name} to {value}"
    if r.gap is not None and r.direction is not Direction.NEUTRAL:
        ahead = r.gap >= 0 if r.direction is Direction.UP else r.gap <= 0
        gap = format_change(abs(r.gap), style).lstrip("+")
        text += ", on target" if r.gap == 0 else f", {gap} {'ahead of' if ahead else 'behind'} target"
    now, before = r.health, r.previous_health
    if now in HEALTH_WORDS and before in HEALTH_WORDS and now is not before:
        text += f", now {HEALTH_WORDS[now]} (was {HEALTH_WORDS[before]})"
    elif now is Health.RED and r.gap is None:
        text += ", off track"
    return sentence(text)


def short_period_name(period: Period, locale: str) -> str:
    """"September" for the month before, else the period's full name ("2026-Q3")."""
    name = period_name(period, locale)
    return name.split(" ")[0] if period.grain.value == "month" else name


def quiet_summary(results: list[KpiResult], calendar: Calendar, period: Period, locale: str) -> tuple[str, ...]:
    """When no KPI is a mover, what is true instead: which KPIs did not change, and which cannot be compared."""
    this_name, previous_name = period_name(period, locale), short_period_name(calendar.shift(period, -1), locale)
    groups: dict[str, list[str]] = {}
    own = [r for r in results if not r.company_wide]
    for r in own:
        if r.value is None:
            why = f"No value for {this_name}"
        elif not r.solid:
            why = "Too few observations to compare"
        elif r.change is None:
            why = f"No value for {previous_name} to compare with"
        elif r.change.amount == 0:
            why = f"Unchanged from {previous_name}"
        else:
            why = f"Changed from {previous_name}"
        groups.setdefault(why, []).append(r.title)
    if not own:
        return ("Every KPI of this report is shown with company-wide figures; see the key figures.",)
    return tuple(f"{why}: {', '.join(titles)}." for why, titles in groups.items())
