"""OKR configuration (config/okrs.yaml): cycles, objectives, key results.

```yaml
status: {on_track: 0.10, at_risk: 0.25}     # pace thresholds (optional)
checkins: checkins/okr_checkins.yaml          # YAML or CSV (optional)
cycles:
  2026-Q4:                                    # a quarter label gives the dates...
    start: 2026-10-01                         # ...or give them (end is inclusive)
    end: 2026-12-31
    objectives:
      delight_customers:
        title: Improve customer satisfaction
        owner: Head of Support
        key_results:
          csat_up:
            title: Lift CSAT to 4.3
            kpi: csat
            type: increase_to
            baseline: auto                    # KPI value in the period before the cycle
            target: 4.3
            aggregation: latest               # latest | sum | avg
            weight: 2
```
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import Enum
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from pipeline.core.periods import Calendar, Grain

from .base import Invalid, Strict


class KrType(str, Enum):
    INCREASE_TO = "increase_to"
    DECREASE_TO = "decrease_to"
    STAY_ABOVE = "stay_above"
    STAY_BELOW = "stay_below"
    MILESTONE = "milestone"


class Aggregation(str, Enum):
    LATEST = "latest"
    SUM = "sum"
    AVG = "avg"


class KeyResultConfig(Strict):
    title: str
    owner: str = ""
    description: str = ""
    kpi: str | None = None
    type: KrType
    baseline: float | Literal["auto"] | None = None
    target: float | None = None
    aggregation: Aggregation = Aggregation.LATEST
    weight: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _needs(self) -> "KeyResultConfig":
        if self.type is not KrType.MILESTONE:
            if self.kpi is None:
                raise ValueError(f"a {self.type.value} key result needs 'kpi'")
            if self.target is None:
                raise ValueError(f"a {self.type.value} key result needs a numeric 'target'")
        return self


class ObjectiveConfig(Strict):
    title: str
    owner: str = ""
    description: str = ""
    key_results: dict[str, KeyResultConfig] = Field(min_length=1)


class CycleConfig(Strict):
    start: date | None = None
    end: date | None = None  # inclusive, as people write it
    objectives: dict[str, ObjectiveConfig] = Field(min_length=1)

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if value is not None and start is not None and value < start:
            raise Invalid(f"the cycle ends ({value.isoformat()}) before it starts ({start.isoformat()})",
                          "swap start and end, or correct the year (end is the cycle's last day)")
        return value

    @model_validator(mode="after")
    def _both_dates(self) -> "CycleConfig":
        if (self.start is None) != (self.end is None):
            given = "start" if self.start is not None else "end"
            raise Invalid(f"the cycle has {given} but no {'end' if given == 'start' else 'start'}",
                          "give both dates (end inclusive), or neither and name the cycle like 2026-Q4")
        return self


class StatusThresholds(Strict):
    on_track: float = Field(default=0.10, ge=0, le=1)
    at_risk: float = Field(default=0.25, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> "StatusThresholds":
        if self.at_risk < self.on_track:
            raise ValueError("at_risk must be at least on_track")
        return self


class OkrsFile(Strict):
    status: StatusThresholds = StatusThresholds()
    checkins: str | None = None
    cycles: dict[str, CycleConfig] = Field(min_length=1)


def cycle_dates(name: str, cycle: CycleConfig, fiscal_year_start: int = 1) -> tuple[date, date] | None:
    """(start, end exclusive) of a cycle: its dates, or its (fiscal) quarter / year label."""
    if cycle.start is not None and cycle.end is not None:
        return cycle.start, cycle.end + timedelta(days=1)
    for grain in (Grain.QUARTER, Grain.YEAR):
        calendar = Calendar(grain, fiscal_year_start)
        if re.fullmatch(r"\d{4}-[Qq][1-4]" if grain is Grain.QUARTER else r"\d{4}", name):
            period = calendar.parse(name, date.today())  # a label: today plays no part
            return period.start, period.end
    return None
