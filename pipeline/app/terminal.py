"""Terminal output of the interactive commands: progress on a terminal (quiet in cron), the KPI
table (`pulse kpis`), the checks (`pulse check`), the OKR tree (`pulse okrs`) and the schedules
(`pulse due --list`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.checks.source_checks import CheckResult
from pipeline.config import ProjectConfig
from pipeline.core.periods import Period
from pipeline.kpis.comparisons import KpiResult
from pipeline.okrs.cycles import CycleResult
from pipeline.report.formatting import format_kpi_change, format_value, kpi_style
from pipeline.report.okr_section import okr_section
from pipeline.report.words import COMPANY_WIDE, HEALTH_LABELS, check_text, sample_note

if TYPE_CHECKING:
    from .due import ScheduleStatus


HEALTH_STYLES = {"green": "green", "amber": "yellow", "red": "red", "none": "dim"}


def print_kpi_table(results: list[KpiResult], period: Period, locale: str, currency: str) -> None:
    """The KPI table: value, its change against the previous period and last year (the same change the
    report shows: relative, or in percentage points for rates), target, health."""
    table = Table(title=f"KPIs for {period.label}", title_justify="left")
    for heading, justify in (("KPI", "left"), ("Value", "right"), ("vs prev.", "right"), ("Previous", "right"),
                             ("vs last year", "right"), ("Last year", "right"), ("Target", "right"),
                             ("Health", "left")):
        table.add_column(heading, justify=justify)
    for r in results:
        style = kpi_style(r, locale, currency)
        note = sample_note(r, locale)
        table.add_row(
            r.title + (f" ({COMPANY_WIDE})" if r.company_wide else ""),
            format_value(r.value, style) + (f" [yellow]{note}[/]" if note else ""),
            format_kpi_change(r.change, style),
            format_value(r.previous, style),
            format_kpi_change(r.yoy, style),
            format_value(r.last_year, style),
            "—" if r.target is None else format_value(r.target, style),
            f"[{HEALTH_STYLES[r.health.value]}]{HEALTH_LABELS[r.health]}[/]",
        )
    Console(width=max(130, Console().width)).print(table)


def print_checks(results: list[CheckResult], period: Period, locale: str = "en") -> None:
    """Every data-quality check with its outcome and numbers (written in the project's locale)."""
    table = Table(title=f"Data-quality checks for {period.label}", title_justify="left")
    for heading in ("Source", "Check", "Severity", "Result", "Details"):
        table.add_column(heading)
    for c in results:
        outcome = "[green]passed[/]" if c.passed else "[yellow]warning[/]" if c.warning else "[red]failed[/]"
        table.add_row(c.scope, c.name, c.severity, outcome, escape(check_text(c, locale)))
    Console(width=max(120, Console().width)).print(table)


# -- pulse okrs ---------------------------------------------------------------------------
STATUS_STYLES = {"achieved": "bold cyan", "on_track": "green", "at_risk": "yellow", "off_track": "red",
                 "not_started": "dim"}


def print_okr_tree(result: CycleResult, config: ProjectConfig, period: Period) -> None:
    section = _section(result, config)
    heading = f"OKRs {section.cycle} ({section.cycle_range}) as of {period.label}"
    heading += ": final grade" if section.final else f": expected progress {section.expected}"
    table = Table(title=heading, title_justify="left")
    for name, justify in (("Objective / key result", "left"), ("Baseline", "right"), ("Current", "right"),
                          ("Target", "right"), ("Score", "right"), ("Expected", "right"), ("Status", "left"),
                          ("Confidence", "left")):
        table.add_column(name, justify=justify)
    for objective in section.objectives:
        style = STATUS_STYLES[objective.status]
        table.add_row(f"[bold]{objective.title}[/bold]", "", "", "", f"[bold]{objective.score}[/bold]",
                      section.expected, f"[{style}]{objective.status_label}[/]", "", end_section=False)
        for kr in objective.key_results:
            style = STATUS_STYLES[kr.status]
            table.add_row(f"  {kr.title}", kr.baseline, kr.current, kr.target, kr.score, kr.expected,
                          f"[{style}]{kr.status_label}[/]", kr.confidence)
        table.add_section()
    Console(width=max(120, Console().width)).print(table)


def okr_json(result: CycleResult, config: ProjectConfig, period: Period) -> str:
    """Machine-readable scores: raw numbers, not formatted strings."""
    payload = {
        "cycle": result.name,
        "start": result.start.isoformat(),
        "end_exclusive": result.end.isoformat(),
        "period": period.label,
        "expected": result.expected,
        "final": result.final,
        "objectives": [
            {
                "id": o.objective_id,
                "title": config.okrs.cycles[result.name].objectives[o.objective_id].title if config.okrs else "",
                "score": o.score,
                "status": o.status.value,
                "key_results": [
                    {
                        "id": k.kr_id,
                        "title": k.config.title,
                        "kpi": k.config.kpi,
                        "type": k.config.type.value,
                        "baseline": k.baseline,
                        "current": k.current,
                        "target": k.config.target,
                        "attainment": k.attainment,
                        "score": k.score,
                        "expected": k.expected,
                        "status": k.status.value,
                        "confidence": k.checkin.confidence if k.checkin else None,
                        "comment": k.checkin.comment if k.checkin else None,
                        "note": k.note_text() or None,
                    }
                    for k in o.key_results
                ],
            }
            for o in result.objectives
        ],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _section(result: CycleResult, config: ProjectConfig):
    assert config.okrs is not None
    objectives = config.okrs.cycles[result.name].objectives
    return okr_section(result, objectives, config.kpis, config.project.locale, config.project.currency,
                       config.okrs.status, charts=False)


# -- pulse due --list ----------------------------------------------------------------------
def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z") if moment is not None else "—"


def print_schedules(statuses: list[ScheduleStatus]) -> None:
    """Each scheduled report: cron, what is owed now, next due time, last success."""
    if not statuses:
        Console().print("no report has a schedule: (see docs/email-and-scheduling.md 'Scheduling')")
        return
    table = Table(title="Scheduled reports", title_justify="left")
    for heading in ("Report", "Schedule", "Owed now", "Emails owed", "Next due", "Last successful run"):
        table.add_column(heading)
    for s in statuses:
        nxt = "—" if s.next_due is None else f"{_when(s.next_due.at)} ({s.next_due.period.label})"
        last = "never" if s.last_success is None else (
            f"{s.last_success.period}, finished {_when(s.last_success.finished_at)}")
        table.add_row(s.report, f"{s.cron} ({s.timezone})", ", ".join(s.owed) or "nothing",
                      str(s.owed_deliveries) if s.owed_deliveries else "none", nxt, last)
    Console(width=max(160, Console().width)).print(table)


def schedules_json(statuses: list[ScheduleStatus]) -> str:
    """`pulse due --list --format json`."""
    return json.dumps([{
        "report": s.report, "cron": s.cron, "timezone": s.timezone, "owed": list(s.owed),
        "owed_deliveries": s.owed_deliveries,
        "next_due": None if s.next_due is None else {"at": s.next_due.at.isoformat(),
                                                      "period": s.next_due.period.label},
        "last_success": None if s.last_success is None else {
            "period": s.last_success.period,
            "finished_at": s.last_success.finished_at.isoformat() if s.last_success.finished_at else None},
    } for s in statuses], indent=2)
