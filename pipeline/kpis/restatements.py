"""Restatements: KPI values that differ from what an earlier build reported for the same period."""

from __future__ import annotations

import math
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


def restatements(previous: dict | None, results: list[KpiResult], segment: str | None = None) -> list[Restatement]:
    """KPI values that differ from what the previous run reported for this period."""
    if not previous:
        return []
    old_values = previous.get("kpis", {})
    if segment is not None:
        old_values = previous.get("segments", {}).get(segment, {}).get("kpis", {})
    found = []
    for result in results:
        old = old_values.get(result.kpi_id)
        if old is None:
            continue
        if _differs(old.get("value"), result.value):
            found.append(Restatement(result.kpi_id, result.title, old.get("value"), result.value))
    return found


