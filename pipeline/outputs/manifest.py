"""manifest.json: what a run used and produced.

Input files and their hashes, the config hash, every KPI value, every OKR
score, check results, restated figures, output hashes, timings and versions.
No secrets: only config hashes, never config values.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata
from pathlib import Path

from pipeline.checks.source_checks import CheckResult
from pipeline.core.files import OutputFile
from pipeline.core.periods import Period
from pipeline.kpis.comparisons import KpiResult
from pipeline.kpis.restatements import Restatement
from pipeline.okrs.cycles import CycleResult
from pipeline.sources.ingest import IngestReport


@dataclass(frozen=True)
class RunRecord:
    """The facts of one run that go into its manifest."""

    report: str
    period: Period
    built_at: datetime
    data_as_of: date | None
    ingest: IngestReport
    results: list[KpiResult]
    okr: CycleResult | None
    checks: list[CheckResult]
    restatements: list[Restatement]
    timings: dict[str, float]


def config_hash(root: Path) -> str:
    digest = hashlib.sha256()
    config_dir, queries = root / "config", root / "queries"
    for path in sorted(config_dir.rglob("*.yaml")) + sorted(queries.rglob("*.sql")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def kpi_values(results: list[KpiResult]) -> dict:
    return {
        r.kpi_id: {"value": r.value, "previous": r.previous, "last_year": r.last_year, "target": r.target,
                   "health": r.health.value}
        for r in results
    }


def okr_scores(okr: CycleResult | None) -> dict | None:
    if okr is None:
        return None
    return {
        "cycle": okr.name,
        "expected": okr.expected,
        "final": okr.final,
        "objectives": {
            o.objective_id: {
                "score": o.score,
                "status": o.status.value,
                "key_results": {
                    k.kr_id: {"baseline": k.baseline, "current": k.current, "attainment": k.attainment,
                              "score": k.score, "expected": k.expected, "status": k.status.value}
                    for k in o.key_results
                },
            }
            for o in okr.objectives
        },
    }


def build_manifest(root: Path, record: RunRecord, files: list[OutputFile], segments: dict | None = None) -> dict:
    period = record.period
    return {
        "report": record.report,
        "period": {"label": period.label, "start": period.start, "end_exclusive": period.end},
        "built_at": record.built_at.isoformat(timespec="seconds"),
        "data_as_of": record.data_as_of,
        "inputs": [
            {"source": f.source, "path": f.path, "sha256": f.sha256, "rows": f.rows, "rejected": f.rejected,
             "skipped_header_lines": f.skipped_headers, "skipped_blank_lines": f.skipped_blank}
            for f in record.ingest.files
        ],
        "config_sha256": config_hash(root),
        "kpis": kpi_values(record.results),
        "okrs": okr_scores(record.okr),
        "segments": segments or {},
        "checks": [
            {"scope": c.scope, "check": c.name, "severity": c.severity, "passed": c.passed,
             "message": c.message, "numbers": c.numbers}
            for c in record.checks
        ],
        "restated": [{"kpi": r.kpi_id, "old": r.old, "new": r.new} for r in record.restatements],
        "outputs": {f.name: hashlib.sha256(f.content).hexdigest() for f in files},
        "timings_seconds": record.timings,
        "versions": versions(),
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("pulse-reports", "duckdb", "polars", "jinja2", "weasyprint", "matplotlib", "babel"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "unknown"
    return found
