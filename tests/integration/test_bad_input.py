"""Broken input: one clear line on stderr, exit code 2, and no report touched.

A good report for 2026-10 is built once per module; each case copies that
project (report files keep their bytes and mtimes), breaks one thing, reruns
`pulse run` through the console-script entry point `pipeline.cli.main` and
checks the error line and that the earlier report is byte-identical, with no
new or temporary files under reports/. Two cases also run in a real
subprocess (`python -m pipeline`) to prove nothing else reaches stderr.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from pipeline.app import runner
from support.project import make_project, run_pulse

PERIOD = "2026-10"
RUN = ["run", "--period", PERIOD]


@pytest.fixture(scope="module")
def good_project(tmp_path_factory, demo_exports) -> Path:
    project = make_project(tmp_path_factory.mktemp("bad_input") / "good", demo_exports)
    result = runner.run_report(project, period_text=PERIOD)
    assert [p.name for p in result.files] == ["monthly.html", "monthly.pdf", "manifest.json"]
    return project


def snapshot(project: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under reports/: its bytes and mtime."""
    reports = project / "reports"
    return {
        str(p.relative_to(reports)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(reports.rglob("*"))
        if p.is_file()
    }


def line_of(path: Path, text: str) -> int:
    """1-based number of the first line of `path` containing `text`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- the breakages ---------------------------------------------------------------
def _missing_folder(p: Path) -> list[str]:
    shutil.rmtree(p / "data" / "support")
    return ["sources.tickets", "data/support", "does not exist", "config/sources.yaml"]


def _missing_column(p: Path) -> list[str]:
    path = p / "data" / "sales" / "sales_2026-10.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith(",status")
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n", encoding="utf-8")
    return ["data/sales/sales_2026-10.csv", "required column 'status'", "source 'sales'",
            "the file has order_id, line_id,"]


def _misspelt_key(p: Path) -> list[str]:
    path = p / "config" / "kpis.yaml"
    replace_in(path, "    unit: currency", "    unti: currency")
    line = line_of(path, "unti: currency")
    return [f"config/kpis.yaml:{line}:", "unknown key 'kpis.revenue.unti'", "did you mean 'unit'?"]


def _misspelt_kpi(p: Path) -> list[str]:
    path = p / "config" / "reports.yaml"
    replace_in(path, "      - average_order_value", "      - average_order_valeu")
    line = line_of(path, "average_order_valeu")
    return [f"config/reports.yaml:{line}:", "unknown KPI 'average_order_valeu'", "did you mean 'average_order_value'?"]


def _sql_syntax(p: Path) -> list[str]:
    path = p / "queries" / "sales" / "order_lines.sql"
    replace_in(path, "SELECT p.period_start", "SELEC p.period_start")
    line = line_of(path, "SELEC ")
    return [f"queries/sales/order_lines.sql:{line}:", "Parser Error", 'syntax error at or near "SELEC"']


def _sql_unknown_column(p: Path) -> list[str]:
    path = p / "queries" / "sales" / "order_lines.sql"
    replace_in(path, "l.unit_price", "l.unit_prise")
    return ["queries/sales/order_lines.sql", "Binder Error", "unit_prise"]


def _unknown_parameter(p: Path) -> list[str]:
    path = p / "queries" / "sales" / "order_lines.sql"
    replace_in(path, "WHERE s.status <> 'cancelled'", "WHERE s.status <> 'cancelled' AND s.quantity >= $min_quantity")
    return ["queries/sales/order_lines.sql", "unknown parameter $min_quantity", "params:", "config/kpis.yaml"]


def _invalid_yaml(p: Path) -> list[str]:
    path = p / "config" / "sources.yaml"
    replace_in(path, "    primary_key: [ticket_id]", "    primary_key: [ticket_id\n  oops: {")
    line = line_of(path, "oops: {")
    # PyYAML reports where it noticed the problem: the unclosed bracket's next line
    return [f"config/sources.yaml:{line}:", "invalid YAML"]


def _kpi_defined_twice(p: Path) -> list[str]:
    path = p / "config" / "kpis.yaml"
    first = line_of(path, "  revenue:")
    path.write_text(path.read_text(encoding="utf-8") + "  revenue:\n    title: Revenue (gross)\n", encoding="utf-8")
    second = len(path.read_text(encoding="utf-8").splitlines()) - 1
    return [f"config/kpis.yaml:{second}:", "'kpis.revenue' is given twice", f"first at line {first}",
            "keep only this last one"]


def _key_repeated(p: Path) -> list[str]:
    path = p / "config" / "sources.yaml"
    replace_in(path, "    primary_key: [order_id, line_id]",
               "    primary_key: [order_id, line_id]\n    primary_key: [order_id]")
    line = line_of(path, "    primary_key: [order_id]")
    return [f"config/sources.yaml:{line}:", "'sources.sales.primary_key' is given twice", "remove one of them"]


def _thresholds_inverted(p: Path) -> list[str]:
    path = p / "config" / "kpis.yaml"
    replace_in(path, "    direction: down\n    thresholds: {good: 0.03, warn: 0.045}",
               "    thresholds: {good: 0.03, warn: 0.045}")  # direction defaults to up: 3.49 % would be green
    line = line_of(path, "thresholds: {good: 0.03, warn: 0.045}")
    return [f"config/kpis.yaml:{line}:", "kpis.return_rate.thresholds:", "good (0.03) is below warn (0.045)",
            "direction is up", "set direction: down"]


def _cycle_backwards(p: Path) -> list[str]:
    path = p / "config" / "okrs.yaml"
    replace_in(path, "  2026-Q4:            # a quarter label gives the dates: 2026-10-01 .. 2026-12-31\n",
               "  2026-Q4:\n    start: 2026-12-31\n    end: 2026-10-01\n")
    line = line_of(path, "end: 2026-10-01")
    return [f"config/okrs.yaml:{line}:", "cycles.2026-Q4.end:", "ends (2026-10-01) before it starts (2026-12-31)"]


def _glob_typo(p: Path) -> list[str]:
    path = p / "config" / "sources.yaml"
    replace_in(path, "data/sales/sales_*.xlsx", "data/sales/sales_*.xslx")  # the other pattern still matches
    line = line_of(path, "sales_*.xslx")
    return [f"config/sources.yaml:{line}:", "sources.sales.paths.1: 'data/sales/sales_*.xslx' matches no file"]


def _severity_on(p: Path) -> list[str]:
    path = p / "config" / "sources.yaml"
    replace_in(path, "    primary_key: [ticket_id]", "    primary_key: [ticket_id]\n    checks:\n"
                                                   "      volume: {severity: on}")
    line = line_of(path, "severity: on")
    return [f"config/sources.yaml:{line}:", "sources.tickets.checks.volume.severity:",
            "YAML reads the unquoted word 'on' as true", "'warn', 'fail' or 'off'", "quote it"]


def _nothing(p: Path) -> list[str]:
    return []


@dataclass(frozen=True)
class Case:
    breaks: Callable[[Path], list[str]]
    args: tuple[str, ...] = tuple(RUN)
    extra: tuple[str, ...] = ()


CASES = {
    "missing-export-folder": Case(_missing_folder),
    "missing-required-column": Case(_missing_column),
    "misspelt-config-key": Case(_misspelt_key),
    "misspelt-kpi-in-report": Case(_misspelt_kpi),
    "sql-syntax-error": Case(_sql_syntax),
    "sql-unknown-column": Case(_sql_unknown_column),
    "unknown-parameter": Case(_unknown_parameter),
    "bad-period": Case(_nothing, ("run", "--period", "2026-13"), ("period '2026-13'", "is not a month period", "2026-10")),
    "invalid-yaml": Case(_invalid_yaml),
    "kpi-defined-twice": Case(_kpi_defined_twice),
    "yaml-key-repeated": Case(_key_repeated),
    "thresholds-inverted-for-direction": Case(_thresholds_inverted),
    "cycle-ends-before-it-starts": Case(_cycle_backwards),
    "one-of-two-globs-matches-nothing": Case(_glob_typo),
    "severity-on-unquoted": Case(_severity_on),
}


def check_error(code: int, out: str, err: str, expected: list[str]) -> str:
    assert code == 2, (code, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("error: ")
    assert "internal error" not in line
    assert re.search(r"\(hint: .+\)$", line), line
    assert line.count("order_id, line_id") <= 1, line  # no list printed twice
    for part in expected:
        assert part in line, (part, line)
    assert "monthly.html" not in out and "monthly.pdf" not in out
    return line


def check_untouched(project: Path, before: dict[str, tuple[bytes, int]]) -> None:
    after = snapshot(project)
    assert sorted(after) == sorted(before)  # no new report, no temporary files
    for name, (content, mtime) in before.items():
        assert after[name][0] == content, f"{name} changed"
        assert after[name][1] == mtime, f"{name} was rewritten"
    leftovers = [p for p in (project / "reports").rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_fails_cleanly_and_keeps_the_last_report(
    name: str, good_project: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    case = CASES[name]
    project = tmp_path / "project"
    shutil.copytree(good_project, project)
    before = snapshot(project)
    assert sorted(before) == ["index.html", "monthly/2026-10/manifest.json", "monthly/2026-10/monthly.html",
                              "monthly/2026-10/monthly.pdf"]
    expected = case.breaks(project) + list(case.extra)

    code, out, err = run_pulse(list(case.args), project, monkeypatch, capsys)

    check_error(code, out, err, expected)
    check_untouched(project, before)


def test_error_names_the_file_relative_to_the_project_folder_given_with_project(
    good_project: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """With --project from another folder, the message still names the file."""
    project = tmp_path / "project"
    shutil.copytree(good_project, project)
    before = snapshot(project)
    expected = _misspelt_key(project)
    code, out, err = run_pulse(["--project", str(project), *RUN], tmp_path, monkeypatch, capsys)
    line = check_error(code, out, err, [part.replace("config/", "project/config/") for part in expected])
    assert "kpis.yaml" in line
    check_untouched(project, before)


def test_fixing_the_input_builds_the_report_again(good_project: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """A failed run leaves nothing behind that blocks the next good run."""
    project = tmp_path / "project"
    shutil.copytree(good_project, project)
    path = project / "queries" / "sales" / "order_lines.sql"
    original = path.read_text(encoding="utf-8")
    _sql_syntax(project)
    code, _, _ = run_pulse(RUN, project, monkeypatch, capsys)
    assert code == 2
    path.write_text(original, encoding="utf-8")
    code, out, err = run_pulse(RUN, project, monkeypatch, capsys)
    assert code == 0, err
    assert [Path(line).name for line in out.splitlines()] == ["monthly.html", "monthly.pdf", "manifest.json"]
    assert not [p for p in (project / "reports").rglob("*") if p.suffix == ".tmp"]


def test_real_process_prints_exactly_one_line(good_project: Path, tmp_path: Path) -> None:
    """Through `python -m pipeline`: nothing but the error line reaches stderr."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}

    def one(name: str):
        project = tmp_path / name
        shutil.copytree(good_project, project)
        before = snapshot(project)
        expected = CASES[name].breaks(project)
        result = subprocess.run(
            [sys.executable, "-m", "pipeline", *RUN], cwd=project, env=env,
            capture_output=True, text=True, encoding="utf-8", timeout=120,
        )
        return project, before, expected, result

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(one, ["missing-required-column", "sql-syntax-error"]))
    for project, before, expected, result in done:
        check_error(result.returncode, result.stdout, result.stderr, expected)
        check_untouched(project, before)
