"""Report navigation and appendices: table of contents, methodology, OKR rules.

Pure: the SQL texts are read by the runner and handed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import ProjectConfig
from pipeline.config.okrs import StatusThresholds

from .okr_section import OkrSection

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
class MethodologyRow:
    kpi_id: str
    title: str
    description: str
    unit: str
    direction: str
    query_name: str
    sql: str


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


def methodology_rows(config: ProjectConfig, kpi_ids: list[str], sql: dict[str, str]) -> tuple[MethodologyRow, ...]:
    rows = []
    for kpi_id in kpi_ids:
        kpi = config.kpis[kpi_id]
        rows.append(MethodologyRow(
            kpi_id=kpi_id,
            title=kpi.title,
            description=kpi.description,
            unit=UNIT_WORDS[kpi.unit.value],
            direction=DIRECTION_WORDS[kpi.direction.value],
            query_name=f"queries/{kpi.query or kpi_id}.sql",
            sql=sql.get(kpi_id, "").strip(),
        ))
    return tuple(rows)


def okr_rules(thresholds: StatusThresholds) -> tuple[str, ...]:
    return (
        "increase_to: progress = (current − baseline) / (target − baseline); "
        "decrease_to: progress = (baseline − current) / (baseline − target).",
        "stay_above / stay_below: progress = the share of the cycle's completed periods on the right side of the target.",
        "milestone: 1 when the latest check-in says done, else the share done it reports.",
        "Current value: the KPI over the cycle up to the report period — the latest value, the sum, or the average. "
        "Baseline 'auto' is the KPI's value in the period before the cycle; cumulative (sum) key results start at 0.",
        "Score: progress clamped to 0–1 (0.7 is a good stretch result); attainment keeps the unclamped value.",
        "Expected progress: the elapsed share of the cycle at the end of the report period (1 for stay_above/stay_below).",
        f"Status: achieved at score 1; otherwise on track when the score is at most {thresholds.on_track:.2f} "
        f"behind the expected progress, at risk when at most {thresholds.at_risk:.2f}, else off track.",
        "Objective score: the weight-averaged score of its key results; its status follows the same rule.",
    )
