"""What a report claims about its data: data as of, the gate's scope, coverage and partial periods, freshness.

A two-source project (see `support.shop`): orders from 10 January to 30
October 2026 (the last sale on the 30th; a forecast column reaches into
December) and support tickets that stop on 20 August 2026. The `sales`
report reads only orders, `support` only tickets. Everything runs through the
real `pulse` entry point.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from support.project import run_pulse
from support.shop import make_shop

NOW = "--now=2026-11-25T09:00:00+00:00"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_shop(tmp_path / "shop")


def _html(root: Path, report: str, period: str) -> str:
    return (root / "reports" / report / period / f"{report}.html").read_text(encoding="utf-8")


def _manifest(root: Path, report: str, period: str) -> dict:
    return json.loads((root / "reports" / report / period / "manifest.json").read_text(encoding="utf-8"))


def _cover(html: str) -> str:
    return html[html.index('<header class="cover"'):html.index("</header>")]


# -- 1. data as of: per report, from the event time of the sources it reads --------------------------------
def test_data_as_of_is_the_last_event_of_the_reports_own_sources(shop, monkeypatch, capsys) -> None:
    code, _out, err = run_pulse(["run", "sales", "--period", "2026-10", NOW], shop, monkeypatch, capsys)
    assert code == 0, err
    html = _html(shop, "sales", "2026-10")
    # not 14 December (expected_delivery, a forecast) and not the tickets' 20 August
    assert '<p class="as-of">Data as of 30 October 2026</p>' in _cover(html)
    assert "December" not in html and "20 August" not in html
    manifest = _manifest(shop, "sales", "2026-10")
    assert manifest["data_as_of"] == "2026-10-30"
    assert manifest["summary"]["company"]["data_as_of"] == "30 October 2026"  # the email's summary
    assert manifest["coverage"] == [{"source": "orders", "event_time": "order_ts", "first_event": "2026-01-10",
                                     "last_event": "2026-10-30", "status": "covered"}]


def test_a_report_on_several_sources_is_as_of_the_day_all_of_them_reach(shop, monkeypatch, capsys) -> None:
    reports = shop / "config" / "reports.yaml"
    reports.write_text(reports.read_text().replace("kpis:\n    - revenue", "kpis:\n    - tickets_opened\n    - revenue"))
    code, _out, err = run_pulse(["run", "sales", "--period", "2026-07", NOW], shop, monkeypatch, capsys)
    assert code == 0, err
    manifest = _manifest(shop, "sales", "2026-07")
    assert manifest["data_as_of"] == "2026-08-20"  # tickets stop there; orders reach 30 October
    assert {c["source"] for c in manifest["coverage"]} == {"orders", "tickets"}


# -- 2. the gate covers the report's sources --------------------------------------------------------------
def test_a_stale_source_another_report_reads_does_not_fail_this_report(shop, monkeypatch, capsys) -> None:
    code, _out, err = run_pulse(["run", "sales", "--period", "2026-10", NOW], shop, monkeypatch, capsys)
    assert code == 0, err
    scopes = {c["scope"] for c in _manifest(shop, "sales", "2026-10")["checks"]}
    assert {s for s in scopes if not s.startswith("kpi:")} == {"orders"}

    code, _out, err = run_pulse(["run", "support", "--period", "2026-10", NOW], shop, monkeypatch, capsys)
    assert code == 3  # the data-quality gate failed
    assert "tickets: coverage: 2026-10 (2026-10-01 … 2026-10-31) is after the last created_at of tickets: " \
           "its data covers 2026-01-01 … 2026-08-20" in err
    assert "orders" not in err
    assert not (shop / "reports" / "support").exists()


def test_pulse_check_runs_the_gate_of_the_named_report(shop, monkeypatch, capsys) -> None:
    code, out, err = run_pulse(["check", "sales", "--period", "2026-10", NOW], shop, monkeypatch, capsys)
    assert code == 0, err
    assert "orders" in out and "tickets" not in out
    code, _out, err = run_pulse(["check", "--report", "support", "--period", "2026-10", NOW], shop, monkeypatch,
                                capsys)
    assert code == 3 and "tickets: coverage" in err
    code, _out, err = run_pulse(["check", "sales", "--all", "--period", "2026-10", NOW], shop, monkeypatch, capsys)
    assert code == 3 and "tickets: freshness" in err  # --all: every source


def test_a_warning_of_another_source_is_not_in_the_report(tmp_path, monkeypatch, capsys) -> None:
    root = make_shop(tmp_path / "shop", tickets_source={"checks": {"freshness": {"severity": "warn"},
                                                                    "coverage": "warn"}})
    code, _out, err = run_pulse(["run", "sales", "--period", "2026-10", NOW], root, monkeypatch, capsys)
    assert code == 0, err
    assert "tickets" not in _html(root, "sales", "2026-10")
    code, _out, err = run_pulse(["run", "support", "--period", "2026-10", NOW], root, monkeypatch, capsys)
    assert code == 0, err
    box = _html(root, "support", "2026-10").split('id="data-quality-warnings"')[1].split("</aside>")[0]
    assert "tickets: 2026-10 (1 Oct 2026 … 31 Oct 2026) is after the last created_at of tickets" in box


# -- 3. coverage: outside is a gate failure, partial is marked ---------------------------------------------
def test_a_period_before_the_first_row_fails_the_gate_and_renders_nothing(shop, monkeypatch, capsys) -> None:
    code, _out, err = run_pulse(["run", "sales", "--period", "2025-06", NOW], shop, monkeypatch, capsys)
    assert code == 3  # the data-quality gate failed
    assert "orders: coverage: 2025-06 (2025-06-01 … 2025-06-30) is before the first order_ts of orders: " \
           "its data covers 2026-01-10 … 2026-10-30" in err
    assert not (shop / "reports").exists()


def test_kpis_for_a_period_after_the_data_say_so_and_show_no_false_change(shop, monkeypatch, capsys) -> None:
    code, out, err = run_pulse(["kpis", "-r", "sales", "--period", "2026-12", NOW], shop, monkeypatch, capsys)
    assert code == 0
    assert "warning: orders: coverage: 2026-12 (2026-12-01 … 2026-12-31) is after the last order_ts of orders" in err
    revenue = next(line for line in out.splitlines() if "Revenue" in line)
    assert "n/a" in revenue and "0 " not in revenue.replace("480", "")
    assert "−100" not in out and "-100" not in out


def test_a_period_the_data_starts_in_is_marked_partial(shop, monkeypatch, capsys) -> None:
    code, _out, err = run_pulse(["run", "sales", "--period", "2026-01", NOW], shop, monkeypatch, capsys)
    assert code == 0, err
    html = _html(shop, "sales", "2026-01")
    cover = _cover(html)
    assert '<span class="partial-mark">partial</span>' in cover
    assert "Partial period: orders data starts 10 January 2026 (the period is 1 January 2026 – 31 January 2026)." \
        in cover
    row = html.split('id="kpi-revenue"')[1].split("</tr>")[0]
    assert "partial-mark" in row and "550" in row  # 22 days x 25 kr.
    manifest = _manifest(shop, "sales", "2026-01")
    assert manifest["coverage"][0]["status"] == "partial"
    assert manifest["summary"]["company"]["partial"] == "partial"
    assert manifest["summary"]["company"]["coverage_notes"] == [
        "Partial period: orders data starts 10 January 2026 (the period is 1 January 2026 – 31 January 2026)."]


def test_a_period_the_data_ends_in_is_marked_partial_when_freshness_only_warns(tmp_path, monkeypatch,
                                                                                capsys) -> None:
    root = make_shop(tmp_path / "shop", tickets_source={"checks": {"freshness": {"severity": "warn"}}})
    code, _out, err = run_pulse(["run", "support", "--period", "2026-08", NOW], root, monkeypatch, capsys)
    assert code == 0, err
    cover = _cover(_html(root, "support", "2026-08"))
    assert "Partial period: tickets data ends 20 August 2026" in cover
    assert "Data as of 20 August 2026" in cover


def test_the_current_period_is_period_to_date(shop, monkeypatch, capsys) -> None:
    now = "--now=2026-10-31T10:00:00+00:00"  # the last day of October: the month is not over
    code, _out, err = run_pulse(["run", "sales", "--period", "current", now], shop, monkeypatch, capsys)
    assert code == 0, err
    cover = _cover(_html(shop, "sales", "2026-10"))
    assert '<span class="partial-mark">period to date</span>' in cover
    assert "Period to date: the period runs until 31 October 2026; orders data reaches 30 October 2026." in cover
    assert _manifest(shop, "sales", "2026-10")["coverage"][0]["status"] == "to_date"


# -- 16.7 freshness: the last sale on the 30th passes; a source that stopped 10 days early fails ----------
def test_a_month_whose_last_sale_is_on_the_30th_passes_freshness(shop, monkeypatch, capsys) -> None:
    code, _out, err = run_pulse(["run", "sales", "--period", "2026-10", NOW], shop, monkeypatch, capsys)
    assert code == 0, err
    [fresh] = [c for c in _manifest(shop, "sales", "2026-10")["checks"] if c["check"] == "freshness"]
    assert fresh["passed"] and fresh["numbers"]["latest"] == "2026-10-30"
    assert fresh["message"] == "order_ts reaches 2026-10-30, 1 day before 2026-10-31 (up to 3 days without events " \
                               "allowed)"


def test_a_source_that_stopped_ten_days_early_fails_and_says_how_to_relax_it(tmp_path, monkeypatch,
                                                                            capsys) -> None:
    root = make_shop(tmp_path / "shop", orders=(date(2026, 1, 10), date(2026, 10, 21)))
    code, _out, err = run_pulse(["run", "sales", "--period", "2026-10", NOW], root, monkeypatch, capsys)
    assert code == 3  # the data-quality gate failed
    assert "orders: freshness: order_ts reaches 2026-10-21, 10 days before 2026-10-31 (up to 3 days without events " \
           "allowed); if orders has no events on such days, set sources.orders.checks.freshness.grace_days: 10 " \
           "(or severity: warn)" in err
    # following the message works
    sources = root / "config" / "sources.yaml"
    sources.write_text(sources.read_text().replace("    event_time: order_ts\n",
                                                   "    event_time: order_ts\n    checks:\n      freshness:\n"
                                                   "        grace_days: 10\n"))
    code, _out, err = run_pulse(["run", "sales", "--period", "2026-10", NOW], root, monkeypatch, capsys)
    assert code == 0, err
    assert re.search(r"orders data ends 21 October 2026", _html(root, "sales", "2026-10")) is None  # within grace
