"""The bad-input corpus (tests/corpus/cases.yaml): every case through the real CLI.

Each case builds a small project from the corpus table, runs `pulse check
--period 2026-10` (or the case's args) through `pipeline.cli.main` in-process
and compares the exit code and stderr with the table: exit 2 and one error
line for input and config errors, exit 3 for a failed data-quality gate, exit
0 with the exact loaded rows (and quarantined rejects) otherwise.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.core.database import connect
from support.project import run_pulse

CORPUS = Path(__file__).parent / "corpus"
TABLE = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
BASE = TABLE["base"]
CASES = TABLE["cases"]


def merged(base: dict, override: dict) -> dict:
    """`base` with `override` merged in (dicts deep, everything else replaced)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def build(case: dict, folder: Path) -> Path:
    root = folder / "project"
    outside = folder / "outside"
    for sub in ("config", "queries", "data"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    source = merged(BASE["source"], case.get("source", {}))
    source["paths"] = [p.replace("{outside}", str(outside)) for p in source["paths"]]
    config = {
        "pulse.yaml": {"project": merged(BASE["project"], case.get("project", {}))},
        "sources.yaml": {"sources": {"orders": source}},
        "kpis.yaml": {"kpis": {"orders": {"title": "Orders", "unit": "count", "fill": "zero"}}},
        "reports.yaml": {"reports": {"monthly": {"title": "Orders", "kpis": ["orders"]}}},
    }
    for name, data in config.items():
        (root / "config" / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                            encoding="utf-8")
    (root / "queries" / "orders.sql").write_text(
        "SELECT p.period_start AS period, count(*) AS value FROM periods p "
        "JOIN orders o ON o.day >= p.period_start AND o.day < p.period_end GROUP BY ALL\n", encoding="utf-8")
    for target, fixture in case.get("files", {}).items():
        shutil.copyfile(CORPUS / "files" / fixture, root / target)
    for target, fixture in case.get("outside", {}).items():
        (folder / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / "files" / fixture, folder / target)
    for link, target in case.get("symlinks", {}).items():
        os.symlink(target, root / link)
    return root


def table_state(root: Path) -> tuple[list, list, int]:
    con = connect(root / ".pulse" / "pulse.duckdb", "Europe/Copenhagen")
    try:
        rows = con.execute(
            "SELECT order_id, CAST(day AS VARCHAR), amount, status, note FROM orders ORDER BY order_id"
        ).fetchall()
        rejects = con.execute(
            "SELECT file, line, column_name, value, reason FROM _pulse_rejects ORDER BY file, line, column_name"
        ).fetchall()
        skipped = con.execute("SELECT coalesce(sum(skipped_headers), 0) FROM _pulse_files").fetchall()[0][0]
    finally:
        con.close()
    return [list(r) for r in rows], [list(r) for r in rejects], skipped


def test_the_corpus_has_enough_cases() -> None:
    assert len(CASES) >= 30
    used = {f for case in CASES.values() for f in [*case.get("files", {}).values(), *case.get("outside", {}).values()]}
    assert used == {p.name for p in (CORPUS / "files").iterdir()}  # no orphan or missing fixtures


@pytest.mark.parametrize("name", list(CASES))
def test_corpus_case(name: str, tmp_path: Path, monkeypatch, capsys) -> None:
    case = CASES[name]
    root = build(case, tmp_path)
    code, out, err = run_pulse(case.get("args", BASE["args"]), root, monkeypatch, capsys)

    assert "Traceback" not in err and "internal error" not in err, err
    assert code == case["exit"], (code, err)
    for part in case.get("error", []):
        assert part in err, (part, err)
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and re.match(r"^error: .+ \(hint: .+\)$", lines[0]), err
    if code == 0:
        assert err == ""
        assert "Data-quality checks for 2026-10" in out
    if "rows" in case or "rejects" in case or "skipped_headers" in case:
        rows, rejects, skipped = table_state(root)
        assert rows == case.get("rows", rows)
        assert rejects == case.get("rejects", [])
        assert skipped == case.get("skipped_headers", 0)
