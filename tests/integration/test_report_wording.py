"""What the report says in words and numbers: one change per KPI, a segment's own figures,
one locale, the methodology as it runs, plain-text check-ins, small samples.

The demo project is built for 2026-10 (monthly, and regional with one report per
region) with a stand-in PDF; the tests read the HTML, the manifest's email
summaries and the terminal's KPI table.
"""

from __future__ import annotations

import base64
import html as html_lib
import json
import re
from pathlib import Path

import pytest
import yaml

from pipeline.app import runner
from pipeline.delivery.message import text_body
from pipeline.outputs.manifest import Manifest
from pipeline.report import render
from support.project import NOW, REPO, make_project, run_pulse, stub_pdf

NB = "\u00a0"


def build(project: Path, report: str) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "render_pdf", stub_pdf)
        return runner.run_report(project, report, "2026-10", now=NOW).folder


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_exports) -> dict:
    project = make_project(tmp_path_factory.mktemp("wording") / "project", demo_exports)
    monthly, regional = build(project, "monthly"), build(project, "regional")
    return {"project": project, "monthly": monthly, "regional": regional,
            "manifest": Manifest.read(monthly / "manifest.json"),
            "regional_manifest": Manifest.read(regional / "manifest.json")}


def table_changes(html: str) -> dict[str, str]:
    """KPI id -> the change in its table row's "vs previous" cell (first line)."""
    rows = re.findall(r'<tr class="kpi[^"]*" id="kpi-(\w+)".*?</tr>', html, re.S)
    found = {}
    for kpi_id, row in zip(rows, re.findall(r'<tr class="kpi[^"]*" id="kpi-\w+".*?</tr>', html, re.S)):
        cells = re.findall(r'<td class="num change \w+">(.*?)<br>', row, re.S)
        found[kpi_id] = html_lib.unescape(cells[0])
    return found


def trend_headlines(html: str) -> dict[str, str]:
    """KPI id -> the change in its trend chart's headline."""
    return {k: html_lib.unescape(v) for k, v in re.findall(
        r'<article class="trend" id="trend-(\w+)">.*?<span class="change \w+">(.*?)</span>', html, re.S)}


def visible_text(html: str) -> str:
    """The text a reader sees, without styles, charts and the SQL of the methodology."""
    html = re.sub(r"<style.*?</style>|<div class=\"sql\">.*?</div></div>", " ", html, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


# -- item 6: one change per KPI, the same everywhere ---------------------------------
def test_each_kpi_has_one_change_shown_the_same_everywhere(demo, monkeypatch, capsys):
    html = (demo["monthly"] / "monthly.html").read_text(encoding="utf-8")
    table, headlines = table_changes(html), trend_headlines(html)
    email = {line.title: line.change for line in demo["manifest"].summary.company.kpis}
    assert set(table) == set(headlines) and len(table) == 13
    titles = {k: v.title for k, v in zip(table, demo["manifest"].summary.company.kpis)}
    for kpi_id, change in table.items():
        assert headlines[kpi_id] == change, kpi_id
        assert email[titles[kpi_id]] == change, kpi_id
    # rates in percentage points everywhere, never a relative change of a rate ("+361,5 %")
    for rate in ("return_rate", "repeat_customer_rate", "sla_met_rate"):
        assert table[rate].endswith(f"{NB}pp"), table[rate]
    assert table["revenue"] == f"+4,0{NB}%"
    code, out, err = run_pulse(["kpis", "--period", "2026-10"], demo["project"], monkeypatch, capsys)
    assert code == 0, err
    for kpi_id, title in (("return_rate", "Return"), ("revenue", "Revenue"), ("complaints", "Complaints")):
        line = next(line for line in out.splitlines() if line.startswith(f"│ {title} "))
        assert table[kpi_id] in line, (table[kpi_id], line)


# -- item 7: movers -------------------------------------------------------------------
def test_the_summary_leads_with_status_changes_and_says_from_which_month(demo):
    movers = demo["manifest"].summary.company.movers
    assert movers == (
        f"Median resolution time rose 11,2{NB}% from September to 2,2{NB}d, now watch (was on track).",
        f"SLA met fell 9,3{NB}pp from September to 76,7{NB}%, now off track (was watch).",
        f"Revenue rose 4,0{NB}% from September to 444.068{NB}kr., 35.932{NB}kr. behind target.",
    )
    html = (demo["monthly"] / "monthly.html").read_text(encoding="utf-8")
    assert all(html_lib.escape(m, quote=False) in html for m in movers)
    assert " on September" not in html


# -- item 5: a segment's report speaks of the segment ----------------------------------
def test_segment_sentences_use_the_segments_own_figures(demo):
    manifest = demo["regional_manifest"]
    for segment, summary in manifest.summary.segments.items():
        figures = manifest.segments[segment].kpis
        assert summary.movers, segment
        for sentence in summary.movers:
            assert not sentence.startswith("Complaints"), (segment, sentence)  # a company-wide figure
        company_value = next(k.value for k in manifest.summary.company.kpis if k.title == "Revenue")
        revenue = next(k for k in summary.kpis if k.title == "Revenue")
        assert revenue.value != company_value and figures["revenue"].value < manifest.kpis["revenue"].value
        for sentence in summary.movers:  # the value a sentence ends on is the segment's
            line = next(k for k in summary.kpis if sentence.startswith(k.title + " "))
            assert f" to {line.value}" in sentence, (segment, sentence, line.value)


def test_company_wide_kpis_are_named_as_such_in_table_charts_and_email(demo):
    html = (demo["regional"] / "regional-sjaelland.html").read_text(encoding="utf-8")
    row = re.search(r'<tr class="kpi company-wide" id="kpi-complaints".*?</tr>', html, re.S)
    assert row and "company-wide" in row.group()
    trend = re.search(r'<article class="trend" id="trend-complaints">\s*<h3>(.*?)</h3>', html, re.S)
    assert trend and "company-wide" in trend.group(1)
    own = re.search(r'<article class="trend" id="trend-revenue">\s*<h3>(.*?)</h3>', html, re.S)
    assert own and "company-wide" not in own.group(1)
    summary = demo["regional_manifest"].summary.segments["Sjælland"]
    complaints = next(k for k in summary.kpis if k.title == "Complaints")
    assert complaints.scope_note == "company-wide"
    assert "Complaints (company-wide): 13" in text_body(summary, "regional-sjaelland-2026-10.pdf")
    company = (demo["regional"] / "regional.html").read_text(encoding="utf-8")
    assert "company-wide" not in visible_text(company)  # in the company's own report every figure is


# -- item 9: one locale ------------------------------------------------------------------
@pytest.fixture(scope="module", params=["da", "en"])
def localised(request, tmp_path_factory, demo_exports) -> tuple[str, str]:
    project = make_project(tmp_path_factory.mktemp(f"locale-{request.param}") / "project", demo_exports)
    path = project / "config" / "pulse.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["project"]["locale"] = request.param
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    folder = build(project, "monthly")
    return request.param, (folder / "monthly.html").read_text(encoding="utf-8")


def test_numbers_follow_the_reports_locale_everywhere(localised, demo):
    locale, html = localised
    reports = {locale: visible_text(html),
               "en_DK": visible_text((demo["monthly"] / "monthly.html").read_text(encoding="utf-8"))}
    for name, text in reports.items():
        assert "kr.." not in text, name
        if name == "en":
            assert re.search(r"expected progress 0\.34", text) and re.search(r"\b25,013 rows\b", text)
            assert not re.search(r"\b\d+,\d\d\b", text), re.findall(r".{30}\b\d+,\d\d\b.{10}", text)[:3]
        else:  # da and en_DK: decimal comma, thousands point
            assert "expected progress 0,34" in text and re.search(r"\b25\.013 rows\b", text), name
            assert f"116{NB}% of the trailing average 967" in text, name
            english = re.findall(r".{30}(?<![\d.])(?:\d{1,3}(?:,\d{3})+|0\.\d\d)(?![\d.]).{10}", text)
            assert not english, (name, english[:5])


# -- the methodology appendix -------------------------------------------------------------
def test_the_methodology_shows_bound_values_the_real_window_and_keeps_indentation(demo):
    html = (demo["monthly"] / "monthly.html").read_text(encoding="utf-8")
    method = re.search(r'<article class="method" id="method-sla_met_rate">.*?</article>', html, re.S).group()
    assert "24 /* $sla_hours */ * 3600" in html_lib.unescape(method)
    assert "$sla_hours = 24" in method  # and named beside the query
    code = [line for line in re.findall(r'<div class="sql-line"[^>]*>(.*?)</div>', method) if not line.startswith("--")]
    assert all("$sla_hours" not in line or "24 /* $sla_hours */" in line for line in code)
    text = visible_text(html)
    assert "window of 24 periods (1 November 2024 – 31 October 2026)" in " ".join(text.split())
    assert "12-period window" not in text
    lines = re.findall(r'<div class="sql-line" style="padding-left: calc\((\d+)ch \+ 2ch\)">(.*?)</div>', method)
    assert ("0", "SELECT p.period_start AS period,") in lines
    assert ("7", "avg(CASE") in lines  # the indentation kept as padding, so a wrapped line hangs under itself
    sql = (demo["project"] / "queries" / "support" / "sla_met_rate.sql").read_text(encoding="utf-8")
    shown = "\n".join(" " * int(indent) + html_lib.unescape(line) for indent, line in lines)
    assert shown == sql.strip().replace("$sla_hours * 3600", "24 /* $sla_hours */ * 3600")  # comments as written


def test_a_shared_query_is_listed_once_and_the_kpis_sharing_it_point_there(demo):
    html = (demo["monthly"] / "monthly.html").read_text(encoding="utf-8")
    assert html.count("count(DISTINCT l.customer_id) AS active_customers") == 1
    for kpi_id in ("orders", "average_order_value", "active_customers", "repeat_customer_rate", "return_rate"):
        method = re.search(rf'<article class="method" id="method-{kpi_id}">.*?</article>', html, re.S).group()
        assert 'class="sql' not in method
        assert f"order_lines.sql, column {kpi_id}" in method
        assert 'Its query is listed under <a href="#method-revenue">Revenue</a>.' in method
    revenue = re.search(r'<article class="method" id="method-revenue">.*?</article>', html, re.S).group()
    assert "count(DISTINCT l.customer_id) AS active_customers" in revenue


# -- check-in comments are plain text -------------------------------------------------------
def test_a_checkin_comment_is_plain_text_shown_as_typed(tmp_path, demo_exports):
    assert "<" not in (REPO / "config" / "checkins.yaml").read_text(encoding="utf-8").split("checkins:")[1]
    project = make_project(tmp_path / "project", demo_exports)
    path = project / "config" / "checkins.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Pilot with 200 customers started on time.",
                                 '"Pilot <b>started</b> & <script>x()</script> on time."'), encoding="utf-8")
    html = (build(project, "monthly") / "monthly.html").read_text(encoding="utf-8")
    assert "Pilot &lt;b&gt;started&lt;/b&gt; &amp; &lt;script&gt;x()&lt;/script&gt; on time." in html
    assert "<b>started</b>" not in html and "<script" not in html


# -- item 8: small samples ----------------------------------------------------------------
def small_sample_project(root: Path) -> Path:
    """Ticket scores: about 40 answers a month for a year, then 2 answers in October 2026."""
    from support import messy

    lines = ["id,amount,name,day"]
    ident = 0
    for offset in range(13):  # 2025-10 .. 2026-10
        year, m = divmod(2025 * 12 + 9 + offset, 12)
        m += 1
        count = 2 if (year, m) == (2026, 10) else 39 + offset % 3
        for i in range(count):
            ident += 1
            score = 1.0 if (year, m) == (2026, 10) else 4.0 + (i % 3) * 0.1
            lines.append(f"{ident},{score},x,{year}-{m:02d}-{1 + i % 28:02d}")
    lines.append(f"{ident + 1},1.0,x,2026-10-31")
    messy.make(root, {"data/items.csv": "\n".join(lines) + "\n"})
    kpis = {"kpis": {"score": {"title": "Score", "unit": "number", "decimals": 2, "direction": "up",
                               "min_sample": 30, "thresholds": {"good": 3.9, "warn": 3.5}},
                     "answers": {"title": "Answers", "unit": "count", "fill": "zero"}}}
    (root / "config" / "kpis.yaml").write_text(yaml.safe_dump(kpis), encoding="utf-8")
    reports = {"reports": {"monthly": {"title": "Scores", "kpis": ["score", "answers"], "formats": ["html", "pdf"]}}}
    (root / "config" / "reports.yaml").write_text(yaml.safe_dump(reports), encoding="utf-8")
    (root / "queries" / "score.sql").write_text(
        "SELECT p.period_start AS period, avg(i.amount) AS value, count(i.amount) AS sample_size\n"
        "FROM periods p JOIN items i ON i.day >= p.period_start AND i.day < p.period_end GROUP BY ALL\n",
        encoding="utf-8")
    (root / "queries" / "answers.sql").write_text(
        "SELECT p.period_start AS period, count(*) AS value\n"
        "FROM periods p JOIN items i ON i.day >= p.period_start AND i.day < p.period_end GROUP BY ALL\n",
        encoding="utf-8")
    return root


def test_a_value_from_a_small_sample_is_marked_and_not_taken_as_solid(tmp_path):
    folder = build(small_sample_project(tmp_path / "project"), "monthly")
    html = (folder / "monthly.html").read_text(encoding="utf-8")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    row = re.search(r'<tr class="kpi low-sample" id="kpi-score".*?</tr>', html, re.S)
    assert row and "low sample: 3 (min. 30)" in row.group()  # 2 answers + the one on the 31st
    trend = re.search(r'<article class="trend" id="trend-score">.*?</article>', html, re.S).group()
    charts = [base64.b64decode(data).decode("utf-8")
              for data in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', trend)]
    assert len(charts) == 1 and "low sample" in charts[0] and 'fill="#ffffff"' in charts[0]  # a hollow point
    assert "low sample" in trend  # explained beside the chart
    assert 'id="footnote-low-sample"' in html
    summary = manifest["summary"]["company"]
    score = next(k for k in summary["kpis"] if k["title"] == "Score")
    assert score["sample_note"] == "low sample: 3 (min. 30)"
    # 1.00 against ~4.1 is a huge move and far outside its history, but from 3 answers: neither a mover nor an anomaly
    assert not any(m.startswith("Score") for m in summary["movers"])
    assert not any(c["scope"] == "kpi:score" for c in manifest["checks"])
    assert any(c["scope"] == "kpi:answers" and not c["passed"] for c in manifest["checks"])  # 3 vs ~40 is flagged


def test_a_segments_anomaly_warnings_are_about_its_own_figures(tmp_path):
    """Segment b jumps from ~10 to 40 answers while the company moves within its usual range:
    b's report warns about b, a's report and the company's do not."""
    from support import messy

    lines, ident = ["id,amount,name,day"], 0
    for offset in range(13):  # 2025-10 .. 2026-10
        year, m = divmod(2025 * 12 + 9 + offset, 12)
        october = offset == 12
        for name, count in (("a", 100 if october else 80 + 40 * (offset % 2)), ("b", 40 if october else 10 + offset % 2)):
            for i in range(count):
                ident += 1
                lines.append(f"{ident},1,{name},{year}-{m + 1:02d}-{1 + i % 28:02d}")
    lines.append(f"{ident + 1},1,a,2026-10-31")
    root = messy.make(tmp_path / "project", {"data/items.csv": "\n".join(lines) + "\n"})
    kpis = {"kpis": {"answers": {"title": "Answers", "unit": "count", "fill": "zero"}}}
    (root / "config" / "kpis.yaml").write_text(yaml.safe_dump(kpis), encoding="utf-8")
    reports = {"reports": {"monthly": {"title": "Answers", "kpis": ["answers"], "burst_by": "name"}}}
    (root / "config" / "reports.yaml").write_text(yaml.safe_dump(reports), encoding="utf-8")
    (root / "queries" / "answers.sql").write_text(
        "SELECT p.period_start AS period, i.name AS name, count(*) AS value\n"
        "FROM periods p JOIN items i ON i.day >= p.period_start AND i.day < p.period_end\n"
        "GROUP BY GROUPING SETS ((p.period_start), (p.period_start, i.name))\n", encoding="utf-8")
    manifest = Manifest.read(build(root, "monthly") / "manifest.json")

    def anomalies(warnings: tuple[str, ...]) -> list[str]:
        return [w for w in warnings if w.startswith("kpi:answers")]

    assert anomalies(manifest.summary.company.quality_warnings) == []
    assert anomalies(manifest.summary.segments["a"].quality_warnings) == []
    (warning,) = anomalies(manifest.summary.segments["b"].quality_warnings)
    assert "Answers is " in warning and "standard deviations above its 11-period average" in warning
