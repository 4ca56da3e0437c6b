"""Print layout, theming, template overrides and the archive.

Real WeasyPrint PDFs read back with pypdf: contents page numbers that match
the pages, page sizes and orientation, PDF/A-3b; a theme and a block override
from a project's own files; reports/index.html; restated figures on a re-run.
"""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest
import yaml
from pypdf import PdfReader

from pipeline.app import runner
from pipeline.report import render
from support.project import NOW, make_project


def _pages(pdf_path) -> list[str]:
    return [page.extract_text() for page in PdfReader(pdf_path).pages]


def _set(project, filename, path, value):
    file = project / "config" / filename
    data = yaml.safe_load(file.read_text())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_exports):
    project = make_project(tmp_path_factory.mktemp("layout") / "project", demo_exports)
    query = project / "queries" / "support" / "first_response_hours.sql"  # one SQL line too long for the page
    text = query.read_text()
    assert "/ 3600e6) AS value" in text
    query.write_text(text.replace("/ 3600e6) AS value",
                                  "/ 3600e6 /* microseconds to hours, for the elapsed time from creation to the first "
                                  "response */) AS value"))
    result = runner.run_report(project, None, "2026-10", now=NOW)
    return project, result


def _contents(pages: list[str]) -> list[str]:
    """The titles the contents on page one list, each checked to give the page its section starts on."""
    entries = re.findall(r"^(.+?) \.{3,}\s*(\d+)$", pages[0], re.M)
    listed = re.findall(r"^(.+?) ?\.{3,}", pages[0], re.M)
    assert len(listed) == len(entries), f"a contents entry without a page number: {listed}"
    for title, number in entries:
        title = title.strip()
        # a heading is a line of its own (contents lines end in dot leaders and a number)
        heading = re.compile(r"^" + re.escape(title) + r"(, .*)?$", re.M)
        found = [i + 1 for i, text in enumerate(pages) if heading.search(text)]
        assert found, f"section {title!r} not found in the PDF"
        assert found[0] == int(number), f"{title!r}: contents say page {number}, it starts on page {found[0]}"
    return [t.strip() for t, _ in entries]


def test_contents_page_numbers_match_the_pages(built):
    _, result = built
    titles = _contents(_pages(result.folder / "monthly.pdf"))
    assert "Key figures" in titles and "Appendix: methodology" in titles and "Trends" in titles
    assert "Improve customer satisfaction" in titles  # one entry per objective


def test_methodology_appendix_shows_each_kpis_sql(built):
    _, result = built
    html = (result.folder / "monthly.html").read_text()
    assert html.count('class="method"') == 13
    assert "GROUPING SETS" in html and "FROM periods p" in html
    assert "Expected progress: the elapsed share of the cycle" in html


def test_block_override_and_project_css(built):
    _, result = built
    html = (result.folder / "monthly.html").read_text()
    # report_templates/monthly.html.j2 extends the built-in cover block
    assert "Prepared by Finance for the management team of Nordlys Kaffe ApS." in html
    assert ".house-note {" in html  # report_templates/report.css is inlined after the built-in CSS
    assert html.index("Pulse built-in report style") < html.index(".house-note {")


def test_theme_logo_and_colour_are_inlined(built):
    _, result = built
    html = (result.folder / "monthly.html").read_text()
    assert re.search(r'<img class="logo" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)
    assert "--accent: #0f766e;" in html


def test_a_project_can_replace_a_block_and_theme_without_python(tmp_path, demo_exports, monkeypatch):
    project = make_project(tmp_path / "project", demo_exports)
    (project / "report_templates" / "lean.html.j2").write_text(
        '{% extends "builtin/report.html.j2" %}\n'
        "{% block trends %}<p id=\"no-trends\">Trends are in the dashboard.</p>{% endblock %}\n"
        "{% block methodology %}{% endblock %}\n"
    )
    _set(project, "reports.yaml", ["reports", "monthly", "template"], "lean.html.j2")
    _set(project, "pulse.yaml", ["project", "theme"], {"colors": {"accent": "#ff00aa", "red": "#990000"},
                                                       "font_family": "DejaVu Serif"})
    monkeypatch.setattr(render, "render_pdf", lambda html, templates_dir, *_: b"%PDF-1.7 stub")
    result = runner.run_report(project, None, "2026-10", now=NOW)
    html = (result.folder / "monthly.html").read_text()
    assert '<p id="no-trends">Trends are in the dashboard.</p>' in html
    assert 'id="trends"' not in html and 'id="methodology"' not in html
    # the contents list only what the template laid out: no entry pointing at nothing
    toc = html[html.index('<nav class="toc"'):html.index("</nav>")]
    assert re.findall(r'href="#([^"]+)"', toc) == ["executive-summary", "key-figures", "okrs", "objective-grow_sales",
                                                  "objective-customer_satisfaction", "objective-loyal_customers",
                                                  "data-quality"]
    assert "--accent: #ff00aa;" in html and "--red: #990000;" in html
    assert '--font: "DejaVu Serif"' in html
    assert 'class="logo"' not in html


def test_the_contents_of_a_report_without_okrs_or_methodology_give_its_pages(tmp_path, demo_exports):
    """A real PDF of a template that empties two blocks: the contents name the sections that are there, each
    with the page it starts on, and nothing else."""
    project = make_project(tmp_path / "project", demo_exports)
    (project / "report_templates" / "short.html.j2").write_text(
        '{% extends "builtin/report.html.j2" %}\n{% block okrs %}{% endblock %}\n{% block methodology %}{% endblock %}\n')
    _set(project, "reports.yaml", ["reports", "monthly", "template"], "short.html.j2")
    result = runner.run_report(project, None, "2026-10", now=NOW)
    titles = _contents(_pages(result.folder / "monthly.pdf"))
    assert titles == ["Executive summary", "Key figures", "Trends", "Appendix: data-quality checks"]


def test_theme_colour_must_be_hex(tmp_path, demo_exports):
    project = make_project(tmp_path / "project", demo_exports)
    _set(project, "pulse.yaml", ["project", "theme", "colors"], {"accent": "red; } body { display: none"})
    from pipeline.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"pulse.yaml:\d+: project.theme.colors: colour accent must be a hex colour"):
        runner.run_report(project, None, "2026-10", now=NOW)


@pytest.mark.parametrize(("size", "orientation", "width", "height"), [("Letter", "landscape", 792, 612),
                                                                       ("A4", "landscape", 842, 595)])
def test_page_size_and_orientation(tmp_path, demo_exports, size, orientation, width, height):
    project = make_project(tmp_path / "project", demo_exports)
    _set(project, "reports.yaml", ["reports", "monthly", "page_size"], size)
    _set(project, "reports.yaml", ["reports", "monthly", "orientation"], orientation)
    result = runner.run_report(project, None, "2026-10", now=NOW)
    reader = PdfReader(result.folder / "monthly.pdf")
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (width, height)


def test_pdf_is_tagged_for_accessibility_by_default(built):
    _, result = built
    reader = PdfReader(result.folder / "monthly.pdf")
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root  # tagged PDF (PDF/UA-1)
    assert bool(root["/MarkInfo"]["/Marked"]) is True
    assert root["/Lang"]


def test_pdf_a3b_for_archiving(tmp_path, demo_exports):
    project = make_project(tmp_path / "project", demo_exports)
    _set(project, "reports.yaml", ["reports", "monthly", "pdf_variant"], "pdf/a-3b")
    result = runner.run_report(project, None, "2026-10", now=NOW)
    data = (result.folder / "monthly.pdf").read_bytes()
    reader = PdfReader(io.BytesIO(data))
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8", "replace")
    assert "<pdfaid:part>3</pdfaid:part>" in metadata.replace(" ", "") or 'pdfaid:part="3"' in metadata
    assert "/OutputIntents" in reader.trailer["/Root"]


def test_index_lists_reports_newest_first_with_links(tmp_path, demo_exports, monkeypatch):
    project = make_project(tmp_path / "project", demo_exports)
    monkeypatch.setattr(render, "render_pdf", lambda html, templates_dir, *_: b"%PDF-1.7 stub")
    for period in ("2026-08", "2026-10", "2026-09"):
        runner.run_report(project, None, period, now=NOW)
    index = (project / "reports" / "index.html").read_text()
    periods = re.findall(r'data-period="([^"]+)"', index)
    assert periods == ["2026-10", "2026-09", "2026-08"]
    assert '<a href="monthly/2026-10/monthly.html">monthly.html</a>' in index
    assert '<a href="monthly/2026-10/monthly.pdf">monthly.pdf</a>' in index


def test_manifest_records_inputs_figures_and_versions(built):
    project, result = built
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["report"] == "monthly" and manifest["period"]["label"] == "2026-10"
    assert len(manifest["inputs"]) > 40 and all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert len(manifest["config_sha256"]) == 64
    assert set(manifest["kpis"]) == set(runner.load_project(project).reports["monthly"].kpis)
    assert manifest["okrs"]["cycle"] == "2026-Q4"
    scores = manifest["okrs"]["objectives"]["customer_satisfaction"]["key_results"]
    assert set(scores) == {"csat_up", "fewer_complaints", "answer_fast"}
    assert {c["check"] for c in manifest["checks"]} >= {"freshness", "volume", "row_count"}
    assert set(manifest["timings_seconds"]) >= {"ingest", "checks", "kpis", "okrs", "html", "pdf"}
    assert {"duckdb", "weasyprint", "python"} <= set(manifest["versions"])
    assert manifest["restated"] == []


def test_restated_data_is_reported_with_old_and_new_values(tmp_path, demo_exports, monkeypatch):
    project = make_project(tmp_path / "project", demo_exports)
    monkeypatch.setattr(render, "render_pdf", lambda html, templates_dir, *_: b"%PDF-1.7 stub")
    first = runner.run_report(project, None, "2026-10", now=NOW)
    html_before = (first.folder / "monthly.html").read_text()
    again = runner.run_report(project, None, "2026-10", now=NOW)
    assert (again.folder / "monthly.html").read_text() == html_before  # same inputs: byte-identical HTML
    old_revenue = json.loads((first.folder / "manifest.json").read_text())["kpis"]["revenue"]["value"]
    # restate October: one more completed line in a late re-export file
    late = project / "data" / "sales" / "sales_2026-10_restated.csv"
    shutil.copy(project / "data" / "sales" / "sales_2026-10.csv", late)
    lines = late.read_text().splitlines()
    header, row = lines[0], lines[-1].split(",")
    row[0], row[1], row[6], row[9], row[10], row[12] = "SO-999999", "1", "Julekaffe", "1000.00", "0.00", "completed"
    late.write_text(header + "\n" + ",".join(row) + "\n")
    result = runner.run_report(project, None, "2026-10", now=NOW)
    manifest = json.loads((result.folder / "manifest.json").read_text())
    restated = {r["kpi"]: r for r in manifest["restated"]}
    assert restated["revenue"]["old"] == pytest.approx(old_revenue)
    assert restated["revenue"]["new"] == pytest.approx(old_revenue + 1000 * int(row[8]))
    html = (result.folder / "monthly.html").read_text()
    assert 'id="restatements"' in html and "Figures restated since they were first reported" in html


def test_a_long_sql_line_wraps_under_itself_not_at_column_0(built):
    """In the PDF, the wrapped rest of a long SQL line starts right of the line's own indentation."""
    _, result = built
    placed: list[tuple[float, str]] = []  # (x in points, text) of every text run of the methodology pages

    def visit(text, cm, tm, _font, _size):
        if text.strip():
            placed.append((tm[4] * cm[0] + tm[5] * cm[2] + cm[4], text.strip()))

    for page in PdfReader(result.folder / "monthly.pdf").pages:
        page.extract_text(visitor_text=visit)
    select = min(x for x, text in placed if text.startswith("SELECT p.period_start"))  # column 0 of the SQL
    start = next(x for x, text in placed if text.startswith("median((epoch_us") and "first_response_at" in text)
    at = next(i for i, (_x, text) in enumerate(placed) if text.startswith("median((epoch_us") and "first_response_at" in text)
    rest_x, rest = placed[at + 1]  # the wrapped rest of the line (it is too long for the page)
    assert "AS value" in rest and not rest.startswith("FROM"), placed[at:at + 3]
    rest = rest_x
    assert start > select + 10  # the line's own indentation (7 characters)
    assert rest > start + 3, (select, start, rest)  # the rest hangs under the line, not at column 0
