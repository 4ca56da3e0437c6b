"""The report archive: earlier manifests, restated figures, reports/index.html.

A re-run of an already reported period compares its KPI values with the
previous manifest of that report and period; changed figures are restatements,
shown in the report and recorded in the new manifest. After every run
`reports/index.html` lists every report and period built, newest first.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from pipeline.kpis.comparisons import KpiResult

TOLERANCE = 1e-9


@dataclass(frozen=True)
class Restatement:
    kpi_id: str
    title: str
    old: float | None
    new: float | None


@dataclass(frozen=True)
class IndexLink:
    name: str
    href: str  # relative to reports/


@dataclass(frozen=True)
class IndexEntry:
    """One row of reports/index.html."""

    report: str
    period: str
    built_at: str
    links: tuple[IndexLink, ...]


@dataclass(frozen=True)
class ArchivedReport:
    report: str
    period: str
    folder: Path
    built_at: str
    files: tuple[str, ...]


def previous_manifest(folder: Path) -> dict | None:
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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


def archived_reports(output_dir: Path) -> list[ArchivedReport]:
    """Every built report and period, newest period first."""
    found = []
    for manifest_path in output_dir.glob("*/*/manifest.json"):
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        folder = manifest_path.parent
        files = tuple(sorted(p.name for p in folder.iterdir() if p.suffix in (".html", ".pdf")))
        found.append(ArchivedReport(folder.parent.name, folder.name, folder, str(manifest.get("built_at", "")), files))
    found.sort(key=lambda a: (a.period, a.report), reverse=True)
    return found
