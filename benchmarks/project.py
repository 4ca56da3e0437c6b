"""A benchmark project: this repository's config, queries and templates over generated exports.

The exports are hard-linked into <project>/data (no copies; the same file
system as the generated data), so the project stays self-contained and a
"new monthly export" is one more link. The real KPI queries are kept; the
`segments` report bursts by a synthetic dimension (`segment`, N values derived
from the customer id) through copies of the sales queries that return it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SEGMENT_KPIS = ["revenue", "orders", "average_order_value", "active_customers", "return_rate"]


def build_project(target: Path, data: Path, fmt: str, *, segments: int = 0, memory_limit: str | None = None,
                  threads: int | None = None, render_workers: int | None = None,
                  engine: dict | None = None) -> Path:
    """(Re)create the project at `target` with every export of `data` linked in (`engine`: config/pulse.yaml's
    engine block, e.g. a local Spark session)."""
    if target.exists():
        shutil.rmtree(target)
    for name in ("config", "queries", "report_templates"):
        shutil.copytree(REPO / name, target / name)
    ext = "parquet" if fmt == "parquet" else "csv"
    sources = yaml.safe_load((target / "config" / "sources.yaml").read_text())
    sources["sources"]["sales"]["paths"] = [f"data/sales/sales_*.{ext}"]
    sources["sources"]["tickets"]["paths"] = [f"data/support/tickets_*.{ext}"]
    _dump(target / "config" / "sources.yaml", sources)
    settings = yaml.safe_load((target / "config" / "pulse.yaml").read_text())
    for key, value in (("memory_limit", memory_limit), ("threads", threads), ("render_workers", render_workers)):
        if value is not None:
            settings["project"][key] = value
    if engine is not None:
        settings["engine"] = engine
    _dump(target / "config" / "pulse.yaml", settings)
    if segments:
        _add_segments_report(target, segments)
    link_exports(target, data)
    return target


def link_exports(target: Path, data: Path, skip_last: bool = False) -> list[Path]:
    """Hard-link the exports into target/data (all months, or all but the last)."""
    linked = []
    for folder in ("sales", "support"):
        files = sorted((data / folder).glob("*_*.*"))
        files = [f for f in files if not f.name.endswith(".tmp")]
        if skip_last:
            files = files[:-1]
        (target / "data" / folder).mkdir(parents=True, exist_ok=True)
        for source in files:
            link = target / "data" / folder / source.name
            if not link.exists():
                os.link(source, link)
                linked.append(link)
    return linked


def _add_segments_report(target: Path, segments: int) -> None:
    """A report bursting by `segment`: customer ids spread over `segments` values."""
    bench = target / "queries" / "bench"
    bench.mkdir()
    expression = f"'S' || lpad(CAST(hash(s.customer_id) % {segments} AS VARCHAR), 2, '0')"
    kpis = yaml.safe_load((target / "config" / "kpis.yaml").read_text())
    for kpi_id in SEGMENT_KPIS:
        sql = (target / "queries" / f"{kpis['kpis'][kpi_id]['query']}.sql").read_text()
        sql = sql.replace("coalesce(s.region, 'unknown')", expression).replace("AS region", "AS segment")
        (bench / f"{kpi_id}.sql").write_text(sql)
        kpis["kpis"][f"seg_{kpi_id}"] = {**kpis["kpis"][kpi_id], "query": f"bench/{kpi_id}"}
    _dump(target / "config" / "kpis.yaml", kpis)
    reports = yaml.safe_load((target / "config" / "reports.yaml").read_text())
    reports["reports"]["segments"] = {
        "title": "Segment review", "grain": "month", "formats": ["html", "pdf"], "burst_by": "segment",
        "okrs": False, "kpis": [f"seg_{k}" for k in SEGMENT_KPIS],
    }
    _dump(target / "config" / "reports.yaml", reports)


def _dump(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
