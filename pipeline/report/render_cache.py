"""Rendered PDFs kept by what they were rendered from, so a rerun does not lay out an unchanged page again.

Laying out a PDF is by far the slowest step of a run (WeasyPrint, about a
second a page set); the HTML it lays out is quick to build. A PDF depends on
exactly: the HTML (the frozen report context laid out by the template, with
the CSS and theme inlined), every file the HTML may load relative to the
templates (report_templates/ and the built-in templates: CSS, fonts, images),
the PDF variant, and the versions of Pulse and the renderer (WeasyPrint,
pydyf, fontTools). The SHA-256 of all of these is the PDF's name in
`<workdir>/render-cache/` (`.pulse/render-cache/` by default). A run asks the
cache before it lays out a PDF; any change to a figure, a word, a template,
the theme, a font file or the renderer is another name, and so a fresh
layout. Fonts installed on the system (not in report_templates/) are not part
of the key, nor are system libraries (Pango): after changing them, run once with `pulse run --no-cache`.

Entries are written to a temporary file and renamed, so a reader never sees
half a PDF; an entry is touched when it is used and entries unused for
`KEEP_DAYS` days are removed at the end of a run. `--no-cache` reads nothing
from the cache (every PDF is laid out) but stores what it renders.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

KEEP_DAYS = 30
RENDERER_PACKAGES = ("pulse-reports", "weasyprint", "pydyf", "fonttools", "tinycss2", "cssselect2", "pillow")


@dataclass
class RenderCache:
    """PDFs by the hash of what they were rendered from; counts what it reused in this run."""

    folder: Path
    read: bool = True  # False (--no-cache): lay out every PDF, still store the results
    reused: int = 0
    rendered: int = 0
    _assets: dict[tuple[str, ...], str] = field(default_factory=dict)

    def key(self, html: str, asset_dirs: tuple[Path, ...], variant: str, renderer: str) -> str:
        """The name of the PDF rendered from `html` with these assets, variant and renderer."""
        digest = hashlib.sha256()
        for part in (renderer, variant, renderer_versions(), self._assets_hash(asset_dirs)):
            digest.update(part.encode("utf-8") + b"\0")
        digest.update(html.encode("utf-8"))
        return digest.hexdigest()

    def get(self, key: str) -> bytes | None:
        if not self.read:
            return None
        path = self.folder / f"{key}.pdf"
        try:
            content = path.read_bytes()
        except OSError:
            return None
        if not content.startswith(b"%PDF-"):
            return None  # not a PDF: never written so, never trusted either
        try:
            os.utime(path)
        except OSError:
            pass
        self.reused += 1
        return content

    def put(self, key: str, content: bytes) -> None:
        """Store a PDF atomically (temporary file, then rename); a cache that cannot be written is skipped."""
        self.rendered += 1
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                os.replace(temporary, self.folder / f"{key}.pdf")
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError:
            pass  # the report is right without the cache; the next run renders again

    def prune(self, now: float | None = None) -> None:
        """Remove entries unused for KEEP_DAYS days, and leftovers of interrupted writes."""
        limit = (now or time.time()) - KEEP_DAYS * 86400
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            try:
                stale = path.stat().st_mtime < limit
                if stale or (path.name.endswith(".part") and path.stat().st_mtime < (now or time.time()) - 3600):
                    path.unlink()
            except OSError:
                continue

    def _assets_hash(self, folders: tuple[Path, ...]) -> str:
        names = tuple(str(f) for f in folders)
        if names not in self._assets:
            self._assets[names] = assets_fingerprint(folders)
        return self._assets[names]


def assets_fingerprint(folders: tuple[Path, ...]) -> str:
    """A hash of every file under `folders` (relative path and content): templates, CSS, fonts, images."""
    digest = hashlib.sha256()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(folder)).encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        digest.update(b"\1")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def renderer_versions() -> str:
    """Pulse's and the renderer's package versions (read from their metadata: no import)."""
    parts = []
    for package in RENDERER_PACKAGES:
        try:
            parts.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{package}=?")
    return ";".join(parts)
