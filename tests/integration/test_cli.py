"""The `pulse` command line through its real entry point (`python -m pipeline`).

One module-scoped project is built with `pulse run --period 2026-10`; the
other commands then run on copies of it (each copy has its own DuckDB file, so
they can run side by side and the suite stays fast).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import polars as pl
import pytest

from support.project import make_project, pulse

PERIOD = "2026-10"
KPI_TITLES = [
    "Revenue", "Orders", "Average order value", "Active customers", "Repeat-customer rate", "Return rate",
    "Tickets opened", "Complaints", "Median first response", "Median resolution time", "SLA met", "CSAT",
    "Open backlog",
]


class _ValueCells(HTMLParser):
    """Collects the text of `td.value` per `tr.kpi` (data-kpi id)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._kpi: str | None = None
        self._in_value = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "kpi" in (a.get("class") or "").split():
            self._kpi = a.get("data-kpi")
        elif tag == "td" and self._kpi and "value" in (a.get("class") or "").split():
            self._in_value = True
            self.values[self._kpi] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_value = False
        elif tag == "tr":
            self._kpi = None

    def handle_data(self, data):
        if self._in_value and self._kpi:
            self.values[self._kpi] += data


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_exports) -> tuple[Path, subprocess.CompletedProcess]:
    project = make_project(tmp_path_factory.mktemp("cli") / "project", demo_exports)
    result = pulse(["run", "--period", PERIOD], cwd=project)
    return project, result


@pytest.fixture(scope="module")
def sql_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sql") / "by_region.sql"
    path.write_text(
        "-- order lines per region in the report period\n"
        "SELECT region, count(*) AS n FROM sales\n"
        "WHERE order_ts >= $report_start AND order_ts < $report_end\n"
        "GROUP BY ALL ORDER BY region\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def ran(built, sql_file, tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Every other command, each on its own copy of the built project, run in parallel."""
    project, result = built
    assert result.returncode == 0, result.stderr
    base = tmp_path_factory.mktemp("copies")
    commands = {
        "kpis": (["kpis", "--period", PERIOD], True),
        "csv": (["query", "revenue", "--period", PERIOD, "--format", "csv"], True),
        "json": (["query", "revenue", "--period", PERIOD, "--format", "json"], False),
        "parquet": (["query", "revenue", "--period", PERIOD, "-o", "out.parquet"], True),
        "xlsx": (["query", "revenue", "--period", PERIOD, "--format", "xlsx", "-o", "out/result.xlsx"], True),
        "sql_text": (["query", "select count(*) as n from sales"], True),
        "sql_file": (["query", str(sql_file), "--period", PERIOD, "--format", "csv"], False),
        "parquet_no_o": (["query", "revenue", "--format", "parquet"], True),
        "help": (["--help"], True),
    }

    def one(item):
        name, (args, in_cwd) = item
        copy = base / name
        shutil.copytree(project, copy)
        if in_cwd:
            return name, (copy, pulse(args, cwd=copy))
        # run from elsewhere and point at the project with --project
        return name, (copy, pulse(["--project", str(copy), *args], cwd=base))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, commands.items()))


def _manifest(project: Path) -> dict:
    return json.loads((project / "reports" / "monthly" / PERIOD / "manifest.json").read_text(encoding="utf-8"))


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    return lines[0]


# -- pulse run -----------------------------------------------------------------
def test_run_writes_html_pdf_and_manifest(built) -> None:
    project, result = built
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # quiet when not on a terminal (cron)
    folder = project / "reports" / "monthly" / PERIOD
    names = ["monthly.html", "monthly.pdf", "manifest.json"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    assert [Path(line).name for line in result.stdout.splitlines()] == names
    html = (folder / "monthly.html").read_bytes()
    pdf = (folder / "monthly.pdf").read_bytes()
    assert html.startswith(b"<!DOCTYPE html>") and b"Nordlys Kaffe ApS" in html
    assert pdf.startswith(b"%PDF-")
    manifest = _manifest(project)
    assert manifest["report"] == "monthly"
    assert manifest["period"] == {"label": PERIOD, "start": "2026-10-01", "end_exclusive": "2026-11-01"}
    assert manifest["outputs"]["monthly.html"] == hashlib.sha256(html).hexdigest()
    assert manifest["outputs"]["monthly.pdf"] == hashlib.sha256(pdf).hexdigest()
    assert set(manifest["kpis"]) == {
        "revenue", "orders", "average_order_value", "active_customers", "repeat_customer_rate", "return_rate",
        "tickets_opened", "complaints", "first_response_hours", "resolution_hours", "sla_met_rate", "csat",
        "open_backlog",
    }
    assert manifest["kpis"]["revenue"]["value"] > 0
    assert {i["source"] for i in manifest["inputs"]} == {"sales", "tickets"}
    assert not (project / ".pulse" / "staging").exists() or not any((project / ".pulse" / "staging").iterdir())


# -- pulse kpis ----------------------------------------------------------------
def test_kpis_prints_titles_and_values_as_in_the_report(built, ran) -> None:
    project, _ = built
    _, result = ran["kpis"]
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"KPIs for {PERIOD}" in out
    for title in KPI_TITLES:
        assert title in out, title
    parser = _ValueCells()
    parser.feed((project / "reports" / "monthly" / PERIOD / "monthly.html").read_text(encoding="utf-8"))
    revenue = parser.values["revenue"]
    assert revenue.endswith("\u00a0kr.") and revenue[:-4].replace(".", "").isdigit()  # en_DK: "444.068 kr."
    revenue_line = next(line for line in out.splitlines() if "Revenue" in line)
    assert revenue in revenue_line
    assert parser.values["orders"] in next(line for line in out.splitlines() if " Orders " in line)


# -- pulse query -----------------------------------------------------------------
SALES_COLUMNS = ["period", "region", "revenue", "orders", "average_order_value", "active_customers", "return_rate",
                 "repeat_customer_rate"]


def _revenue_csv(ran) -> pl.DataFrame:
    _, result = ran["csv"]
    assert result.returncode == 0, result.stderr
    frame = pl.read_csv(result.stdout.encode("utf-8"), try_parse_dates=True)
    return frame.filter(pl.col("region").is_null()).drop("region")  # the company-wide series


def test_query_csv_prints_the_series_with_a_header(built, ran) -> None:
    project, _ = built
    _, result = ran["csv"]
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # revenue is a column of the demo's order-line query, shared with five other KPIs, by region too
    assert lines[0] == ",".join(SALES_COLUMNS)
    assert lines[-1].startswith("2026-10-01,")
    assert lines[1].startswith(lines[1].split(",")[0] + ",,")  # the company-wide row comes first
    frame = _revenue_csv(ran)
    assert frame.height == sum(1 for line in lines[1:] if ",," in line) >= 13
    assert frame["period"].to_list() == sorted(frame["period"].to_list())
    by_period = dict(zip(frame["period"].to_list(), frame["revenue"].to_list()))
    figures = _manifest(project)["kpis"]["revenue"]
    assert by_period[date(2026, 10, 1)] == pytest.approx(figures["value"], rel=1e-12)
    assert by_period[date(2026, 9, 1)] == pytest.approx(figures["previous"], rel=1e-12)
    assert by_period[date(2025, 10, 1)] == pytest.approx(figures["last_year"], rel=1e-12)


def test_query_json(ran) -> None:
    _, result = ran["json"]
    assert result.returncode == 0, result.stderr
    records = [r for r in json.loads(result.stdout) if r["region"] is None]
    expected = _revenue_csv(ran)
    assert [r["period"] for r in records] == [d.isoformat() for d in expected["period"].to_list()]
    assert [r["revenue"] for r in records] == pytest.approx(expected["revenue"].to_list(), rel=1e-12)


@pytest.mark.parametrize("kind, relpath", [("parquet", "out.parquet"), ("xlsx", "out/result.xlsx")])
def test_query_output_file_is_readable_by_polars(ran, kind: str, relpath: str) -> None:
    copy, result = ran[kind]
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # written to the file, not to stdout
    path = copy / relpath
    frame = pl.read_parquet(path) if kind == "parquet" else pl.read_excel(path)
    expected = _revenue_csv(ran)
    assert frame.columns == SALES_COLUMNS
    frame = frame.filter(pl.col("region").is_null())
    assert frame.schema["period"] == pl.Date
    assert frame["period"].to_list() == expected["period"].to_list()
    assert frame["revenue"].to_list() == pytest.approx(expected["revenue"].to_list(), rel=1e-12)
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_query_sql_text(ran) -> None:
    copy, result = ran["sql_text"]
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(copy / ".pulse" / "pulse.duckdb"), read_only=True)
    try:
        count = con.execute("SELECT count(*) FROM sales").fetchone()[0]
    finally:
        con.close()
    assert count > 1000
    assert " n " in result.stdout or "┃ n" in result.stdout or "n ┃" in result.stdout
    assert str(count) in result.stdout
    assert result.stdout.rstrip().endswith("1 row")


def test_query_sql_file_with_builtin_parameters(ran) -> None:
    copy, result = ran["sql_file"]
    assert result.returncode == 0, result.stderr
    frame = pl.read_csv(result.stdout.encode("utf-8"))
    assert frame.columns == ["region", "n"]
    assert "Hovedstaden" in frame["region"].to_list()
    con = duckdb.connect(str(copy / ".pulse" / "pulse.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'Europe/Copenhagen'")  # timestamps are instants: months in the project's zone
        expected = con.execute(
            "SELECT count(*) FROM sales WHERE order_ts >= DATE '2026-10-01' AND order_ts < DATE '2026-11-01'"
        ).fetchone()[0]
    finally:
        con.close()
    assert frame["n"].sum() == expected > 0


def test_binary_format_without_output_is_a_usage_error(ran) -> None:
    copy, result = ran["parquet_no_o"]
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert "parquet" in line and "-o" in line
    assert result.stdout == ""
    assert not list(copy.glob("*.parquet"))


def test_help(ran) -> None:
    _, result = ran["help"]
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    for command in ("run", "kpis", "query"):
        assert f"  {command}" in result.stdout
