"""config/kpis.yaml: each KPI's title, query, unit, direction, fill, target and thresholds."""

from __future__ import annotations

import re
from enum import Enum
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from .base import Invalid, Strict

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Unit(str, Enum):
    COUNT = "count"
    NUMBER = "number"
    CURRENCY = "currency"
    PERCENT = "percent"
    DURATION = "duration"


class Direction(str, Enum):
    UP = "up"
    DOWN = "down"
    NEUTRAL = "neutral"


class Thresholds(Strict):
    good: float
    warn: float


class KpiConfig(Strict):
    title: str
    description: str = ""
    query: str | None = None
    # the query's column holding this KPI's value; KPIs naming different columns of one query share its execution
    value: str = "value"
    sample: str = "sample_size"  # the column counting the value's observations
    # the query's dimension columns this KPI is broken down by (None: every one it returns; []: company-wide only)
    dimensions: list[str] | None = None
    unit: Unit = Unit.NUMBER
    decimals: int = Field(default=0, ge=0, le=6)
    direction: Direction = Direction.UP
    fill: Literal["zero", "null"] = "null"
    target: float | dict[str, float] | None = None
    thresholds: Thresholds | None = None
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    anomaly_sigma: float | None = Field(default=3.0, gt=0)  # flag values this many std devs off their history
    min_sample: int | None = Field(default=None, ge=1)  # fewer observations (the query's sample_size): "low sample"

    @field_validator("value", "sample")
    @classmethod
    def _column_name(cls, name: str) -> str:
        """A column of the query, named as SQL returns it (AS name)."""
        if not re.match(IDENTIFIER, name) or name.lower() == "period":
            raise Invalid(f"'{name}' is not a column name a KPI can take" if name.lower() != "period" else
                          "'period' is the period column, not a value",
                          "name the query's column (letters, digits and _, not starting with a digit), as in "
                          "'... AS orders'; see docs/configuration.md 'The KPI query contract'")
        return name

    @field_validator("dimensions")
    @classmethod
    def _dimension_names(cls, names: list[str] | None) -> list[str] | None:
        """Columns of the query, each named once; never the period."""
        for name in names or []:
            if not re.match(IDENTIFIER, name) or name.lower() == "period":
                raise Invalid(f"'{name}' is not a dimension column a KPI can be broken down by",
                              "name the query's dimension column (letters, digits and _, as in '... AS region'), or "
                              "write dimensions: [] for company-wide figures only; see docs/configuration.md "
                              "'The KPI query contract'")
        lowered = [n.lower() for n in names or []]
        if len(set(lowered)) != len(lowered):
            raise Invalid("a dimension is listed twice", "list each dimension column once")
        return names

    @field_validator("thresholds")
    @classmethod
    def _thresholds_fit_direction(cls, value: Thresholds | None, info: ValidationInfo) -> Thresholds | None:
        """good and warn read the way the direction says, else a value would show green when it is not."""
        direction = info.data.get("direction")
        if value is None or direction is None:
            return value
        good, warn = value.good, value.warn
        if direction is Direction.NEUTRAL:
            raise Invalid("thresholds have no effect with direction: neutral (a neutral KPI has no health)",
                          "set direction: up or down, or remove the thresholds")
        if direction is Direction.UP and good < warn:
            raise Invalid(f"good ({good:g}) is below warn ({warn:g}), which reads as 'lower is better', but the "
                          f"direction is up (the default), so every value from {good:g} up would show green",
                          "set direction: down if lower is better, else swap good and warn")
        if direction is Direction.DOWN and good > warn:
            raise Invalid(f"good ({good:g}) is above warn ({warn:g}), which reads as 'higher is better', but the "
                          f"direction is down, so every value up to {good:g} would show green",
                          "set direction: up if higher is better, else swap good and warn")
        return value


class KpisFile(Strict):
    kpis: dict[str, KpiConfig] = Field(min_length=1)
