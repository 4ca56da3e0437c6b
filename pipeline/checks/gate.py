"""The data-quality gate: the checks of a report's sources for its period; a failed `fail` check stops the run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from pipeline.core.engine import Engine
from pipeline.core.errors import CheckFailed
from pipeline.core.periods import Calendar, Period
from pipeline.sources.coverage import SourceRange

from .coverage import PARTIAL, TO_DATE, PeriodCoverage
from .source_checks import CheckResult, rejects_check, run_source_checks

if TYPE_CHECKING:
    from pipeline.config import ProjectConfig


def run_checks(engine: Engine, config: ProjectConfig, calendar: Calendar, period: Period,
               today: date, cache=None, sources: Sequence[str] | None = None,
               ranges: Mapping[str, SourceRange] | None = None) -> list[CheckResult]:
    """The checks of `sources` (default: every source) for `period` on the project's engine, failed or not."""
    return (run_source_checks(engine, config, calendar, period, today, cache, sources, ranges)
            + rejects_check(engine.local, config, sources))


def quality_gate(engine: Engine, config: ProjectConfig, calendar: Calendar, period: Period,
                 today: date, cache=None, sources: Sequence[str] | None = None,
                 ranges: Mapping[str, SourceRange] | None = None) -> list[CheckResult]:
    """Run the checks of `sources` (a report's: the sources its KPIs read; default every source) on the
    project's engine; a failed `fail` check stops the run (exit code 1)."""
    results = run_checks(engine, config, calendar, period, today, cache, sources, ranges)
    failed = [c for c in results if c.failed]
    if failed:
        raise CheckFailed(
            f"data-quality gate failed for {period.label}: {len(failed)} check(s) failed; nothing was rendered or sent",
            "fix the exports or adjust the checks in config/sources.yaml (see docs/configuration.md 'Data-quality gate'); "
            "'pulse check' runs the gate alone",
            details=[f"{c.scope}: {c.name}: {c.message}" for c in failed],
        )
    return results


def warning_lines(failed: Sequence[CheckResult], coverage: Sequence[PeriodCoverage], period: Period) -> list[str]:
    """What an interactive command (`pulse kpis`, `okrs`, `query`) prints on stderr above its output: each
    failed `fail` check (what would stop `pulse run`), and how far the data reaches into a period the
    sources cover only partly (`coverage`)."""
    lines = [f"warning: {c.scope}: {c.name}: {c.message} ('pulse run' stops on this)" for c in failed]
    for c in coverage:
        if c.status == TO_DATE:
            lines.append(f"note: {period.label} is not over: {c.source} data reaches {c.last} (period to date)")
        elif c.status == PARTIAL:
            lines.append(f"note: {period.label} is partly covered: {c.source} data covers {c.range_text()}")
    return lines
