"""The report context of a segment, and sentences from other stages written in the report's locale."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from pipeline.checks.source_checks import CheckResult
from pipeline.config import KpiConfig, load_project
from pipeline.core.periods import Calendar, Grain
from pipeline.kpis.anomalies import kpi_anomalies
from pipeline.kpis.comparisons import compare
from pipeline.report.context import ReportInputs, build_context
from support.project import REPO

NB = "\u00a0"
CAL = Calendar(Grain.MONTH)
OCTOBER = CAL.parse("2026-10", date(2026, 11, 25))
WINDOW = CAL.window(OCTOBER, 23)


@pytest.fixture(scope="module")
def config():
    return load_project(REPO)


def result(kpi_id: str, kpi: KpiConfig, history: list[float], october: float):
    values = {p.start: history[i % len(history)] for i, p in enumerate(WINDOW)}
    values[OCTOBER.start] = october
    return compare(kpi_id, kpi, values, CAL, OCTOBER)


def segment_results():
    own = result("revenue", KpiConfig(title="Revenue", unit="currency", thresholds={"good": 50000, "warn": 40000}),
                 [52000.0], 51000.0)  # green
    wide = result("complaints", KpiConfig(title="Complaints", unit="count", direction="down",
                                          thresholds={"good": 5, "warn": 8}), [17.0], 13.0)  # red, company-wide
    return [own, replace(wide, company_wide=True)]


def test_a_segments_cover_counts_and_sentences_are_its_own(config):
    report = config.reports["regional"]
    context = build_context(config, "regional", report, OCTOBER, segment_results(),
                            ReportInputs(data_as_of=date(2026, 10, 31), segment="Sjælland"))
    counts = {label: count for _cls, label, count in context.health_counts}
    assert counts == {"On track": 1, "Watch": 0, "Off track": 0}  # the company's red complaints are not counted
    assert not any("Complaints" in m for m in context.movers)
    complaints = next(k for k in context.kpis if k.kpi_id == "complaints")
    assert complaints.scope_note == "company-wide" and complaints.company_wide_only
    assert next(k for k in context.kpis if k.kpi_id == "revenue").scope_note == ""


def test_anomalies_of_company_wide_figures_say_so():
    wild = result("complaints", KpiConfig(title="Complaints", unit="count"), [10.0, 12.0, 11.0, 9.0], 40.0)
    kpis = {"complaints": KpiConfig(title="Complaints", unit="count")}
    (own,) = kpi_anomalies([wild], kpis)
    (wide,) = kpi_anomalies([replace(wild, company_wide=True)], kpis)
    assert own.message.startswith("Complaints is ") and not own.passed
    assert wide.message.startswith("Complaints (company-wide) is ")


@pytest.mark.parametrize(("locale", "volume", "anomaly"), [
    ("da", f"32.858 rows in 2026-10, 116{NB}% of the trailing average 28.326",
     "Complaints is 7,9 standard deviations above its 11-period average"),
    ("en", f"32,858 rows in 2026-10, 116{NB}% of the trailing average 28,326",
     "Complaints is 7.9 standard deviations above its 11-period average"),
])
def test_check_messages_in_the_report_follow_its_locale(config, locale, volume, anomaly):
    checks = [
        CheckResult("sales", "volume", "warn", False, "{rows:count} rows in {period}, {ratio:share} of the trailing "
                    "average {trailing_average:amount}",
                    {"rows": 32858, "period": "2026-10", "ratio": 1.16, "trailing_average": 28325.7}),
        CheckResult("kpi:complaints", "anomaly", "warn", False, "{kpi} is {sigmas:decimal} standard deviations "
                    "{side} its {periods:count}-period average",
                    {"kpi": "Complaints", "sigmas": 7.9, "side": "above", "periods": 11}),
    ]
    config = replace(config, project=config.project.model_copy(update={"locale": locale}))
    context = build_context(config, "monthly", config.reports["monthly"], OCTOBER, segment_results()[:1],
                            ReportInputs(data_as_of=date(2026, 10, 31), checks=checks))
    assert context.quality_warnings == (f"sales: {volume}", f"kpi:complaints: {anomaly}")
    assert [row.message for row in context.quality_checks] == [volume, anomaly]
    assert checks[0].message == "32,858 rows in 2026-10, 116% of the trailing average 28,326"  # logs: plain


def test_an_email_summary_archived_before_the_change_field_was_named_so_still_reads():
    from pipeline.report.summary import KpiLine

    old = {"title": "Revenue", "value": "444.068 kr.", "change_rel": "+4,0 %", "change_class": "good",
           "target": "—", "health": "none", "health_label": "—"}
    line = KpiLine.model_validate(old)
    assert line.change == "+4,0 %" and line.scope_note == "" and line.sample_note == ""
    assert "change_rel" not in line.model_dump() and line.model_dump()["change"] == "+4,0 %"


def chart_svg(image: str) -> str:
    """The SVG document of a chart's <img> (a base64 data: URI)."""
    import base64
    import re

    found = re.fullmatch(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)" alt="[^"<>]+">', image)
    assert found, image[:120]
    return base64.b64decode(found.group(1)).decode("utf-8")


def y_tick_labels(image: str) -> list[str]:
    import xml.etree.ElementTree as ET

    ns = "{http://www.w3.org/2000/svg}"
    return ["".join(t.itertext()) for t in ET.fromstring(chart_svg(image)).iter(f"{ns}text")
            if t.get("text-anchor") == "end"]


@pytest.mark.parametrize(("history", "october", "expected"), [
    ([1.0, 2.0, 0.0, 1.0], 2.0, ["0", "1", "2"]),  # a small count: whole ticks, never 0.4, 0.8, 1.6
    ([0.0], 0.0, ["0", "1"]),  # all zero: the axis starts at 0, nothing below it
])
def test_a_count_kpis_chart_has_whole_non_negative_ticks(history, october, expected):
    from pipeline.report.context import kpi_row

    row = kpi_row(result("orders", KpiConfig(title="Orders", unit="count"), history, october), "en", "DKK")
    assert y_tick_labels(str(row.chart_svg)) == expected


def test_a_segments_report_marks_source_checks_company_wide(config):
    source = CheckResult("sales", "volume", "warn", False, "214 rows in 2026-10, 35 % of the trailing average 606")
    inputs = ReportInputs(data_as_of=date(2026, 10, 31), segment="Malta", checks=[source])
    context = build_context(config, "regional", config.reports["regional"], OCTOBER, segment_results(), inputs)
    assert context.quality_warnings[0].startswith("sales (company-wide): ")
    assert context.quality_checks[0].scope == "sales (company-wide)"
    assert "not only Malta" in context.quality_scope_note
    company = build_context(config, "regional", config.reports["regional"], OCTOBER, segment_results(),
                            replace(inputs, segment=None))
    assert company.quality_checks[0].scope == "sales" and company.quality_scope_note == ""
    assert company.document_title == "Nordlys Kaffe ApS · Regional sales review · October 2026"
    assert context.document_title == "Nordlys Kaffe ApS · Regional sales review · Malta · October 2026"


def test_a_query_several_kpis_run_is_listed_once_under_the_first(config):
    from pipeline.report.appendix import methodology_rows

    sla = config.kpis["sla_met_rate"]
    kpis = {**config.kpis, "sla_48": sla.model_copy(update={"title": "SLA in 48 h", "params": {"sla_hours": 48}}),
            "sla_again": sla.model_copy(update={"title": "SLA again"})}
    project = replace(config, kpis=kpis)
    ids = ["orders", "complaints", "active_customers", "sla_met_rate", "sla_48", "sla_again"]
    sql = {k: project.query_path(k).read_text(encoding="utf-8") for k in ids}
    rows = {r.kpi_id: r for r in methodology_rows(project, ids, sql, OCTOBER)}
    assert rows["orders"].sql_lines and rows["orders"].listed_under is None
    assert rows["complaints"].sql_lines and rows["complaints"].listed_under is None  # its own query
    shared = rows["active_customers"]
    assert shared.sql_lines == () and shared.listed_under == ("orders", "Orders")
    assert shared.query_name == "queries/sales/order_lines.sql, column active_customers"
    assert shared.description == config.kpis["active_customers"].description
    assert rows["sla_48"].sql_lines and rows["sla_48"].listed_under is None  # other bound values: other SQL
    assert "48 /* $sla_hours */" in rows["sla_48"].sql
    assert rows["sla_again"].listed_under == ("sla_met_rate", "SLA met")


def test_the_contents_are_two_columns_the_first_one_the_longer(config):
    with_checks = ReportInputs(data_as_of=date(2026, 10, 31), checks=[
        CheckResult("sales", "volume", "warn", False, "214 rows in 2026-10, 35 % of the trailing average 606")])
    for inputs in (ReportInputs(data_as_of=date(2026, 10, 31)), with_checks):
        context = build_context(config, "monthly", config.reports["monthly"], OCTOBER, segment_results(), inputs)
        first, second = context.toc_columns
        assert first + second == context.toc  # in reading order
        assert len(first) - len(second) in (0, 1), (len(first), len(second))
    assert len(context.toc) % 2 == 1 and len(first) == len(second) + 1  # an odd number: one more on the left


def test_each_chart_is_an_svg_image_with_alt_text():
    """WeasyPrint gives a chart image's alt text to its figure in the PDF (/Alt, PDF/UA); browsers show it as SVG."""
    from pipeline.report.context import kpi_row

    orders = result("orders", KpiConfig(title="Orders", unit="count"), [1.0, 2.0, 0.0, 1.0], 2.0)
    row = kpi_row(orders, "en", "DKK")
    span = f"{orders.series[0].label} to {orders.series[-1].label}"
    assert span == "2025-11 to 2026-10"
    assert chart_svg(str(row.chart_svg)).startswith("<svg")
    assert chart_svg(str(row.sparkline_svg)).startswith("<svg")
    assert str(row.chart_svg).endswith(f' alt="Orders per period, {span}, with last year">')
    assert str(row.sparkline_svg).endswith(f' alt="Orders, {span}">')
