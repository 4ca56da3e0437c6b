"""Incremental work: a new export costs its own reading; cached KPIs and checks; --no-cache.

A new monthly export is read alone and appended (no rebuild of the source's
winners); the source then equals a cold build of every file. A template-only
change re-renders without running a KPI query; a changed export misses the
cache and gives new values; `pulse run --no-cache` runs every query.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipeline.app import cli, runner
from pipeline.config import load_project
from pipeline.core.database import connect_project
from pipeline.kpis import queries as kpis
from pipeline.report import render
from pipeline.sources import ingest as sources
from support.project import NOW, make_project

PERIOD = "2026-10"
NEWEST = ["data/sales/sales_2026-10.csv", "data/support/tickets_2026-10.json"]


def ingest(root: Path) -> tuple[sources.IngestReport, dict[str, list[tuple]]]:
    config = load_project(root)
    con = connect_project(config)
    try:
        report = sources.ingest(con, config)
        tables = {
            "sales": con.execute("SELECT * FROM sales ORDER BY order_id, line_id").fetchall(),
            "tickets": con.execute("SELECT * FROM tickets ORDER BY ticket_id").fetchall(),
        }
    finally:
        con.close()
    return report, tables


def stub_pdf(html: str, _templates_dir, *_args) -> bytes:
    return b"%PDF-1.7 stub"


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """Every KPI query execution, by the file it came from."""
    calls: list[str] = []
    original = kpis.run_sql

    def counting(con, sql, params, path_shown, *args, **kwargs):
        if path_shown != "a data-quality check":  # the source checks' own statements run through it too
            calls.append(path_shown)
        return original(con, sql, params, path_shown, *args, **kwargs)

    monkeypatch.setattr(kpis, "run_sql", counting)
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    return calls


@pytest.fixture(scope="module")
def warm(tmp_path_factory, demo_exports) -> Path:
    """A project after one run (the KPI and check caches filled); tests work on copies of it."""
    root = make_project(tmp_path_factory.mktemp("warm") / "project", demo_exports)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "render_pdf", stub_pdf)
        runner.run_report(root, "monthly", PERIOD, now=NOW)
    return root


@pytest.fixture
def project(tmp_path, warm) -> Path:
    return Path(shutil.copytree(warm, tmp_path / "project", symlinks=True))


@pytest.fixture(scope="module")
def cold(tmp_path_factory, demo_exports) -> dict[str, list[tuple]]:
    """Every table of a cold build of all the exports (the reference)."""
    root = make_project(tmp_path_factory.mktemp("cold") / "project", demo_exports)
    return ingest(root)[1]


def test_a_new_monthly_export_is_read_alone_and_appended(tmp_path, demo_exports, cold):
    root = make_project(tmp_path / "project", demo_exports)
    held_back = {rel: (root / rel).read_bytes() for rel in NEWEST}
    for rel in NEWEST:
        (root / rel).unlink()
    first, _ = ingest(root)
    assert {s.name: s.path for s in first.sources} == {"sales": "initial", "tickets": "initial"}
    for rel, content in held_back.items():
        (root / rel).write_bytes(content)

    report, tables = ingest(root)
    assert sorted(f.path for f in report.loaded) == sorted(NEWEST)
    assert all(f.status == "unchanged" for f in report.files if f.path not in NEWEST)
    assert {s.name: s.path for s in report.sources} == {"sales": "incremental", "tickets": "incremental"}
    assert tables == cold  # the restated last days of September now show October's version


def test_a_removed_or_changed_old_export_rebuilds_and_matches_a_cold_build(tmp_path, demo_exports, cold):
    root = make_project(tmp_path / "project", demo_exports)
    september = root / "data" / "sales" / "sales_2026-09.csv"
    original = september.read_bytes()
    ingest(root)
    september.unlink()
    report, tables = ingest(root)
    assert {s.name: s.path for s in report.sources}["sales"] == "rebuild"
    assert report.loaded == [] and len(tables["sales"]) < len(cold["sales"])
    september.write_bytes(original)  # back again: it sorts before October, so the winners are recomputed
    report, tables = ingest(root)
    assert [f.path for f in report.loaded] == ["data/sales/sales_2026-09.csv"]
    assert {s.name: s.path for s in report.sources}["sales"] == "rebuild"
    assert tables == cold


def test_unchanged_exports_take_no_path(project):
    report, _ = ingest(project)
    assert report.loaded == [] and {s.path for s in report.sources} == {"unchanged"}


def test_a_template_change_renders_without_querying(project, counted):
    root = project
    first = runner.run_report(root, "monthly", PERIOD, now=NOW)
    assert counted == [], "an unchanged rerun does not query"
    html = (first.folder / "monthly.html").read_text(encoding="utf-8")
    template = root / "report_templates" / "monthly.html.j2"
    text = template.read_text(encoding="utf-8").replace("Prepared by Finance", "Template edited: prepared by Finance")
    template.write_text(text, encoding="utf-8")
    counted.clear()
    again = runner.run_report(root, "monthly", PERIOD, now=NOW)
    assert counted == []
    changed = (again.folder / "monthly.html").read_text(encoding="utf-8")
    assert changed != html and "Template edited: prepared by Finance" in changed
    assert [r.value for r in again.kpis] == [r.value for r in first.kpis]


def change_the_last_sales_line(root: Path) -> None:
    path = root / "data" / "sales" / "sales_2026-10.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[-1].split(",")
    fields[8] = str(int(fields[8]) + 1000)  # quantity of the last line of October
    lines[-1] = ",".join(fields)
    path.write_text("".join(lines), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def test_a_changed_export_misses_the_cache_and_gives_new_values(project, counted):
    root = project
    first = runner.run_report(root, "monthly", PERIOD, now=NOW)
    change_the_last_sales_line(root)
    counted.clear()
    again = runner.run_report(root, "monthly", PERIOD, now=NOW)
    assert any(shown.endswith("queries/sales/order_lines.sql") for shown in counted)
    revenue = {r.kpi_id: r.value for r in again.kpis}["revenue"]
    assert revenue != {r.kpi_id: r.value for r in first.kpis}["revenue"]


def test_only_the_queries_reading_a_changed_source_run_again(project, counted):
    """The cache key holds the fingerprints of the sources a query names: a changed sales export
    reruns the sales queries, the support queries stay cached (and keep their values)."""
    root = project
    first = runner.run_report(root, "monthly", PERIOD, now=NOW)
    change_the_last_sales_line(root)
    counted.clear()
    again = runner.run_report(root, "monthly", PERIOD, now=NOW)
    config = load_project(root)
    used = {str(config.query_path(k).relative_to(root)) for k in config.reports["monthly"].kpis}
    sales = {q for q in used if q.startswith("queries/sales/")}
    assert sales and len(sales) < len(used)
    assert sorted(str(Path(shown).relative_to(root)) if Path(shown).is_absolute() else shown
                  for shown in counted) == sorted(sales)
    support = [r.kpi_id for r in first.kpis if "support" in str(config.query_path(r.kpi_id))]
    assert support and all({r.kpi_id: r.value for r in again.kpis}[k] == {r.kpi_id: r.value for r in first.kpis}[k]
                           for k in support)


def test_no_cache_runs_every_query(project, counted, monkeypatch, capsys):
    root = project
    runner.run_report(root, "monthly", PERIOD, now=NOW)
    assert counted == []
    monkeypatch.setattr("sys.argv", ["pulse", "-C", str(root), "run", "--period", PERIOD, "--no-cache",
                                     "--now", NOW.isoformat()])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code in (0, None), capsys.readouterr().err
    config = load_project(root)
    files = {config.query_path(k) for k in config.reports["monthly"].kpis}  # KPIs sharing a query share its run
    assert len(files) < len(config.reports["monthly"].kpis)
    assert len(set(counted)) >= len(files)  # every query of the report's KPIs ran
    assert len(counted) == len(set(counted))  # each once
