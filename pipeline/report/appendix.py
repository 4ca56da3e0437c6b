"""Report navigation and appendices: table of contents, methodology, OKR rules.

The methodology shows each KPI's SQL as it runs: the values bound to its `$name`
parameters written in (`24 /* $sla_hours */`), one element per line with its
indentation kept, so a long line wraps under itself instead of at column 0.

Pure: the SQL texts are read by the runner and handed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import ProjectConfig
from pipeline.config.okrs import StatusThresholds
from pipeline.core.periods import Period
from pipeline.core.sql_text import query_parameters, shown_with_values
from pipeline.kpis.queries import builtin_parameters

from .formatting import date_range, format_number
from .okr_section import SCORE_DECIMALS, OkrSection

UNIT_WORDS = {
    "count": "count",
    "number": "number",
    "currency": "currency",
    "percent": "percent (a share of 1)",
    "duration": "duration (hours)",
}
DIRECTION_WORDS = {"up": "higher is better", "down": "lower is better", "neutral": "no preferred direction"}


@dataclass(frozen=True)
class TocEntry:
    anchor: str
    title: str
    level: int


@dataclass(frozen=True)
class SqlLine:
    indent: str  # CSS length of the line's leading whitespace, e.g. "4ch"
    text: str  # the line without its leading whitespace ("" for a blank line)


@dataclass(frozen=True)
class MethodologyRow:
    kpi_id: str
    title: str
    description: str
    unit: str
    direction: str
    query_name: str
    sql: str  # the query with its bound values written in
    sql_lines: tuple[SqlLine, ...] = ()  # empty when the SQL is listed under `listed_under`
    bound_values: str = ""  # "$sla_hours = 24", the values written into `sql`
    listed_under: tuple[str, str] | None = None  # (KPI id, title) of an earlier KPI running the same SQL


def table_of_contents(okr: OkrSection | None, has_checks: bool, has_restatements: bool) -> tuple[TocEntry, ...]:
    entries = []
    if has_restatements:
        entries.append(TocEntry("restatements", "Restated figures", 1))
    entries.append(TocEntry("executive-summary", "Executive summary", 1))
    entries.append(TocEntry("key-figures", "Key figures", 1))
    if okr is not None:
        entries.append(TocEntry("okrs", f"Objectives and key results, {okr.cycle}", 1))
        entries.extend(TocEntry(f"objective-{o.objective_id}", o.title, 2) for o in okr.objectives)
    entries.append(TocEntry("trends", "Trends", 1))
    entries.append(TocEntry("methodology", "Appendix: methodology", 1))
    if has_checks:
        entries.append(TocEntry("data-quality", "Appendix: data-quality checks", 1))
    return tuple(entries)


def methodology_rows(config: ProjectConfig, kpi_ids: list[str], sql: dict[str, str],
                     period: Period | None = None) -> tuple[MethodologyRow, ...]:
    """One row per KPI; KPIs that run the same query (file and bound values) show its SQL once, under the
    first of them, and the others point there."""
    rows = []
    first: dict[tuple[str, str], MethodologyRow] = {}
    for kpi_id in kpi_ids:
        kpi = config.kpis[kpi_id]
        text = sql.get(kpi_id, "").strip()
        available = {**(builtin_parameters(period) if period is not None else {}), **kpi.params}
        used = {name: available[name] for name in query_parameters(text) if name in available}
        shown = shown_with_values(text, used)
        query = f"queries/{kpi.query or kpi_id}.sql"
        earlier = first.get((query, shown))
        row = MethodologyRow(
            kpi_id=kpi_id,
            title=kpi.title,
            description=kpi.description,
            unit=UNIT_WORDS[kpi.unit.value],
            direction=DIRECTION_WORDS[kpi.direction.value],
            query_name=query + (f", column {kpi.value}" if kpi.value != "value" else ""),
            sql=shown,
            sql_lines=sql_lines(shown) if earlier is None else (),
            bound_values=", ".join(f"${name} = {value}" for name, value in used.items()),
            listed_under=None if earlier is None else (earlier.kpi_id, earlier.title),
        )
        first.setdefault((query, shown), row)
        rows.append(row)
    return tuple(rows)


def sql_lines(sql: str) -> tuple[SqlLine, ...]:
    """Each line with its indentation as a CSS length (tabs count as four spaces)."""
    lines = []
    for line in sql.expandtabs(4).splitlines():
        text = line.lstrip(" ")
        lines.append(SqlLine(f"{len(line) - len(text)}ch", text.rstrip()))
    return tuple(lines)


def window_words(window: tuple[Period, ...], locale: str) -> str:
    """The span the KPI queries ran over: "24 periods (1 November 2024 – 31 October 2026)"."""
    if not window:
        return ""
    return f"{len(window)} periods ({date_range(window[0].start, window[-1].end, locale)})"


def okr_rules(thresholds: StatusThresholds, locale: str = "en") -> tuple[str, ...]:
    on_track = format_number(thresholds.on_track, SCORE_DECIMALS, locale)
    at_risk = format_number(thresholds.at_risk, SCORE_DECIMALS, locale)
    grade = format_number(0.7, 1, locale)
    return (
        "increase_to: progress = (current − baseline) / (target − baseline); "
        "decrease_to: progress = (baseline − current) / (baseline − target).",
        "stay_above / stay_below: progress = the share of the cycle's completed periods on the right side of the target.",
        "milestone: 1 when the latest check-in says done, else the share done it reports.",
        "Current value: the KPI over the cycle up to the report period — the latest value, the sum, or the average. "
        "Baseline 'auto' is the KPI's value in the period before the cycle; cumulative (sum) key results start at 0.",
        f"Score: progress clamped to 0–1 ({grade} is a good stretch result); attainment keeps the unclamped value.",
        "Expected progress: the elapsed share of the cycle at the end of the report period (1 for stay_above/stay_below).",
        f"Status: achieved at score 1; otherwise on track when the score is at most {on_track} "
        f"behind the expected progress, at risk when at most {at_risk}, else off track.",
        "Objective score: the weight-averaged score of its key results; its status follows the same rule.",
    )
