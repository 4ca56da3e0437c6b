"""`pulse validate` lists every problem at once, across all files, through the real entry point.

One problem never hides another: a config error in one file, a second one in
another, two sources whose exports cannot be found, a SQL syntax error in the
query of the KPI that has the config error, and a SQL binder error in a query
over a source that could not be loaded all show in one run, each with its
file:line and a hint. A folder that is not a project is exit code 2.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from support.project import make_project, run_pulse


def line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def broken(tmp_path: Path, demo_exports: Path) -> tuple[Path, list[str]]:
    """A demo project with seven problems in five files and two export folders; the expected lines."""
    root = make_project(tmp_path / "project", demo_exports)
    kpis = root / "config" / "kpis.yaml"
    replace_in(kpis, "    unit: currency\n    direction: up\n    fill: zero\n    target: 480000",
               "    unti: currency\n    direction: up\n    fill: zero\n    target: 480000")  # revenue
    reports = root / "config" / "reports.yaml"
    replace_in(reports, "      - average_order_value\n", "      - average_order_valeu\n")
    sources = root / "config" / "sources.yaml"
    replace_in(sources, "data/sales/sales_*.xlsx", "data/sales/sales_*.xslx")
    shutil.rmtree(root / "data" / "support")
    revenue = root / "queries" / "sales" / "order_lines.sql"
    replace_in(revenue, "SELECT p.period_start", "SELEC p.period_start")
    csat = root / "queries" / "support" / "csat.sql"
    replace_in(csat, "avg(t.satisfaction)", "avg(t.satisfation)")
    okrs = root / "config" / "okrs.yaml"
    replace_in(okrs, "  2026-Q4:            # a quarter label gives the dates: 2026-10-01 .. 2026-12-31\n",
               "  2026-Q4:\n    start: 2026-12-31\n    end: 2026-10-01\n")
    expected = [
        f"config/kpis.yaml:{line_of(kpis, 'unti: currency')}: unknown key 'kpis.revenue.unti'",
        f"config/reports.yaml:{line_of(reports, 'average_order_valeu')}: reports.monthly.kpis: unknown KPI "
        f"'average_order_valeu'",
        f"config/okrs.yaml:{line_of(okrs, 'end: 2026-10-01')}: cycles.2026-Q4.end: the cycle ends",
        f"config/sources.yaml:{line_of(sources, 'sales_*.xslx')}: sources.sales.paths.1: 'data/sales/sales_*.xslx' "
        f"matches no file",
        f"config/sources.yaml:{line_of(sources, 'tickets_*.json')}: sources.tickets.paths: export folder data/support "
        f"does not exist",
        f"queries/sales/order_lines.sql:{line_of(revenue, 'SELEC ')}: Parser Error",
        f"queries/support/csat.sql:{line_of(csat, 'satisfation')}: Binder Error",
    ]
    return root, expected


def test_every_problem_of_every_kind_at_once(broken, monkeypatch, capsys) -> None:
    root, expected = broken
    code, out, err = run_pulse(["validate"], root, monkeypatch, capsys)
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ") and "pulse validate found" not in line]
    for part in expected:
        assert sum(part in line for line in errors) == 1, (part, err)
    assert len(errors) == len(expected), err
    assert all(line.endswith(")") and "(hint: " in line for line in errors), err
    assert "Traceback" not in err
    assert f"{len(expected)} error(s)" in out
    assert "error: pulse validate found 7 error(s)" in err


def test_validate_writes_no_stand_in_table(broken, monkeypatch, capsys) -> None:
    """A source that could not be loaded is checked against an empty temporary table, never a stored one:
    the next run still says what is wrong with its exports."""
    root, _expected = broken
    run_pulse(["validate"], root, monkeypatch, capsys)
    con = duckdb.connect(str(root / ".pulse" / "pulse.duckdb"), read_only=True)
    try:
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
    assert "tickets" not in names and "sales" not in names


def test_sources_that_load_are_loaded_while_another_fails(tmp_path, demo_exports, monkeypatch, capsys) -> None:
    root = make_project(tmp_path / "project", demo_exports)
    shutil.rmtree(root / "data" / "support")
    code, _out, err = run_pulse(["validate"], root, monkeypatch, capsys)
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ") and "pulse validate found" not in line]
    assert len(errors) == 1 and "export folder data/support does not exist" in errors[0], err
    con = duckdb.connect(str(root / ".pulse" / "pulse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM sales").fetchall()[0][0] > 1000
    finally:
        con.close()


@pytest.mark.parametrize("where", ["missing", "no-config"])
def test_a_folder_that_is_not_a_project_is_exit_code_2(tmp_path, where, monkeypatch, capsys) -> None:
    folder = tmp_path / "nowhere" if where == "missing" else tmp_path
    code, out, err = run_pulse(["--project", str(folder), "validate"], tmp_path, monkeypatch, capsys)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "(hint: " in lines[0], err
    assert ("no such folder" if where == "missing" else "not a Pulse project") in lines[0]
    assert out == ""


def test_a_source_with_config_errors_is_neither_loaded_nor_queried(tmp_path, demo_exports, monkeypatch,
                                                                    capsys) -> None:
    """Its errors are listed; the queries reading it say they were not run; the working database keeps the
    source as the last good config loaded it (never rebuilt to a contract with the broken key left out)."""
    root = make_project(tmp_path / "project", demo_exports)
    code, _out, err = run_pulse(["validate"], root, monkeypatch, capsys)
    assert code == 0, err

    def contract() -> str:
        con = duckdb.connect(str(root / ".pulse" / "pulse.duckdb"), read_only=True)
        try:
            return con.execute("SELECT contract FROM _pulse_contracts WHERE source = 'sales'").fetchall()[0][0]
        finally:
            con.close()

    before = contract()
    sources = root / "config" / "sources.yaml"
    replace_in(sources, "      unit_price: {type: number}", "      unit_price: {type: money}")
    code, out, err = run_pulse(["validate"], root, monkeypatch, capsys)
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ") and "pulse validate found" not in line]
    assert len(errors) == 1 and f"config/sources.yaml:{line_of(sources, 'type: money')}:" in errors[0], err
    skipped = [line for line in err.splitlines() if "not run: it reads source 'sales'" in line]
    assert any(line.startswith("warning: queries/sales/order_lines.sql:") for line in skipped), err
    assert not any("support/" in line for line in skipped)
    assert contract() == before
