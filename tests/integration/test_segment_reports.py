"""Segment reports that stand on their own, on a tiny burst project (items by `name`).

Segments a and b have items every month; c's last item is on 14 August 2026,
so in October 2026 it has no activity. Real WeasyPrint PDFs where the page is
the point (title metadata, running header, a one-page brief report); the
stand-in PDF where only the render cache's bookkeeping is.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from pipeline.app import runner
from pipeline.app.validate import validate_project
from pipeline.report import render
from support import messy
from support.project import NOW, run_pulse, stub_pdf

PERIOD = "2026-10"
RUN = ["run", "monthly", "--period", PERIOD, "--now", NOW.isoformat()]
ANSWERS_SQL = (
    "SELECT p.period_start AS period, i.name AS {column}, count(*) AS value\n"
    "FROM periods p JOIN items i ON i.day >= p.period_start AND i.day < p.period_end\n"
    "GROUP BY GROUPING SETS ((p.period_start), (p.period_start, i.name))\n"
)


def items_csv() -> str:
    lines, ident = ["id,amount,name,day"], 0
    for offset in range(13):  # 2025-10 .. 2026-10
        year, month = divmod(2025 * 12 + 9 + offset, 12)
        for name, count in (("a", 20 + offset), ("b", 30 - offset), ("c", 5)):
            if name == "c" and (year, month + 1) > (2026, 8):
                continue  # c: nothing after August 2026
            for i in range(count):
                ident += 1
                day = 14 if name == "c" else 1 + i % 28
                lines.append(f"{ident},1,{name},{year}-{month + 1:02d}-{day:02d}")
    lines.append(f"{ident + 1},1,a,2026-10-31")  # the export reaches the period's end (freshness check)
    return "\n".join(lines) + "\n"


def burst_project(root: Path, report: dict | None = None, column: str = "name") -> Path:
    root = messy.make(root, {"data/items.csv": items_csv()})
    kpis = {"kpis": {"answers": {"title": "Answers", "unit": "count", "fill": "zero"},
                     "items_total": {"title": "Items in stock", "unit": "count", "fill": "zero"}}}
    (root / "config" / "kpis.yaml").write_text(yaml.safe_dump(kpis), encoding="utf-8")
    settings = {"title": "Answers review", "kpis": ["answers"], "burst_by": "name", "okrs": False, **(report or {})}
    (root / "config" / "reports.yaml").write_text(yaml.safe_dump({"reports": {"monthly": settings}}), encoding="utf-8")
    (root / "queries" / "answers.sql").write_text(ANSWERS_SQL.format(column=column), encoding="utf-8")
    (root / "queries" / "items_total.sql").write_text(
        "SELECT p.period_start AS period, count(*) AS value FROM periods p\n"
        "JOIN items i ON i.day >= p.period_start AND i.day < p.period_end GROUP BY ALL\n", encoding="utf-8")
    return root


def pdf_pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    """The burst report built once with real PDFs (c without activity: a brief report, by default)."""
    root = burst_project(tmp_path_factory.mktemp("segments") / "project")
    return runner.run_report(root, "monthly", PERIOD, now=NOW).folder


# -- 1. whose report is this? ------------------------------------------------------------------------
def test_the_segment_is_in_every_title_and_the_pdf_metadata(real):
    html = (real / "monthly-a.html").read_text(encoding="utf-8")
    assert "<title>Testfirma ApS · Answers review · a · October 2026</title>" in html
    assert '<div class="running-title">Testfirma ApS · Answers review · a · October 2026</div>' in html
    reader = PdfReader(real / "monthly-a.pdf")
    assert reader.metadata.title == "Testfirma ApS · Answers review · a · October 2026"
    assert len(reader.pages) >= 3
    for page in reader.pages[1:]:  # the running header of page 2 onwards names the segment
        assert "Testfirma ApS · Answers review · a · October 2026" in page.extract_text()
    company = PdfReader(real / "monthly.pdf")
    assert company.metadata.title == "Testfirma ApS · Answers review · October 2026"


def test_the_segments_email_names_it_in_subject_title_and_attachment(real, monkeypatch, capsys):
    root = real.parents[2]
    (root / "config" / "delivery.yaml").write_text(yaml.safe_dump({
        "from": "pulse@example.com", "outbox": True, "smtp": {"host": "localhost", "port": 25, "security": "none"},
        "recipient_lists": {"all": {"to": ["boss@example.com"]}, "team_a": {"to": ["a@example.com"]}}}),
        encoding="utf-8")
    settings = yaml.safe_load((root / "config" / "reports.yaml").read_text(encoding="utf-8"))
    settings["reports"]["monthly"]["email"] = {"send_to": ["all"], "segments": {"a": ["team_a"]}}
    (root / "config" / "reports.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    code, _out, err = run_pulse(["send", "monthly", "--period", PERIOD, "--dry-run", "--now", NOW.isoformat()],
                                root, monkeypatch, capsys)
    assert code == 0, err
    import email
    import email.policy

    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(root.rglob("*.eml"))]
    mine = [m for m in messages if "a@example.com" in m["To"]]
    assert len(mine) == 1
    message = mine[0]
    assert message["Subject"] == "Answers review — a — October 2026"
    html_part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    assert "<title>Answers review — a — October 2026</title>" in html_part.get_payload(decode=True).decode()
    pdf = next(p for p in message.walk() if p.get_content_type() == "application/pdf")
    assert pdf.get_filename() == "monthly-a-2026-10.pdf"
    assert PdfReader(io.BytesIO(pdf.get_payload(decode=True))).metadata.title.endswith("· a · October 2026")


# -- 2. nothing to say, said in words -----------------------------------------------------------------
NO_ACTIVITY = ("No activity in October 2026: every figure of this segment's own is zero or not available; "
               "the last period with activity was August 2026.")


def test_a_segment_without_activity_gets_a_one_page_report_saying_so(real):
    pages = pdf_pages((real / "monthly-c.pdf").read_bytes())
    assert len(pages) == 1
    text = " ".join(" ".join(pages).split())
    assert NO_ACTIVITY in text
    assert "Key figures" in text and "Executive summary" not in text and "Appendix" not in text
    assert len(pdf_pages((real / "monthly-b.pdf").read_bytes())) >= 3  # an active segment: the full report
    manifest = json.loads((real / "manifest.json").read_text())
    assert sorted(manifest["segments"]) == ["a", "b", "c"] and manifest["skipped_segments"] == {}


def test_skip_leaves_the_segment_out_and_says_so(tmp_path, monkeypatch, capsys, terminal):
    root = burst_project(tmp_path / "project", {"inactive_segments": "skip"})
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    code, out, err = run_pulse(RUN, root, monkeypatch, capsys)
    assert code == 0, err
    folder = root / "reports" / "monthly" / PERIOD
    assert not list(folder.glob("monthly-c.*")) and (folder / "monthly-a.pdf").is_file()
    assert "skipped (no activity in 2026-10; inactive_segments: skip): c" in err
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(manifest["segments"]) == ["a", "b"]
    assert manifest["skipped_segments"] == {"c": NO_ACTIVITY}


def test_full_report_of_an_inactive_segment_has_sentences_not_an_empty_summary(tmp_path, monkeypatch):
    root = burst_project(tmp_path / "project", {"inactive_segments": "full"})
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    folder = runner.run_report(root, "monthly", PERIOD, now=NOW).folder
    html = (folder / "monthly-c.html").read_text(encoding="utf-8")
    summary = html[html.index('id="executive-summary"'):html.index('id="key-figures"')]
    assert NO_ACTIVITY.replace("'", "&#39;") in summary
    assert 'id="trends"' in html and 'class="brief"' not in html


def test_an_unchanged_kpi_is_said_so_instead_of_an_empty_summary(tmp_path, monkeypatch):
    root = burst_project(tmp_path / "project")
    csv = root / "data" / "items.csv"
    lines = csv.read_text().splitlines()
    # b: as many items in September as in October (18), so no KPI of b's moved
    september = [line for line in lines if ",b,2026-09-" in line]
    assert len(september) == 19
    csv.write_text("\n".join([line for line in lines if line != september[-1]]) + "\n")
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    folder = runner.run_report(root, "monthly", PERIOD, now=NOW).folder
    html = (folder / "monthly-b.html").read_text(encoding="utf-8")
    summary = html[html.index('id="executive-summary"'):html.index('id="key-figures"')]
    assert "<li>Unchanged from September: Answers.</li>" in summary


# -- 3. only what the report has on page 1 ------------------------------------------------------------
def test_no_health_counts_when_no_kpi_has_a_target(real):
    for name in ("monthly.html", "monthly-a.html"):
        html = (real / name).read_text(encoding="utf-8")
        assert 'class="health-summary"' not in html
    first_page = pdf_pages((real / "monthly-a.pdf").read_bytes())[0]
    assert "On track" not in first_page and "Off track" not in first_page


# -- 6. a burst dimension no query returns ------------------------------------------------------------
def test_a_misnamed_dimension_is_refused_by_validate_and_run(tmp_path, monkeypatch, capsys):
    root = burst_project(tmp_path / "project", column="nation")
    problems = [p for p in validate_project(root, NOW) if p.severity == "error"]
    assert len(problems) == 1
    assert problems[0].message.endswith("queries/answers.sql: KPI 'answers' of report 'monthly' returns no 'name' column "
                                   "for burst_by: name (its dimension columns are nation)"), problems[0].message
    assert "reports.monthly.company_wide" in problems[0].hint
    code, out, err = run_pulse(RUN, root, monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: queries/answers.sql: KPI 'answers' of report 'monthly' returns no 'name' column")
    assert not (root / "reports").exists()


def test_a_kpi_declared_company_wide_is_shown_so(tmp_path, monkeypatch):
    root = burst_project(tmp_path / "project", {"kpis": ["answers", "items_total"]})
    assert "items_total" in " ".join(p.message for p in validate_project(root, NOW))  # not declared: refused
    root = burst_project(tmp_path / "declared", {"kpis": ["answers", "items_total"], "company_wide": ["items_total"]})
    assert [p for p in validate_project(root, NOW) if p.severity == "error"] == []
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    folder = runner.run_report(root, "monthly", PERIOD, now=NOW).folder
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["segments"]["a"]["company_wide_only"] == ["items_total"]
    assert manifest["segments"]["a"]["kpis"]["items_total"]["value"] == manifest["kpis"]["items_total"]["value"]


def test_company_wide_must_name_a_kpi_of_the_report(tmp_path):
    root = burst_project(tmp_path / "project", {"company_wide": ["items_total"]})
    messages = " ".join(p.message for p in validate_project(root, NOW))
    assert "company_wide: KPI 'items_total' is not among the report's kpis" in messages


# -- 7. reruns reuse what did not change -----------------------------------------------------------------
@pytest.fixture
def terminal(monkeypatch):
    """stderr taken for a terminal: `pulse run` says there what it reused and skipped (nothing in cron)."""
    import sys

    from pipeline.app import cli

    def printer(quiet: bool = False):
        return (lambda _message: None) if quiet else (lambda message: print(message, file=sys.stderr))

    monkeypatch.setattr(cli, "progress_printer", printer)


def reuse(err: str) -> tuple[int, int]:
    found = re.search(r"(\d+) of (\d+) reused", err)
    assert found, err
    return int(found.group(1)), int(found.group(2))


def test_a_rerun_reuses_unchanged_pdfs_byte_for_byte(real, tmp_path, monkeypatch, capsys, terminal):
    root = Path(shutil.copytree(real.parents[2], tmp_path / "copy"))
    before = {p.name: p.read_bytes() for p in real.glob("*.pdf")}
    shutil.rmtree(root / "reports")
    code, _out, err = run_pulse(RUN, root, monkeypatch, capsys)
    assert code == 0, err
    assert reuse(err) == (4, 4)
    assert "4 PDFs: 4 of 4 reused (unchanged since an earlier run), 0 rendered" in err
    after = {p.name: p.read_bytes() for p in (root / "reports" / "monthly" / PERIOD).glob("*.pdf")}
    assert after == before


def test_changes_to_the_page_render_again(tmp_path, monkeypatch, capsys, terminal):
    root = burst_project(tmp_path / "project")
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    assert reuse(run_pulse(RUN, root, monkeypatch, capsys)[2]) == (0, 4)
    assert reuse(run_pulse(RUN, root, monkeypatch, capsys)[2]) == (4, 4)
    (root / "report_templates").mkdir()
    (root / "report_templates" / "report.css").write_text("h1 { color: #123456; }\n")  # the template's CSS
    assert reuse(run_pulse(RUN, root, monkeypatch, capsys)[2]) == (0, 4)
    (root / "report_templates" / "font.txt").write_text("a file the page may load\n")  # any asset
    assert reuse(run_pulse(RUN, root, monkeypatch, capsys)[2]) == (0, 4)
    folder = root / "reports" / "monthly" / PERIOD
    before = {p.name: p.read_bytes() for p in folder.glob("*.pdf")}
    with (root / "data" / "items.csv").open("a") as handle:  # a figure of a (and the company's) changes,
        handle.write("999999,1,a,2026-10-20\n")  # and the source's row count, which b's appendix shows
    assert reuse(run_pulse(RUN, root, monkeypatch, capsys)[2]) == (1, 4)
    after = {p.name: p.read_bytes() for p in folder.glob("*.pdf")}
    assert [name for name in sorted(after) if after[name] == before[name]] == ["monthly-c.pdf"]  # brief: no appendix
    pulse_yaml = root / "config" / "pulse.yaml"
    settings = yaml.safe_load(pulse_yaml.read_text())
    settings["project"]["theme"] = {"colors": {"accent": "#aa0000"}}  # the theme
    pulse_yaml.write_text(yaml.safe_dump(settings))
    assert reuse(run_pulse(RUN, root, monkeypatch, capsys)[2]) == (0, 4)
    assert reuse(run_pulse(RUN + ["--no-cache"], root, monkeypatch, capsys)[2]) == (0, 4)
    cache = root / ".pulse" / runner.RENDER_CACHE
    assert not [p for p in cache.iterdir() if not p.name.endswith(".pdf")]  # nothing half-written left
