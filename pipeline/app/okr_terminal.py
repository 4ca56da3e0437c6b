"""`pulse okrs` output: the objective -> key result tree as a table or JSON."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from pipeline.config.project import ProjectConfig
from pipeline.report.okr_section import okr_section
from pipeline.okrs.cycles import CycleResult
from pipeline.core.periods import Period

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
                        "note": k.note or None,
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
                       config.okrs.status)
