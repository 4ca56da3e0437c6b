"""A tiny one-source project (`items`) with the given export files, ingested as the runner does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.config import load_project
from pipeline.core.database import connect
from pipeline.core.errors import ConfigError, InputError
from pipeline.sources.ingest import IngestReport, ingest
from pipeline.sources.quarantine import Reject, rejects

COLUMNS = {
    "id": {"type": "integer"},
    "amount": {"type": "number", "required": False},
    "name": {"type": "text", "required": False},
    "day": {"type": "date", "required": False},
}


def make(root: Path, files: dict[str, bytes | str], *, options: dict | None = None, columns: dict | None = None,
         paths: str | list[str] = "data/*.csv", primary_key: list[str] | None = None, source: dict | None = None,
         project: dict | None = None) -> Path:
    """A minimal valid project at `root` with one source `items` and the given files."""
    for folder in ("config", "queries", "data"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    spec: dict = {"paths": paths, "columns": columns or COLUMNS, "primary_key": primary_key or []}
    if options:
        spec["options"] = options
    spec.update(source or {})
    config = {
        "pulse.yaml": {"project": {"company": "Testfirma ApS", "timezone": "Europe/Copenhagen", **(project or {})}},
        "sources.yaml": {"sources": {"items": spec}},
        "kpis.yaml": {"kpis": {"item_count": {"title": "Items", "unit": "count"}}},
        "reports.yaml": {"reports": {"monthly": {"title": "Items", "kpis": ["item_count"]}}},
    }
    for name, data in config.items():
        (root / "config" / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (root / "queries" / "item_count.sql").write_text(
        "SELECT p.period_start AS period, count(*) AS value FROM periods p "
        "JOIN items i ON i.day >= p.period_start AND i.day < p.period_end GROUP BY ALL\n", encoding="utf-8")
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def load(root: Path, columns: str = "id, amount, name, day") -> tuple[IngestReport, list[tuple], list[Reject]]:
    """Ingest into the project's DuckDB file: the report, the table's rows and the rejects."""
    config = load_project(root)
    con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    try:
        report = ingest(con, config)
        rows = con.execute(f"SELECT {columns} FROM items ORDER BY ALL").fetchall()
        return report, rows, rejects(con)
    finally:
        con.close()


def error_of(root: Path) -> InputError | ConfigError:
    with pytest.raises((InputError, ConfigError)) as info:
        load(root)
    line = info.value.one_line()
    assert "\n" not in line and line.startswith("error: ") and "(hint: " in line
    return info.value
