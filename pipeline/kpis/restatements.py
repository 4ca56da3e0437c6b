"""Restatements: KPI values that differ from what an earlier build reported for the same period."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .comparisons import KpiResult

TOLERANCE = 1e-9


@dataclass(frozen=True)
class Restatement:
    kpi_id: str
    title: str
    old: float | None
    new: float | None


def _differs(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return (old is None) != (new is None)
    return not math.isclose(old, new, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def restatements(reported: Mapping[str, float | None], results: Sequence[KpiResult]) -> list[Restatement]:
    """KPI values that differ from what an earlier build `reported` for the same period (KPI id -> value;
    a KPI it did not report is not a restatement)."""
    found = []
    for result in results:
        if result.kpi_id not in reported:
            continue
        old = reported[result.kpi_id]
        if _differs(old, result.value):
            found.append(Restatement(result.kpi_id, result.title, old, result.value))
    return found


