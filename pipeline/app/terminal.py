"""Terminal output: progress on a terminal (quiet in cron) and KPI tables."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from pipeline.checks.source_checks import CheckResult
from pipeline.kpis.comparisons import KpiResult
from pipeline.report.context import HEALTH_LABELS
from pipeline.report.formatting import NumberStyle, format_change, format_relative, format_value
from pipeline.core.periods import Period

HEALTH_STYLES = {"green": "green", "amber": "yellow", "red": "red", "none": "dim"}


def progress_printer():
    """A progress callback: prints steps on an interactive stderr, nothing otherwise."""
    if not sys.stderr.isatty():
        return lambda _message: None
    console = Console(stderr=True)

    def show(message: str) -> None:
        console.print(f"[dim]› {message}[/dim]")

    return show


def print_kpi_table(results: list[KpiResult], period: Period, locale: str, currency: str) -> None:
    """The KPI table: value, change vs previous period and last year, target, health."""
    table = Table(title=f"KPIs for {period.label}", title_justify="left")
    for heading, justify in (("KPI", "left"), ("Value", "right"), ("vs prev.", "right"), ("%", "right"),
                             ("vs last year", "right"), ("Target", "right"), ("Health", "left")):
        table.add_column(heading, justify=justify)
    for r in results:
        style = NumberStyle(r.unit, r.decimals, locale, currency)
        table.add_row(
            r.title,
            format_value(r.value, style),
            format_change(r.change_abs, style),
            format_relative(r.change_rel, locale),
            format_relative(r.yoy_rel, locale),
            "—" if r.target is None else format_value(r.target, style),
            f"[{HEALTH_STYLES[r.health.value]}]{HEALTH_LABELS[r.health]}[/]",
        )
    Console(width=max(100, Console().width)).print(table)


def print_checks(results: list[CheckResult], period: Period) -> None:
    """Every data-quality check with its outcome and numbers."""
    table = Table(title=f"Data-quality checks for {period.label}", title_justify="left")
    for heading in ("Source", "Check", "Severity", "Result", "Details"):
        table.add_column(heading)
    for c in results:
        outcome = "[green]passed[/]" if c.passed else "[yellow]warning[/]" if c.warning else "[red]failed[/]"
        table.add_row(c.scope, c.name, c.severity, outcome, c.message)
    Console(width=max(120, Console().width)).print(table)
