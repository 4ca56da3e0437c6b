"""The demo project on a local Spark session gives DuckDB's numbers: every KPI, period and segment, the checks and
the OKR scores, with the demo exports' warts (re-exported days, restated returns, the .xlsx month, open
tickets). Counts are exact, other values within 1e-9 relative. One Spark session for the module."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from pipeline.app import runner, workspace
from pipeline.core.periods import Grain
from pipeline.report import render
from support.project import NOW, make_project, stub_pdf

PERIODS = ("2026-10",)  # the demo's last month: its window (24 months and the OKR cycle) holds the .xlsx month


def engine_spark(root: Path) -> Path:
    with open(root / "config" / "pulse.yaml", "a", encoding="utf-8") as handle:
        handle.write("engine:\n  name: spark\n  master: local[2]\n")
    return root


def numbers(root: Path) -> dict:
    """What each engine hands the rest of the pipeline, for the demo's report periods."""
    ws = workspace.open_workspace(root)
    try:
        out: dict = {"engine": ws.engine.kind, "ingest": ws.ingest, "ranges": ws.ranges,
                     "latest": workspace.data_as_of(ws, list(ws.config.sources))}
        report = ws.config.reports["monthly"]
        calendar = workspace.calendar_for(ws.config, report.grain)
        for label in PERIODS:
            period = workspace.resolve_period(ws.config, Grain.MONTH, label, NOW)
            out[label, "checks"] = workspace.quality_gate(ws, calendar, period, NOW)
            window = workspace.report_window(calendar, period)
            out[label, "series"] = workspace.kpi_series_full(ws, list(ws.config.kpis), window, period)
            out[label, "okrs"] = workspace.okr_results(ws, calendar, period)
        return out
    finally:
        ws.close()


@pytest.fixture(scope="module")
def roots(tmp_path_factory, demo_exports) -> tuple[Path, Path]:
    """The demo project on DuckDB and on Spark (the module's two projects)."""
    return (make_project(tmp_path_factory.mktemp("duckdb") / "project", demo_exports),
            engine_spark(make_project(tmp_path_factory.mktemp("spark") / "project", demo_exports)))


@pytest.fixture(scope="module")
def both(roots) -> tuple[dict, dict]:
    return numbers(roots[0]), numbers(roots[1])


def same(kpi_unit: str, a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    if kpi_unit == "count":
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def close(a, b) -> bool:
    """Equal JSON values, numbers within 1e-9 relative."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9)
    return a == b


def test_the_engines_are_the_ones_configured(both):
    duck, spark = both
    assert (duck["engine"], spark["engine"]) == ("duckdb", "spark")


def test_every_kpi_period_and_segment_is_the_same(both, demo_exports):
    duck, spark = both
    from pipeline.config import load_project

    units = {k: v.unit for k, v in load_project(Path(__file__).resolve().parents[2]).kpis.items()}
    compared = 0
    for label in PERIODS:
        left, right = duck[label, "series"], spark[label, "series"]
        assert left.keys() == right.keys()
        for kpi, series in left.items():
            unit = units[kpi]
            assert series.values.keys() == right[kpi].values.keys()
            for start, value in series.values.items():
                assert same(unit, value, right[kpi].values[start]), (kpi, start, value, right[kpi].values[start])
                compared += 1
            assert series.by_dimension.keys() == right[kpi].by_dimension.keys(), kpi
            for dimension, segments in series.by_dimension.items():
                assert segments.keys() == right[kpi].by_dimension[dimension].keys()
                for segment, values in segments.items():
                    for start, value in values.items():
                        other = right[kpi].by_dimension[dimension][segment][start]
                        assert same(unit, value, other), (kpi, segment, start, value, other)
                        compared += 1
    assert compared > 13 * 24 * 2  # every KPI over the window, plus the regional segments


def test_the_okr_scores_are_the_same(both):
    duck, spark = both
    for label in PERIODS:
        left, right = duck[label, "okrs"], spark[label, "okrs"]
        assert left is not None and right is not None
        assert [o.objective_id for o in left.objectives] == [o.objective_id for o in right.objectives]
        for a, b in zip(left.objectives, right.objectives):
            assert math.isclose(a.score, b.score, rel_tol=1e-9) and a.status == b.status
            for ka, kb in zip(a.key_results, b.key_results):
                assert ka.kr_id == kb.kr_id and ka.status == kb.status
                for x, y in ((ka.baseline, kb.baseline), (ka.current, kb.current), (ka.attainment, kb.attainment),
                             (ka.score, kb.score)):
                    assert same("number", x, y), (ka.kr_id, x, y)


def test_the_checks_and_what_was_read_are_the_same(both):
    duck, spark = both
    for label in PERIODS:
        assert [(c.scope, c.name, c.passed, c.numbers) for c in duck[label, "checks"]] == \
            [(c.scope, c.name, c.passed, c.numbers) for c in spark[label, "checks"]]
    assert duck["latest"] == spark["latest"] is not None
    assert duck["ranges"] == spark["ranges"]  # each source's event-time column, first and last event
    assert all(r.known and r.first is not None for r in spark["ranges"].values())
    files = [(f.source, f.path, f.rows, f.sha256, f.skipped_headers, f.skipped_blank) for f in duck["ingest"].files]
    assert files == [(f.source, f.path, f.rows, f.sha256, f.skipped_headers, f.skipped_blank)
                     for f in spark["ingest"].files]
    assert [(s.name, s.rows, s.fingerprint) for s in duck["ingest"].sources] == \
        [(s.name, s.rows, s.fingerprint) for s in spark["ingest"].sources]


def test_the_demo_warts_are_covered(both):
    """The comparison above would not notice a wart it never met: the demo has each of them."""
    duck, spark = both
    xlsx = [f for f in spark["ingest"].files if f.path.endswith(".xlsx")]
    assert len(xlsx) == 1 and xlsx[0].rows > 500  # the Excel month, read on the driver into Spark
    sales = next(s for s in spark["ingest"].sources if s.name == "sales")
    read = sum(f.rows for f in spark["ingest"].files if f.source == "sales")
    assert read > sales.rows  # re-exported days: later files replace earlier rows by primary key
    june = spark["2026-10", "series"]["revenue"]
    assert june.values[date(2025, 6, 1)] > 0.5 * june.values[date(2025, 5, 1)]  # the Excel month's revenue
    assert spark["2026-10", "series"]["return_rate"].values[date(2026, 10, 1)] > 0  # restated returns count
    assert spark["2026-10", "series"]["open_backlog"].values[date(2026, 10, 1)] > 0  # open tickets


def test_a_whole_run_on_spark_writes_duckdbs_figures(both, roots, monkeypatch):
    """The runner, report and manifest do not know which engine ran: the same KPI values and scores. (On the
    module's projects: Spark reads the exports again; KPI values it computed above come from the result cache,
    kept per engine.)"""
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    duck = runner.run_report(roots[0], "monthly", "2026-10", now=NOW)
    spark = runner.run_report(roots[1], "monthly", "2026-10", now=NOW)
    for a, b in zip(duck.kpis, spark.kpis):
        assert a.kpi_id == b.kpi_id and same("number", a.value, b.value)
    import json

    left = json.loads((duck.folder / "manifest.json").read_text())
    right = json.loads((spark.folder / "manifest.json").read_text())
    assert close(left["okrs"], right["okrs"])
    assert {k: v["value"] for k, v in left["kpis"].items()} == pytest.approx(
        {k: v["value"] for k, v in right["kpis"].items()}, rel=1e-9)
