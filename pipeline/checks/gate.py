"""The data-quality gate: every source check for a report period; a failed `fail` check stops the run."""

from __future__ import annotations

from datetime import date

import duckdb

from pipeline.config import ProjectConfig
from pipeline.core.errors import CheckFailed
from pipeline.core.periods import Calendar, Period

from .source_checks import CheckResult, rejects_check, run_source_checks


def quality_gate(con: duckdb.DuckDBPyConnection, config: ProjectConfig, calendar: Calendar, period: Period,
                 today: date, cache=None) -> list[CheckResult]:
    """Run the source checks; a failed `fail` check stops the run (exit code 1)."""
    results = run_source_checks(con, config, calendar, period, today, cache) + rejects_check(con, config)
    failed = [c for c in results if c.failed]
    if failed:
        raise CheckFailed(
            f"data-quality gate failed for {period.label}: {len(failed)} check(s) failed; nothing was rendered or sent",
            "fix the exports or adjust the checks in config/sources.yaml (see docs/configuration.md 'Data-quality gate'); "
            "'pulse check' runs the gate alone",
            details=[f"{c.scope}: {c.name}: {c.message}" for c in failed],
        )
    return results
