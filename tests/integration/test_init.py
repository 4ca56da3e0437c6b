"""`pulse init`: a project that runs at once, from nothing, from the demo, or from a folder of exports.

Every project is made and then used through the real command line (in-process
`pulse`), as a new user would: init, validate, run, query. Also: commands find
the project from any folder inside it, and "no project here" is exit code 2.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from pypdf import PdfReader

from pipeline.report import render
from support.project import REPO, pulse, run_pulse, stub_pdf
from support.reference import dedupe, month_start, read_sales_files

NOW = "2026-11-25T09:00:00+00:00"  # `last` is 2026-10


def docs_problems(project: Path) -> list[str]:
    """Docs references in the written files (`docs/<file>.md '<Heading>'`) that name no existing heading."""
    problems = []
    for path in [*project.rglob("*.yaml"), *project.rglob("*.sql"), *project.rglob("*.j2"), project / "README.md"]:
        for file_name, section in re.findall(r"(docs/[\w.-]+\.md) '([^']+)'", path.read_text(encoding="utf-8")):
            page = REPO / file_name
            titles = re.findall(r"^#{1,6} +(.+?) *$", page.read_text(encoding="utf-8"), re.M) if page.is_file() else []
            if section not in titles:
                problems.append(f"{path.relative_to(project)}: {file_name} '{section}'")
    return problems


def cli(args: list[str], cwd: Path, monkeypatch, capsys) -> tuple[int, str, str]:
    return run_pulse(args, cwd, monkeypatch, capsys)


@pytest.fixture
def no_pdf(monkeypatch):
    monkeypatch.setattr(render, "render_pdf", stub_pdf)


def query_json(project: Path, sql_or_kpi: str, monkeypatch, capsys, *extra: str) -> list[dict]:
    code, out, err = cli(["query", sql_or_kpi, "--format", "json", *extra], project, monkeypatch, capsys)
    assert code == 0, err
    return json.loads(out)


# -- pulse init DIR ----------------------------------------------------------------------------
def test_a_new_project_runs_at_once(tmp_path: Path, monkeypatch, capsys) -> None:
    code, out, err = cli(["init", "acme-reports", "--now", NOW, "--timezone", "Europe/Copenhagen"], tmp_path,
                         monkeypatch, capsys)
    assert code == 0, err
    project = tmp_path / "acme-reports"
    assert "Created a Pulse project in acme-reports/" in out and "pulse run" in out and "pulse preview" in out
    for rel in ("config/pulse.yaml", "config/sources.yaml", "config/kpis.yaml", "config/reports.yaml",
                "queries/orders.sql", "queries/revenue.sql", "report_templates/monthly.html.j2",
                "report_templates/report.css", ".gitignore", "README.md"):
        assert (project / rel).is_file(), rel
    exports = sorted(p.name for p in (project / "data" / "orders").iterdir())
    assert exports[0] == "orders_2025-10.csv" and exports[-1] == "orders_2026-10.csv" and len(exports) == 13
    pulse_yaml = (project / "config" / "pulse.yaml").read_text(encoding="utf-8")
    assert "company: Acme reports" in pulse_yaml and "timezone: Europe/Copenhagen" in pulse_yaml
    for name in ("pulse.yaml", "sources.yaml", "kpis.yaml", "reports.yaml"):  # commented, every one
        assert sum(line.lstrip().startswith("#") for line in (project / "config" / name).read_text().splitlines()) >= 2
    template = (project / "report_templates" / "monthly.html.j2").read_text(encoding="utf-8")
    assert '{% extends "builtin/report.html.j2" %}' in template
    assert "{% block" not in template.split("#}")[-1]  # overrides only: every block is explained, none copied
    for block in ("cover", "toc", "notices", "summary", "kpi_table", "okrs", "trends", "methodology", "appendix"):
        assert f"     {block} " in template
    assert ".pulse/" in (project / ".gitignore").read_text() and "pulse preview" in (project / "README.md").read_text()
    assert docs_problems(project) == []

    code, out, err = cli(["validate"], project, monkeypatch, capsys)
    assert code == 0, err + out
    code, out, err = cli(["run", "--now", NOW], project, monkeypatch, capsys)
    assert code == 0, err
    pdf = project / "reports" / "monthly" / "2026-10" / "monthly.pdf"
    assert out.split() == [f"reports/monthly/2026-10/{name}" for name in ("monthly.html", "monthly.pdf",
                                                                        "manifest.json")]
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Acme reports" in text and "Orders" in text and "Revenue" in text
    with (project / "data" / "orders" / "orders_2026-10.csv").open(encoding="utf-8") as handle:
        october = list(csv.DictReader(handle))
    rows = {r["period"]: r["value"] for r in query_json(project, "orders", monkeypatch, capsys, "--period", "2026-10")}
    assert rows["2026-10-01"] == len(october)
    revenue = {r["period"]: r["value"] for r in query_json(project, "revenue", monkeypatch, capsys, "--period", "2026-10")}
    assert revenue["2026-10-01"] == pytest.approx(sum(float(r["amount"]) for r in october))


def test_init_never_overwrites_a_project_unless_forced(tmp_path: Path, monkeypatch, capsys) -> None:
    assert cli(["init", "p", "--now", NOW], tmp_path, monkeypatch, capsys)[0] == 0
    kpis = tmp_path / "p" / "config" / "kpis.yaml"
    kpis.write_text(kpis.read_text() + "# my own edit\n")
    code, out, err = cli(["init", "p", "--now", NOW], tmp_path, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err.strip() == ("error: p is already a Pulse project (config/pulse.yaml exists) (hint: choose another "
                           "folder, or add --force to overwrite the files pulse init writes)")
    assert kpis.read_text().endswith("# my own edit\n")
    code, _, err = cli(["init", "p", "--now", NOW, "--force"], tmp_path, monkeypatch, capsys)
    assert code == 0, err
    assert not kpis.read_text().endswith("# my own edit\n")


def test_init_refuses_to_overwrite_any_file_it_would_write(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "README.md").write_text("mine\n")
    code, _, err = cli(["init", "q", "--now", NOW], tmp_path, monkeypatch, capsys)
    assert code == 2 and "error: q/README.md exists" in err and "--force" in err
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == ["README.md"]  # nothing else written


# -- pulse init DIR --demo ----------------------------------------------------------------------
def test_the_demo_project(tmp_path: Path, monkeypatch, capsys) -> None:
    code, out, err = cli(["init", "demo", "--demo", "--now", NOW], tmp_path, monkeypatch, capsys)
    assert code == 0, err
    project = tmp_path / "demo"
    for folder in ("config", "queries", "report_templates"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                copied = project / path.relative_to(REPO)
                assert copied.read_bytes() == path.read_bytes(), copied
    assert (project / "data" / "sales" / "sales_2023-11.csv").is_file()
    assert (project / "data" / "sales" / "sales_2025-06.xlsx").is_file()
    assert sorted(p.name for p in (project / "data" / "support").iterdir())[-1] == "tickets_2026-10.json"
    code, out, err = cli(["kpis", "--period", "2026-10"], project, monkeypatch, capsys)
    assert code == 0, err
    assert "Revenue" in out and "Open backlog" in out
    code, _, err = cli(["init", "demo2", "--demo", "--company", "X"], tmp_path, monkeypatch, capsys)
    assert code == 2 and "not the demo" in err


# -- pulse init DIR --from EXPORTS ----------------------------------------------------------------
def test_from_the_demo_exports_the_example_kpi_counts_the_rows(tmp_path: Path, demo_exports: Path, no_pdf,
                                                               monkeypatch, capsys) -> None:
    shutil.copytree(demo_exports, tmp_path / "exports")
    code, out, err = cli(["init", "report", "--from", "exports", "--timezone", "Europe/Copenhagen", "--now", NOW],
                         tmp_path, monkeypatch, capsys)
    assert code == 0, err
    assert "source sales: 26 file(s)" in out and "key order_id+line_id, event time order_ts" in out
    project = tmp_path / "report"
    sources = yaml.safe_load((project / "config" / "sources.yaml").read_text(encoding="utf-8"))["sources"]
    assert sources["sales"]["paths"] == ["../exports/sales/sales_*.csv", "../exports/sales/sales_*.xlsx"]
    assert "\n  allow_outside_paths: true" in (project / "config" / "pulse.yaml").read_text()
    kpis = yaml.safe_load((project / "config" / "kpis.yaml").read_text(encoding="utf-8"))["kpis"]
    assert list(kpis) == ["sales_rows"]
    code, out, err = cli(["run", "--period", "2026-10", "--now", NOW], project, monkeypatch, capsys)
    assert code == 0, err
    # the reference: every sales line once (the newest file wins), in October, Copenhagen time
    sales = dedupe(read_sales_files(demo_exports), ["order_id", "line_id"])
    start, end = month_start("2026-10"), month_start("2026-11")
    expected = sales.filter((pl.col("local_ts") >= start) & (pl.col("local_ts") < end)).height
    rows = {r["period"]: r["value"] for r in query_json(project, "sales_rows", monkeypatch, capsys,
                                                        "--period", "2026-10")}
    assert rows["2026-10-01"] == expected


def test_from_messy_exports_with_a_question_to_answer(tmp_path: Path, no_pdf, monkeypatch, capsys) -> None:
    exports = tmp_path / "data"
    exports.mkdir()
    (exports / "ordrer_2026-09.csv").write_bytes(
        "\ufeffOrdre nr;Dato;Kunde;Beløb\n1001;01.09.2026;Søren;1.234,50\n1002;30.09.2026;Åse;12,5\n".encode())
    (exports / "ordrer_2026-10.csv").write_bytes("Ordre nr;Dato;Kunde;Beløb\n1003;01.10.2026;Ærø ApS;-3,25\n"
                                                 "1004;31.10.2026;Øster;7\n".encode("cp1252"))
    pl.DataFrame({"visit_id": ["V1", "V2"], "day": ["04-10-2026", "01-02-2026"]}).write_excel(
        exports / "visits_2026-10.xlsx")
    code, out, err = cli(["init", ".", "--from", "data", "--now", NOW], tmp_path, monkeypatch, capsys)
    assert code == 0, err
    assert "Before the first run, decide in config/sources.yaml (never guessed):" in out
    assert "source 'visits': options.date_format: day: every value reads both ways" in out
    text = (tmp_path / "config" / "sources.yaml").read_text(encoding="utf-8")
    assert "      - data/ordrer_*.csv   # 2 files\n" in text  # inside the project: relative, no outside paths
    assert "\n  allow_outside_paths: true" not in (tmp_path / "config" / "pulse.yaml").read_text()
    assert "      delimiter: ';'\n      decimal: ','" in text and "date_format: '%d.%m.%Y'" in text
    assert "found cp1252 (Windows-1252 / Latin-1)" in text
    line = text.splitlines().index("      date_format: CHOOSE") + 1
    assert docs_problems(tmp_path) == [] and "Pulse's docs/configuration.md 'Sources'" in text
    assert "#   date_format: '%d-%m-%Y'   # day first" in text and "#   date_format: '%m-%d-%Y'   # month first" in text

    code, out, err = cli(["validate"], tmp_path, monkeypatch, capsys)
    assert code == 1
    assert f"config/sources.yaml:{line}: sources.visits.options.date_format: replace CHOOSE with one of the values " \
           "listed in the comment above it" in err
    code, _, err = cli(["run", "--period", "2026-10", "--now", NOW], tmp_path, monkeypatch, capsys)
    assert code == 2 and "CHOOSE" in err and not (tmp_path / "reports").exists()

    (tmp_path / "config" / "sources.yaml").write_text(text.replace("date_format: CHOOSE", "date_format: '%d-%m-%Y'"),
                                                      encoding="utf-8")
    rows = query_json(tmp_path, 'SELECT * FROM ordrer ORDER BY "Ordre nr"', monkeypatch, capsys)
    assert rows == [
        {"Ordre nr": 1001, "Dato": "2026-09-01", "Kunde": "Søren", "Beløb": 1234.5},
        {"Ordre nr": 1002, "Dato": "2026-09-30", "Kunde": "Åse", "Beløb": 12.5},
        {"Ordre nr": 1003, "Dato": "2026-10-01", "Kunde": "Ærø ApS", "Beløb": -3.25},
        {"Ordre nr": 1004, "Dato": "2026-10-31", "Kunde": "Øster", "Beløb": 7.0},
    ]
    assert query_json(tmp_path, "SELECT * FROM visits ORDER BY day", monkeypatch, capsys) == [
        {"visit_id": "V2", "day": "2026-02-01"}, {"visit_id": "V1", "day": "2026-10-04"}]
    kpis = yaml.safe_load((tmp_path / "config" / "kpis.yaml").read_text(encoding="utf-8"))["kpis"]
    assert list(kpis) == ["ordrer_rows"]
    rows = {r["period"]: r["value"] for r in query_json(tmp_path, "ordrer_rows", monkeypatch, capsys,
                                                        "--period", "2026-10")}
    assert rows == {"2026-09-01": 2, "2026-10-01": 2}


def test_from_exports_that_cannot_be_read_writes_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "broken.csv").write_text('id,name\n1,"unterminated\n2,x\n')
    (tmp_path / "exports" / "plain.csv").write_text("id,name\n1,a\n")
    code, out, err = cli(["init", "p", "--from", "exports"], tmp_path, monkeypatch, capsys)
    assert code == 2 and err.startswith("error: exports/broken.csv:") and not (tmp_path / "p").exists()
    (tmp_path / "exports" / "broken.csv").unlink()
    code, out, err = cli(["init", "p", "--from", "exports"], tmp_path, monkeypatch, capsys)
    assert code == 2 and "none of the exports (plain) has a date or timestamp column" in err
    assert not (tmp_path / "p").exists()


# -- run from anywhere inside a project; no project is exit 2 -------------------------------------
def test_commands_find_the_project_from_a_folder_inside_it(project: Path, monkeypatch, capsys) -> None:
    code, out, err = cli(["query", "SELECT count(*) AS n FROM tickets", "--format", "json"], project / "queries" /
                         "sales", monkeypatch, capsys)
    assert code == 0, err
    assert json.loads(out)[0]["n"] > 0
    assert (project / ".pulse" / "pulse.duckdb").is_file() and not (project / "queries" / "sales" / ".pulse").exists()


@pytest.mark.parametrize("command", [["validate"], ["run"], ["kpis"], ["check"], ["okrs"], ["query", "x y"],
                                     ["send", "monthly"], ["due", "--list"], ["preview"]])
def test_no_project_here_is_exit_code_2(tmp_path: Path, command: list[str], monkeypatch, capsys) -> None:
    code, out, err = cli(command, tmp_path, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err.strip() == ("error: no Pulse project in the current folder or any folder above it (no "
                           "config/pulse.yaml) (hint: run pulse inside a project folder, pass --project DIR, or "
                           "create one with 'pulse init DIR')")
    code, out, err = cli(["-C", str(tmp_path / "missing"), *command], tmp_path, monkeypatch, capsys)
    assert code == 2 and "no such folder" in err


def test_no_project_is_exit_code_2_through_the_real_entry_point(tmp_path: Path) -> None:
    result = pulse(["validate"], cwd=tmp_path)
    assert result.returncode == 2 and "no Pulse project" in result.stderr
    assert pulse(["init", "--help"], cwd=tmp_path).returncode == 0
