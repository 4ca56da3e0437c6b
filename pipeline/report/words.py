"""The words the report and the terminal share: a KPI's health, the company-wide mark, the low-sample note
and a check's outcome, numbers in the report's locale.

Small on purpose: `pulse kpis` and `pulse okrs` print these without loading the report's context builder.
"""

from __future__ import annotations

from pipeline.checks.source_checks import CheckResult
from pipeline.kpis.comparisons import Health, KpiResult

from .formatting import LocaleWords

HEALTH_LABELS = {
    Health.GREEN: "On track",
    Health.AMBER: "Watch",
    Health.RED: "Off track",
    Health.NONE: "—",
}
COMPANY_WIDE = "company-wide"
LOW_SAMPLE = "low sample"


def sample_note(result: KpiResult, locale: str) -> str:
    """"low sample: 23 (min. 30)" when the value rests on too few observations, else ""."""
    if not result.low_sample:
        return ""
    words = LocaleWords(locale)
    return f"{LOW_SAMPLE}: {words.count(result.sample or 0)} (min. {words.count(result.min_sample or 0)})"


def check_text(check: CheckResult, locale: str) -> str:
    """A check's outcome in words, its numbers in the report's locale."""
    return check.text(LocaleWords(locale))
