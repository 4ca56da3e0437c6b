"""KPI anomalies: a value far outside its own history (more than `anomaly_sigma` standard deviations
from the mean of the previous periods) is a warning in the report, like a data-quality check."""

from __future__ import annotations

import statistics
from collections.abc import Mapping

from pipeline.checks.source_checks import CheckResult
from pipeline.config import KpiConfig

from .comparisons import KpiResult

MIN_HISTORY_FOR_ANOMALY = 6


def kpi_anomalies(results: list[KpiResult], kpis: Mapping[str, KpiConfig]) -> list[CheckResult]:
    """Flag KPI values far outside their own history (warnings for the report)."""
    out = []
    for result in results:
        sigma = kpis[result.kpi_id].anomaly_sigma
        history = [p.value for p in result.series[:-1] if p.value is not None]
        if sigma is None or result.value is None or len(history) < MIN_HISTORY_FOR_ANOMALY:
            continue
        mean = statistics.fmean(history)
        spread = statistics.pstdev(history)
        if spread == 0:
            continue
        z = (result.value - mean) / spread
        ok = abs(z) <= sigma
        out.append(CheckResult(f"kpi:{result.kpi_id}", "anomaly", "warn", ok,
                               f"{result.title} is {abs(z):.1f} standard deviations "
                               f"{'above' if z > 0 else 'below'} its {len(history)}-period average",
                               {"z": round(z, 2), "mean": mean, "stdev": spread}))
    return out
