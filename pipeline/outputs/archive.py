"""The report archive: the manifests of reports built earlier, and every version that was sent.

A re-run of an already reported period reads the previous manifest of that
report and period (its KPI values are compared for restatements, see
`pipeline.kpis.restatements`); `archived_reports` lists every report and
period built, for reports/index.html.

`reports/<report>/<period>/sent/` keeps every version that went out by email,
hash-addressed: `<sha256>.pdf` (the PDF, named by the sha256 the delivery
ledger records) and `<sha256>.manifest.json` (the manifest it was sent from:
the figures the recipients got). Files are written before the message data
is sent, never changed, and carried over when the period is rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .manifest import MANIFEST, Manifest, ManifestError
from .publish import write_atomically

SENT = "sent"


@dataclass(frozen=True)
class ArchivedReport:
    report: str
    period: str
    folder: Path
    built_at: str
    files: tuple[str, ...]


def previous_manifest(folder: Path) -> Manifest | None:
    """The manifest of the report built earlier in `folder`; None when there is none or it cannot be read."""
    return _readable_manifest(folder / MANIFEST)


def _readable_manifest(path: Path) -> Manifest | None:
    """The manifest at `path`; None when there is none or it cannot be read."""
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


def sent_pdf_path(folder: Path, sha256: str) -> Path:
    return folder / SENT / f"{sha256}.pdf"


def sent_manifest_path(folder: Path, sha256: str) -> Path:
    return folder / SENT / f"{sha256}.manifest.json"


def keep_sent(folder: Path, pdf: bytes, pdf_sha256: str, manifest: bytes, manifest_sha256: str,
              staging: Path) -> None:
    """Archive the PDF and the manifest of a version about to be sent (once: the names are their hashes)."""
    for path, content in ((sent_pdf_path(folder, pdf_sha256), pdf),
                          (sent_manifest_path(folder, manifest_sha256), manifest)):
        if not path.is_file():
            write_atomically(path, content, staging)


def sent_manifest(folder: Path, sha256: str) -> Manifest | None:
    """The manifest a version was sent from; None when it is not archived (or not readable)."""
    return _readable_manifest(sent_manifest_path(folder, sha256)) if sha256 else None


def sent_pdf(folder: Path, sha256: str) -> bytes | None:
    """The PDF of a sent version; None when it is not archived."""
    path = sent_pdf_path(folder, sha256)
    return path.read_bytes() if sha256 and path.is_file() else None
