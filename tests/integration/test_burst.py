"""One report per segment (burst_by): files, titles and per-segment numbers.

Per-region figures are checked against an independent Polars computation from
the raw export files (the helpers of test_kpi_values).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from pipeline.app import runner, workspace
from pipeline.outputs.names import slug
from pipeline.report import render
from support.project import NOW, make_project
from support.reference import dedupe, read_sales_files, sales_kpis

REGIONS = ["Hovedstaden", "Midtjylland", "Nordjylland", "Sjælland", "Syddanmark"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_exports):
    project = make_project(tmp_path_factory.mktemp("burst") / "project", demo_exports)
    result = runner.run_report(project, "regional", "2026-10", now=NOW)
    manifest = json.loads((result.folder / "manifest.json").read_text())
    return project, result, manifest


@pytest.fixture(scope="module")
def sales(demo_exports):
    return dedupe(read_sales_files(demo_exports), ["order_id", "line_id"])


def test_slug_is_file_name_safe():
    assert slug("Sjælland") == "sjaelland"
    assert slug("Ærø / Ålborg") == "aeroe-aalborg"
    assert slug("../../etc") == "etc"


def test_one_html_and_pdf_per_region_plus_company_wide(built):
    _, result, manifest = built
    names = sorted(p.name for p in result.files)
    expected = {"regional.html", "regional.pdf", "manifest.json"}
    for region in REGIONS:
        expected |= {f"regional-{slug(region)}.html", f"regional-{slug(region)}.pdf"}
    assert set(names) == expected
    assert sorted(manifest["segments"]) == REGIONS


@pytest.mark.parametrize("region", REGIONS)
def test_segment_numbers_match_independent_computation(built, sales, region):
    _, _, manifest = built
    frame = sales.filter(sales["region"] == region)
    start, end = datetime(2026, 10, 1), datetime(2026, 11, 1)
    expected = sales_kpis(frame, start, end)
    previous = sales_kpis(frame, datetime(2026, 9, 1), start)
    figures = manifest["segments"][region]["kpis"]
    for kpi_id in ("revenue", "orders", "average_order_value", "active_customers", "return_rate"):
        assert figures[kpi_id]["value"] == pytest.approx(expected[kpi_id], rel=1e-9), (region, kpi_id)
        assert figures[kpi_id]["previous"] == pytest.approx(previous[kpi_id], rel=1e-9), (region, kpi_id)


def test_segments_add_up_to_the_company_for_additive_kpis(built):
    _, _, manifest = built
    for kpi_id in ("revenue", "orders"):
        total = sum(manifest["segments"][r]["kpis"][kpi_id]["value"] for r in REGIONS)
        assert total == pytest.approx(manifest["kpis"][kpi_id]["value"], rel=1e-9)


def test_kpis_without_the_dimension_are_company_wide_and_marked(built):
    project, result, manifest = built
    for region in REGIONS:
        segment = manifest["segments"][region]
        assert segment["company_wide_only"] == ["complaints"]
        assert segment["kpis"]["complaints"]["value"] == manifest["kpis"]["complaints"]["value"]
    html = (result.folder / f"regional-{slug('Sjælland')}.html").read_text()
    assert "Segment: Sjælland" in html
    assert 'class="kpi company-wide"' in html and "company-wide</small>" in html
    company = (result.folder / "regional.html").read_text()
    assert "Segment:" not in company


def test_segment_reports_carry_no_company_target(built):
    _, _, manifest = built
    assert manifest["kpis"]["revenue"]["target"] == 480000
    assert all(manifest["segments"][r]["kpis"]["revenue"]["target"] is None for r in REGIONS)


def test_each_kpi_query_runs_once_for_all_segments(tmp_path, demo_exports, monkeypatch):
    project = make_project(tmp_path / "project", demo_exports)
    calls = []
    original = workspace.kpis.run_sql

    def counting(con, sql, params, path_shown, *args, **kwargs):
        if path_shown != "a data-quality check":  # the source checks' own statements run through it too
            calls.append(path_shown)
        return original(con, sql, params, path_shown, *args, **kwargs)

    monkeypatch.setattr(workspace.kpis, "run_sql", counting)
    monkeypatch.setattr(render, "render_pdf", lambda html, templates_dir, *_: b"%PDF-1.7 stub")
    runner.run_report(project, "regional", "2026-10", now=NOW)
    assert calls and sorted(calls) == sorted(set(calls)), "a KPI query ran more than once"
    assert sum(shown.endswith("order_lines.sql") for shown in calls) == 1  # four KPIs, one execution
