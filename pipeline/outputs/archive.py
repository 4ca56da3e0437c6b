"""The report archive: the manifests of reports built earlier.

A re-run of an already reported period reads the previous manifest of that
report and period (its KPI values are compared for restatements, see
`pipeline.kpis.restatements`); `archived_reports` lists every report and
period built, for reports/index.html.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .manifest import MANIFEST, Manifest, ManifestError


@dataclass(frozen=True)
class ArchivedReport:
    report: str
    period: str
    folder: Path
    built_at: str
    files: tuple[str, ...]


def previous_manifest(folder: Path) -> Manifest | None:
    """The manifest of the report built earlier in `folder`; None when there is none or it cannot be read."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        return Manifest.read(path)
    except ManifestError:
        return None


def archived_reports(output_dir: Path) -> list[ArchivedReport]:
    """Every built report and period, newest period first."""
    found = []
    for manifest_path in output_dir.glob(f"*/*/{MANIFEST}"):
        try:
            manifest = Manifest.read(manifest_path)
        except ManifestError:
            continue
        folder = manifest_path.parent
        files = tuple(sorted(p.name for p in folder.iterdir() if p.suffix in (".html", ".pdf")))
        found.append(ArchivedReport(folder.parent.name, folder.name, folder, manifest.built_at, files))
    found.sort(key=lambda a: (a.period, a.report), reverse=True)
    return found
