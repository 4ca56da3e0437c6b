"""config/kpis.yaml: each KPI's title, query, unit, direction, fill, target and thresholds."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import Field

from .base import Strict

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
    unit: Unit = Unit.NUMBER
    decimals: int = Field(default=0, ge=0, le=6)
    direction: Direction = Direction.UP
    fill: Literal["zero", "null"] = "null"
    target: float | dict[str, float] | None = None
    thresholds: Thresholds | None = None
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    anomaly_sigma: float | None = Field(default=3.0, gt=0)  # flag values this many std devs off their history
    min_sample: int | None = Field(default=None, ge=1)  # fewer observations (the query's sample_size): "low sample"


class KpisFile(Strict):
    kpis: dict[str, KpiConfig] = Field(min_length=1)
