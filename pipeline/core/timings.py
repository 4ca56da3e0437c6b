"""Seconds spent per stage of a run, for the manifest and the benchmarks."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Timings:
    """Seconds spent per stage, in the order the stages ran."""

    stages: dict[str, float] = field(default_factory=dict)

    def measure(self, name: str, started: float) -> None:
        self.stages[name] = round(time.perf_counter() - started, 3)

    def add(self, name: str, started: float) -> None:
        self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - started, 3)
