"""`pulse query` output as a user gets it, through the CLI entry point on a tiny project.

Row order (a query's ORDER BY is kept; only a KPI named by its id without one
is sorted), floats without floating-point noise, the company-wide row of a KPI
query labelled in the table only, `-o` files with the user's umask and a
"written to" line, and text cells a spreadsheet would run as formulas
neutralised in CSV and Excel.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import zipfile
from pathlib import Path

import polars as pl
import pytest
import yaml

from support.project import run_pulse

INJECTIONS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example","click")', "+1+2", "-3+4", "@SUM(A1)",
              "\tx", "plain", "a=b"]
NOISY = 536323.2825000001  # a float sum as DuckDB returns it


def write_project(root: Path) -> Path:
    for folder in ("config", "queries", "data"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    config = {
        "pulse.yaml": {"project": {"company": "Query ApS", "timezone": "Europe/Copenhagen"}},
        "sources.yaml": {"sources": {"sales": {
            "paths": "data/sales.csv", "primary_key": ["order_id"],
            "columns": {"order_id": {"type": "text"}, "day": {"type": "date"}, "region": {"type": "text"},
                        "amount": {"type": "number"}, "note": {"type": "text", "required": False}}}}},
        "kpis.yaml": {"kpis": {
            "revenue": {"title": "Revenue", "unit": "currency", "fill": "zero"},
            "top_regions": {"title": "Top regions", "unit": "currency"}}},
        "reports.yaml": {"reports": {"monthly": {"title": "Review", "kpis": ["revenue"]}}},
    }
    for name, data in config.items():
        (root / "config" / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                            encoding="utf-8")
    grouped = ("SELECT p.period_start AS period, s.region AS region, sum(s.amount) AS value\n"
               "FROM periods p JOIN sales s ON s.day >= p.period_start AND s.day < p.period_end\n"
               "GROUP BY GROUPING SETS ((p.period_start), (p.period_start, s.region))\n")
    (root / "queries" / "revenue.sql").write_text(grouped, encoding="utf-8")
    (root / "queries" / "top_regions.sql").write_text(grouped + "ORDER BY value DESC\n", encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["order_id", "day", "region", "amount", "note"])
    rows = [("o1", "2026-09-10", "West", 10.0), ("o2", "2026-09-11", "East", 30.0), ("o3", "2026-10-05", "West", 5.0),
            ("o4", "2026-10-06", "East", 1.0), ("o5", "2026-10-07", "North", 50.0)]
    for index, (order, day, region, amount) in enumerate(rows):
        writer.writerow([order, day, region, amount, INJECTIONS[index]])
    for index, text in enumerate(INJECTIONS[len(rows):]):
        writer.writerow([f"n{index}", "2026-08-01", "Nowhere", 0, text])
    (root / "data" / "sales.csv").write_text(buffer.getvalue(), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("query_output") / "project")


def query(project: Path, monkeypatch, capsys, *args: str) -> tuple[str, str]:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run_pulse(["query", *args, "--period", "2026-10"], project, monkeypatch, capsys)
    assert code == 0, err
    return out, err


# -- order -----------------------------------------------------------------------------------
ORDERED = "SELECT region, sum(amount) AS total FROM sales WHERE region <> 'Nowhere' GROUP BY ALL ORDER BY total DESC"


def test_a_sql_file_keeps_its_order_by_like_the_same_sql_as_text(project, tmp_path, monkeypatch, capsys) -> None:
    sql_file = tmp_path / "ranked.sql"
    sql_file.write_text(ORDERED + "\n", encoding="utf-8")
    from_file, _ = query(project, monkeypatch, capsys, str(sql_file), "--format", "csv")
    as_text, _ = query(project, monkeypatch, capsys, ORDERED, "--format", "csv")
    assert from_file == as_text == "region,total\nNorth,50.0\nEast,31.0\nWest,15.0\n"


def test_a_kpi_by_id_without_order_by_is_sorted_company_wide_first(project, monkeypatch, capsys) -> None:
    out, _ = query(project, monkeypatch, capsys, "revenue", "--format", "csv")
    lines = [line for line in out.splitlines() if line.startswith("2026-")]
    assert lines == ["2026-08-01,,0.0", "2026-08-01,Nowhere,0.0",
                     "2026-09-01,,40.0", "2026-09-01,East,30.0", "2026-09-01,West,10.0",
                     "2026-10-01,,56.0", "2026-10-01,East,1.0", "2026-10-01,North,50.0", "2026-10-01,West,5.0"]


def test_a_kpi_query_with_its_own_order_by_keeps_it(project, monkeypatch, capsys) -> None:
    out, _ = query(project, monkeypatch, capsys, "top_regions", "--format", "csv")
    values = [float(line.rsplit(",", 1)[1]) for line in out.splitlines()[1:]]
    assert values == sorted(values, reverse=True) and values[0] == 56.0


# -- numbers and labels ------------------------------------------------------------------------
FLOATS = (f"SELECT {NOISY}::DOUBLE AS noisy, 0.1::DOUBLE + 0.2::DOUBLE AS tenths, 12345678901234567::BIGINT AS big, "
          f"1234567.891::DECIMAL(12, 3) AS exact, 'nan'::DOUBLE AS nan")


def test_floats_without_noise_in_every_text_format(project, monkeypatch, capsys) -> None:
    table, _ = query(project, monkeypatch, capsys, FLOATS)
    assert "536323.2825 " in table and "0.3 " in table and "12345678901234567" in table and "1234567.891" in table
    assert "0000000" not in table and "0.30000000000000004" not in table
    as_csv, _ = query(project, monkeypatch, capsys, FLOATS, "--format", "csv")
    assert as_csv.splitlines()[1] == "536323.2825,0.3,12345678901234567,1234567.891,nan"
    as_json, _ = query(project, monkeypatch, capsys, FLOATS, "--format", "json")
    assert json.loads(as_json) == [{"noisy": 536323.2825, "tenths": 0.3, "big": 12345678901234567,
                                    "exact": 1234567.891, "nan": None}]
    assert '"noisy": 536323.2825,' in as_json


def test_the_company_wide_row_is_labelled_in_the_table_only(project, monkeypatch, capsys) -> None:
    table, _ = query(project, monkeypatch, capsys, "revenue")
    october = [re.split(r"\s*│\s*", line.strip("│ ")) for line in table.splitlines() if "2026-10-01" in line]
    assert october[0][:2] == ["2026-10-01", "(all)"] and october[0][2] == "56.0"
    assert [row[1] for row in october[1:]] == ["East", "North", "West"]
    as_json, _ = query(project, monkeypatch, capsys, "revenue", "--format", "json")
    assert {"period": "2026-10-01", "region": None, "value": 56.0} in json.loads(as_json)
    ad_hoc, _ = query(project, monkeypatch, capsys, "SELECT NULL::VARCHAR AS region, 1 AS n")
    assert "(all)" not in ad_hoc  # only a KPI query's NULL dimensions mean "company-wide"


# -- files -----------------------------------------------------------------------------------
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_output_files_get_the_users_umask_and_a_written_line(project, tmp_path, monkeypatch, capsys, umask,
                                                               mode) -> None:
    target = tmp_path / "out" / "revenue.csv"
    previous = os.umask(umask)
    try:
        out, err = query(project, monkeypatch, capsys, "revenue", "-o", str(target))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert out == ""
    assert err.splitlines()[-1] == f"written to {target} (9 rows)"
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_replacing_a_file_keeps_its_permissions(project, tmp_path, monkeypatch, capsys) -> None:
    target = tmp_path / "shared.json"
    target.write_text("[]", encoding="utf-8")
    target.chmod(0o640)
    _, err = query(project, monkeypatch, capsys, "SELECT 1 AS n", "-o", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert json.loads(target.read_text(encoding="utf-8")) == [{"n": 1}]
    assert err.splitlines()[-1] == f"written to {target} (1 row)"


# -- formulas --------------------------------------------------------------------------------
NOTES = "SELECT note AS \"=label\", amount - 100 AS negative FROM sales ORDER BY order_id"


def test_csv_cells_that_would_run_as_formulas_get_a_quote(project, monkeypatch, capsys) -> None:
    out, _ = query(project, monkeypatch, capsys, NOTES, "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["'=label", "negative"]
    notes = {row[0] for row in rows[1:]}
    expected = {("'" + text) if text[0] in "=+-@\t\r" else text for text in INJECTIONS}
    assert notes == expected
    assert "'plain" not in notes and "a=b" in notes
    assert all(not re.match(r"'", row[1]) and float(row[1]) < 0 for row in rows[1:])  # numbers stay numbers
    out, _ = query(project, monkeypatch, capsys, "SELECT chr(13) || 'x' AS cr, ' =x' AS spaced", "--format", "csv")
    assert out.split("\n")[1] == '"\'\rx"," =x"'  # quoted: a lone CR would end the record
    assert list(csv.reader(io.StringIO(out, newline="")))[1] == ["'\rx", " =x"]


def test_excel_text_cells_carry_the_quote_prefix_and_no_formula(project, tmp_path, monkeypatch, capsys) -> None:
    target = tmp_path / "notes.xlsx"
    query(project, monkeypatch, capsys, NOTES, "-o", str(target))
    with zipfile.ZipFile(target) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        styles = book.read("xl/styles.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no formula cell anywhere
    prefixed = [i for i, xf in enumerate(re.findall(r"<xf [^>]*>", styles.split("<cellXfs")[1]))
                if 'quotePrefix="1"' in xf]
    note_cells = re.findall(r'<c r="A([0-9]+)"( s="([0-9]+)")? t="s"', sheet)
    assert len(note_cells) == len(INJECTIONS) + 1  # the header and every note: text cells
    assert all(int(s) in prefixed for _row, _attr, s in note_cells if s), note_cells
    assert all(s for _row, _attr, s in note_cells)
    frame = pl.read_excel(target)
    assert sorted(frame["=label"].to_list()) == sorted(INJECTIONS)  # the text itself is unchanged


def test_the_table_shows_data_as_text_never_as_markup_or_terminal_codes(project, monkeypatch, capsys) -> None:
    sql = "SELECT '[/bold]' AS \"[x]\", '[red]hot[/red]' AS y, 'a' || chr(27) || '[31mred' || chr(13) || 'z' AS z"
    out, _ = query(project, monkeypatch, capsys, sql)
    assert "[/bold]" in out and "[red]hot[/red]" in out and "[x]" in out
    assert "\x1b" not in out and "\r" not in out
    assert "a\\x1b[31mred\\rz" in out
