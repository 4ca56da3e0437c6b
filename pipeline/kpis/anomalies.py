"""KPI anomalies: a value far outside its own history (more than `anomaly_sigma` standard deviations
from the mean of the previous periods) is a warning in the report, like a data-quality check.

Values from a small sample (below the KPI's `min_sample`) are neither flagged nor part of the history
a value is measured against: they are too noisy to say that anything is unusual.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping

from pipeline.checks.source_checks import CheckResult
from pipeline.config import KpiConfig

from .comparisons import KpiResult

MIN_HISTORY_FOR_ANOMALY = 6
WORDING = "{kpi} is {sigmas:decimal} standard deviations {side} its {periods:count}-period average"


def kpi_anomalies(results: list[KpiResult], kpis: Mapping[str, KpiConfig]) -> list[CheckResult]:
    """Flag KPI values far outside their own history (warnings for the report)."""
    out = []
    for result in results:
        sigma = kpis[result.kpi_id].anomaly_sigma
        history = [p.value for p in result.series[:-1] if p.value is not None and not p.low_sample]
        if sigma is None or result.value is None or result.low_sample or len(history) < MIN_HISTORY_FOR_ANOMALY:
            continue
        mean = statistics.fmean(history)
        spread = statistics.pstdev(history)
        if spread == 0:
            continue
        z = (result.value - mean) / spread
        ok = abs(z) <= sigma
        title = f"{result.title} (company-wide)" if result.company_wide else result.title
        out.append(CheckResult(f"kpi:{result.kpi_id}", "anomaly", "warn", ok, WORDING,
                               {"z": round(z, 2), "mean": mean, "stdev": spread, "kpi": title,
                                "sigmas": round(abs(z), 1), "side": "above" if z > 0 else "below",
                                "periods": len(history)}))
    return out
