"""Restatements: KPI values that differ from what an earlier build first reported for the same period.

The reference is the value first reported: a restatement found by one build
stays on record in every later build of that period (carried in the manifest),
with the value first reported and when, until the figure is back to that value.
"""

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
    old: float | None  # the value first reported
    new: float | None
    reported_at: str = ""  # when `old` was reported (ISO time of that build), "" when unknown


@dataclass(frozen=True)
class Reported:
    """A KPI value as an earlier build reported it."""

    value: float | None
    reported_at: str


def differs(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return (old is None) != (new is None)
    return not math.isclose(old, new, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def restatements(reported: Mapping[str, float | None], results: Sequence[KpiResult],
                 on_record: Mapping[str, Reported] | None = None, reported_at: str = "") -> list[Restatement]:
    """KPI values that differ from what was first reported for the same period.

    `reported`: KPI id -> value of the previous build (built at `reported_at`);
    `on_record`: restatements the previous build carried (KPI id -> the value
    first reported), which stay the reference. A KPI no earlier build reported
    is not a restatement.
    """
    found = []
    earlier = on_record or {}
    for result in results:
        if result.kpi_id in earlier:
            first = earlier[result.kpi_id]
        elif result.kpi_id in reported:
            first = Reported(reported[result.kpi_id], reported_at)
        else:
            continue
        if differs(first.value, result.value):
            found.append(Restatement(result.kpi_id, result.title, first.value, result.value, first.reported_at))
    return found
