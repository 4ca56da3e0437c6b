"""SMART lint of key results. Pure: takes config and KPI history, returns findings.

- Specific: the KR names a KPI (or is a milestone) and has a description.
- Measurable: a numeric target on a KPI with a unit; a milestone needs check-ins.
- Achievable: the change the KR asks for (target - baseline; for `sum`, the
  target itself) is compared with the largest change the KPI has shown over
  any window of the cycle's length in its history; asking for more is flagged.
- Relevant: the KR's KPI is shown in at least one report.
- Time-bound: the cycle has dates (start and end, or a quarter/year label).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import ProjectConfig
from pipeline.config.okrs import Aggregation, KeyResultConfig, KrType, cycle_dates


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    key: str  # dotted key in config/okrs.yaml
    message: str
    hint: str = ""


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def max_move(values: list[float | None], span: int, increase: bool) -> float | None:
    """Largest change over any `span` periods in the history (in the KR's direction)."""
    best = None
    for i in range(len(values) - span):
        a, b = values[i], values[i + span]
        if a is None or b is None:
            continue
        move = (b - a) if increase else (a - b)
        best = move if best is None else max(best, move)
    return best


def max_window_sum(values: list[float | None], span: int) -> float | None:
    best = None
    for i in range(len(values) - span + 1):
        window = values[i:i + span]
        if any(v is None for v in window):
            continue
        total = sum(v for v in window if v is not None)
        best = total if best is None else max(best, total)
    return best


def lint_key_result(
    key: str,
    kr: KeyResultConfig,
    config: ProjectConfig,
    history: list[float | None],
    cycle_length: int | None,
    baseline_value: float | None,
    has_checkins: bool,
) -> list[Finding]:
    """SMART findings for one KR; `history` is the KPI's values oldest first."""
    findings: list[Finding] = []
    if not kr.description.strip():
        findings.append(Finding("warning", key, "not Specific: no description",
                                "say in one sentence what changes and how"))
    if kr.type is KrType.MILESTONE:
        if not has_checkins:
            findings.append(Finding("warning", key, "not Measurable: a milestone without any check-in",
                                    "record its progress (done or share) in the check-in file"))
        return findings
    kpi = config.kpis[kr.kpi] if kr.kpi else None
    if kpi is None:
        return findings
    relevant = any(kr.kpi in report.kpis for report in config.reports.values())
    if not relevant:
        findings.append(Finding("warning", key, f"not Relevant: KPI '{kr.kpi}' is not shown in any report",
                                "add the KPI to a report in config/reports.yaml"))
    if cycle_length and kr.type in (KrType.INCREASE_TO, KrType.DECREASE_TO) and kr.target is not None:
        increase = kr.type is KrType.INCREASE_TO
        if kr.aggregation is Aggregation.SUM:
            best = max_window_sum(history, cycle_length)
            asked = kr.target
            if best is not None and asked > best:
                findings.append(Finding(
                    "warning", key,
                    f"maybe not Achievable: asks for a total of {_num(asked)} in {cycle_length} periods; "
                    f"the best {cycle_length} periods in the KPI's history total {_num(best)}",
                    "check the target against the KPI's history with 'pulse query'",
                ))
        elif baseline_value is not None:
            asked = (kr.target - baseline_value) if increase else (baseline_value - kr.target)
            if asked < 0:
                findings.append(Finding(
                    "warning", key,
                    f"not Measurable as written: a {kr.type.value} target of {_num(kr.target)} lies behind "
                    f"the baseline {_num(baseline_value)}",
                    "swap the type (increase_to / decrease_to) or raise the target",
                ))
                return findings
            best = max_move(history, cycle_length, increase)
            if best is not None and asked > max(best, 0):
                findings.append(Finding(
                    "warning", key,
                    f"maybe not Achievable: asks for a move of {_num(asked)} in {cycle_length} periods; "
                    f"the KPI has moved at most {_num(max(best, 0))} in any {cycle_length} periods of its history",
                    "lower the target or split it over two cycles",
                ))
    return findings


def lint_cycle_dates(cycle_name: str, cycle) -> list[Finding]:
    if cycle_dates(cycle_name, cycle) is None:
        return [Finding("error", f"cycles.{cycle_name}", "not Time-bound: the cycle has no dates",
                        "give it start and end dates, or name it like 2026-Q4")]
    return []
