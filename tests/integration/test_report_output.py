"""The rendered report: PDF pages and text, HTML structure, atomic publish, determinism.

One report (monthly, 2026-10) is built per module with `runner.run_report`
on the demo project; the tests read its files.
"""

from __future__ import annotations

import io
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from pipeline.app import runner
from pipeline.config import load_project
from pipeline.core.errors import PulseError
from pipeline.report import render
from support.project import make_project

PERIOD = "2026-10"
HEALTH_CLASSES = {"green", "amber", "red", "none"}


@pytest.fixture(scope="module")
def report(tmp_path_factory, demo_exports) -> dict:
    project = make_project(tmp_path_factory.mktemp("report_output") / "project", demo_exports)
    result = runner.run_report(project, "monthly", PERIOD)
    folder = project / "reports" / "monthly" / PERIOD
    config = load_project(project)
    return {
        "project": project,
        "result": result,
        "folder": folder,
        "html": (folder / "monthly.html").read_bytes(),
        "pdf": (folder / "monthly.pdf").read_bytes(),
        "config": config,
        "kpi_ids": list(config.reports["monthly"].kpis),
    }


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# -- PDF ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pdf(report) -> PdfReader:
    return PdfReader(io.BytesIO(report["pdf"]))


@pytest.fixture(scope="module")
def pdf_pages(pdf) -> list[str]:
    return [page.extract_text() for page in pdf.pages]


def test_pdf_pages_are_a4(pdf) -> None:
    # cover + contents, key figures, OKRs, trends, methodology and checks
    # appendices: 9 pages for the demo. The bound catches a layout blow-up.
    assert 4 <= len(pdf.pages) <= 12
    for page in pdf.pages:
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_pdf_title_block(pdf_pages, pdf) -> None:
    first = pdf_pages[0]
    # the company line is upper-cased by CSS on page 1; the running title keeps its case
    assert "nordlys kaffe aps" in first.lower()
    assert "Nordlys Kaffe ApS" in "\n".join(pdf_pages)
    assert "Monthly business review" in first
    assert "October 2026" in first
    assert re.search(r"Data as of (\d{1,2} \w+|\w+ \d{1,2},) 2026", first), first[:400]
    assert pdf.metadata.title == "Nordlys Kaffe ApS · Monthly business review · October 2026"


def test_pdf_lists_every_kpi_and_the_revenue_value(pdf_pages, report) -> None:
    text = " ".join(" ".join(pdf_pages).split())  # long titles wrap inside table cells
    for kpi_id in report["kpi_ids"]:
        title = report["config"].kpis[kpi_id].title
        # the KPI table row, its trend card and its methodology entry
        assert text.count(title) >= 3, title
    revenue = next(r for r in report["result"].kpis if r.kpi_id == "revenue")
    # the demo project formats numbers for en_DK: "444.068 kr."
    expected = f"{round(revenue.value):,}".replace(",", ".") + " kr."  # the no-break space was normalised
    assert re.search(r"Revenue " + re.escape(expected) + r" ", text), text[:1500]


def test_pdf_footer_numbers_pages(pdf_pages) -> None:
    total = len(pdf_pages)
    for number, text in enumerate(pdf_pages, start=1):
        assert f"Page {number} of {total}" in text


# -- HTML --------------------------------------------------------------------------
class ReportStructure(HTMLParser):
    """KPI rows, their health cells and the trend cards' SVG charts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []  # tr.kpi: id, data-kpi, cells
        self.trends: dict[str, int] = {}  # article.trend id -> number of SVG images (charts)
        self._row: dict | None = None
        self._trend: str | None = None
        self._depth = 0  # nesting inside the current article
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "tr" and "kpi" in classes:
            self._row = {"id": a.get("id"), "data-kpi": a.get("data-kpi"), "cells": []}
            self.rows.append(self._row)
        elif tag == "td" and self._row is not None:
            self._cell = {"classes": classes, "text": ""}
            self._row["cells"].append(self._cell)
        elif tag == "article" and "trend" in classes:
            self._trend = a.get("id")
            self.trends[self._trend] = 0
            self._depth = 0
        if self._trend is not None:
            if tag == "img" and (a.get("src") or "").startswith("data:image/svg+xml;base64,") and a.get("alt"):
                self.trends[self._trend] += 1
            if tag == "article":
                self._depth += 1

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None
        if self._trend is not None and tag == "article":
            self._depth -= 1
            if self._depth == 0:
                self._trend = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


@pytest.fixture(scope="module")
def structure(report) -> ReportStructure:
    parser = ReportStructure()
    parser.feed(report["html"].decode("utf-8"))
    parser.close()
    return parser


def test_html_has_one_kpi_row_per_configured_kpi(structure, report) -> None:
    ids = report["kpi_ids"]
    assert [row["data-kpi"] for row in structure.rows] == ids
    assert [row["id"] for row in structure.rows] == [f"kpi-{i}" for i in ids]
    titles = [row["cells"][0]["text"].strip() for row in structure.rows]
    assert titles == [report["config"].kpis[i].title for i in ids]


def test_html_health_classes(structure, report) -> None:
    expected = {r.kpi_id: r.health.value for r in report["result"].kpis}
    seen = set()
    for row in structure.rows:
        health_cells = [c for c in row["cells"] if "health" in c["classes"]]
        assert len(health_cells) == 1, row
        marks = [c.removeprefix("health-") for c in health_cells[0]["classes"] if c.startswith("health-")]
        assert len(marks) == 1 and marks[0] in HEALTH_CLASSES, health_cells[0]
        assert marks[0] == expected[row["data-kpi"]]
        seen.add(marks[0])
    assert len(seen) >= 2  # the demo month has both on-track and off-track KPIs


def test_html_values_match_the_figures(structure, report) -> None:
    revenue_row = next(r for r in structure.rows if r["data-kpi"] == "revenue")
    value_cell = next(c for c in revenue_row["cells"] if "value" in c["classes"])
    revenue = next(r for r in report["result"].kpis if r.kpi_id == "revenue")
    assert value_cell["text"] == f"{round(revenue.value):,}".replace(",", ".") + "\u00a0kr."  # en_DK


def test_html_has_a_trend_svg_per_kpi(structure, report) -> None:
    assert structure.trends == {f"trend-{i}": 1 for i in report["kpi_ids"]}


def test_html_is_self_contained(report) -> None:
    html = report["html"].decode("utf-8")
    assert "<link" not in html and "<script" not in html
    assert '<meta name="pulse-period" content="2026-10">' in html


# -- atomic publish and determinism ------------------------------------------------
def test_failed_pdf_render_leaves_the_previous_report_untouched(report, monkeypatch) -> None:
    reports = report["project"] / "reports"
    before = snapshot(reports)
    assert sorted(before) == ["index.html", "monthly/2026-10/manifest.json", "monthly/2026-10/monthly.html",
                              "monthly/2026-10/monthly.pdf"]
    calls = []

    def broken_pdf(html: str, templates_dir: Path, *_variant) -> bytes:
        calls.append(len(html))
        raise RuntimeError("PDF engine crashed")

    monkeypatch.setattr(render, "render_pdf", broken_pdf)
    with pytest.raises(RuntimeError, match="PDF engine crashed"):
        runner.run_report(report["project"], "monthly", PERIOD)
    assert calls, "render_pdf was not reached"
    assert snapshot(reports) == before  # same names, bytes and mtimes: nothing new, no temp files
    staging = report["project"] / ".pulse" / "staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_failed_pdf_render_through_the_cli(report, monkeypatch, capsys) -> None:
    """A user error raised while rendering is one line and exit code 2, still atomic."""
    from pipeline.app import cli

    reports = report["project"] / "reports"
    before = snapshot(reports)

    def broken_pdf(html: str, templates_dir: Path, *_variant) -> bytes:
        raise PulseError("report_templates/report.css: font missing", "install it")

    monkeypatch.setattr(render, "render_pdf", broken_pdf)
    monkeypatch.chdir(report["project"])
    monkeypatch.setattr("sys.argv", ["pulse", "run", "--period", PERIOD])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        cli.main()
    _, err = capsys.readouterr()
    assert exited.value.code == 2
    assert err == "error: report_templates/report.css: font missing (hint: install it)\n"
    assert snapshot(reports) == before


def test_same_period_twice_gives_byte_identical_html(report, monkeypatch) -> None:
    """A second run — even from a rebuilt database — writes the very same HTML.

    The PDF engine is stubbed (the HTML is complete before it runs) to keep this fast.
    """
    project = report["project"]
    shutil.rmtree(project / ".pulse")
    monkeypatch.setattr(render, "render_pdf", lambda html, templates_dir, *_: report["pdf"])
    result = runner.run_report(project, "monthly", PERIOD)
    again = (report["folder"] / "monthly.html").read_bytes()
    assert again == report["html"]
    assert [p.name for p in result.files] == ["monthly.html", "monthly.pdf", "manifest.json"]
    assert [r.value for r in result.kpis] == [r.value for r in report["result"].kpis]


def test_the_charts_library_is_imported_while_the_exports_load(tmp_path, demo_exports, monkeypatch) -> None:
    """A run that looks at the exports starts importing matplotlib in a thread first (ingest, checks and
    KPIs run meanwhile); a warm start, which does not, leaves the import to the charts."""
    import sys

    from pipeline.core import database

    project = make_project(tmp_path / "project", demo_exports)
    importing = []
    connect = database.connect_project
    monkeypatch.setattr(database, "connect_project", lambda config: importing.append(render._IMPORTING)
                        or connect(config))
    monkeypatch.setattr(render, "_IMPORTING", None)
    runner.run_report(project, "monthly", PERIOD)
    assert importing and importing[0] is not None and importing[0].name == "pulse-imports"
    importing[0].join(timeout=60)
    assert "matplotlib.figure" in sys.modules and "matplotlib.backends.backend_svg" in sys.modules

    runner.run_report(project, "monthly", PERIOD)  # finds nothing to load: the next run starts warm
    started = []
    monkeypatch.setattr(runner, "start_imports", lambda: started.append(True))
    runner.run_report(project, "monthly", PERIOD)
    assert started == []
