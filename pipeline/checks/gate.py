"""The data-quality gate: the checks of a report's sources for its period; a failed `fail` check stops the run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from pipeline.config import ProjectConfig
from pipeline.core.engine import Engine
from pipeline.core.errors import CheckFailed
from pipeline.core.periods import Calendar, Period
from pipeline.sources.coverage import SourceRange

from .source_checks import CheckResult, rejects_check, run_source_checks


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
