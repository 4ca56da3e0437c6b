"""reports/index.html: every report and period built, newest first, with links."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import ProjectConfig
from pipeline.report.render import render_template

from .archive import archived_reports
from .publish import write_atomically


@dataclass(frozen=True)
class IndexLink:
    name: str
    href: str  # relative to reports/


@dataclass(frozen=True)
class IndexContext:
    """What reports/index.html shows: the company and every report built, newest period first."""

    company: str
    entries: tuple[IndexEntry, ...]


@dataclass(frozen=True)
class IndexEntry:
    """One row of reports/index.html."""

    report: str
    period: str
    built_at: str
    links: tuple[IndexLink, ...]


def write_index(config: ProjectConfig, staging: Path) -> None:
    """reports/index.html: every report and period built, newest first."""
    entries = []
    for archived in archived_reports(config.output_dir):
        links = [IndexLink(f, f"{archived.report}/{archived.period}/{f}") for f in archived.files]
        entries.append(IndexEntry(archived.report, archived.period, archived.built_at, tuple(links)))
    html = render_template(config.templates_dir, "index.html.j2", IndexContext(config.project.company, tuple(entries)))
    write_atomically(config.output_dir / "index.html", html.encode("utf-8"), staging)
