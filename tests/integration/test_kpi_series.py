"""Whole KPI series through the CLI: `pulse kpis --series`, `--all-periods`, `--format json|csv`, and
`pulse query KPI --all-periods`, checked against KPI values computed independently with Polars."""

from __future__ import annotations

import csv
import io
import json

import pytest

from support.project import make_project, run_pulse
from support.reference import KPI_IDS, ZERO_FILLED, Independent, add_months, label_of, month_start

PERIOD = "2026-10"


@pytest.fixture(scope="module")
def project(tmp_path_factory, demo_exports):
    return make_project(tmp_path_factory.mktemp("kpi_series") / "project", demo_exports)


@pytest.fixture(scope="module")
def reference(demo_exports) -> Independent:
    return Independent(demo_exports)


def pulse(project, *args, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run_pulse(list(args), project, monkeypatch, capsys)
    assert code == 0, err
    return out


def expected(reference: Independent, kpi: str, label: str) -> float | None:
    value = reference.month(label)[kpi]
    return 0.0 if value is None and kpi in ZERO_FILLED else value


def test_series_json_has_every_period_of_the_window(project, reference, monkeypatch, capsys):
    data = json.loads(pulse(project, "kpis", "--series", "--period", PERIOD, "--format", "json",
                            monkeypatch=monkeypatch, capsys=capsys))
    assert [k["kpi"] for k in data] == KPI_IDS
    labels = [label_of(add_months(month_start("2024-11"), i)) for i in range(24)]  # 12 + a year back, oldest first
    for kpi in data:
        assert [v["period"] for v in kpi["values"]] == labels
        assert kpi["values"][0]["start"] == "2024-11-01"
        for value in kpi["values"]:
            want = expected(reference, kpi["kpi"], value["period"])
            assert value["value"] == (None if want is None else pytest.approx(want, rel=1e-9)), (kpi["kpi"], value)


def test_all_periods_csv_starts_at_the_first_month_with_data(project, reference, monkeypatch, capsys):
    out = pulse(project, "kpis", "--all-periods", "--period", PERIOD, "--format", "csv", "--all",
                monkeypatch=monkeypatch, capsys=capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["kpi", "period", "start", "value"]
    first = min(reference.sales["local_ts"].min(), reference.tickets["created_at"].min())
    first_label = label_of(first)
    months = len({r["period"] for r in rows})
    assert rows[0]["period"] == first_label == "2024-09" and rows[-1]["period"] == PERIOD
    assert months == 26 and len(rows) == 26 * len(KPI_IDS)
    for row in rows:
        want = expected(reference, row["kpi"], row["period"])
        if want is None:
            assert row["value"] == "", row
        else:
            assert float(row["value"]) == pytest.approx(want, rel=1e-9), row


def test_query_all_periods_gives_the_same_history(project, monkeypatch, capsys):
    out = pulse(project, "query", "revenue", "--all-periods", "--period", PERIOD, "--format", "json",
                monkeypatch=monkeypatch, capsys=capsys)
    company = [r for r in json.loads(out) if r["region"] is None]
    assert company[0]["period"] == "2024-09-01" and company[-1]["period"] == "2026-10-01" and len(company) == 26
    series = json.loads(pulse(project, "kpis", "--all-periods", "--period", PERIOD, "--format", "json",
                              monkeypatch=monkeypatch, capsys=capsys))
    revenue = next(k for k in series if k["kpi"] == "revenue")
    assert [v["value"] for v in revenue["values"]] == pytest.approx([r["revenue"] for r in company])
    window = json.loads(pulse(project, "query", "revenue", "--period", PERIOD, "--format", "json",
                              monkeypatch=monkeypatch, capsys=capsys))
    assert min(r["period"] for r in window) == "2024-11-01"  # without the switch: the report window


def test_series_table_and_kpi_table_as_data(project, reference, monkeypatch, capsys):
    out = pulse(project, "kpis", "--series", "--period", PERIOD, monkeypatch=monkeypatch, capsys=capsys)
    assert "KPIs, 2024-11 to 2026-10" in out and "Revenue" in out
    october = next(line for line in out.splitlines() if "2026-10" in line and "│" in line)
    assert "DKK" in october or "kr" in october
    records = list(csv.DictReader(io.StringIO(pulse(project, "kpis", "--period", PERIOD, "--format", "csv",
                                                     monkeypatch=monkeypatch, capsys=capsys))))
    assert [r["kpi"] for r in records] == KPI_IDS[:len(records)] and len(records) == 13
    revenue = next(r for r in records if r["kpi"] == "revenue")
    assert float(revenue["value"]) == pytest.approx(reference.month(PERIOD)["revenue"])
    assert float(revenue["previous"]) == pytest.approx(reference.month("2026-09")["revenue"])
    assert revenue["health"] in {"green", "amber", "red"}


SANDBOXED = {  # (what the KPI file does, what the one-line error says)
    "copy": ("COPY (SELECT * FROM sales) TO '{leak}' (HEADER);\n{sql}", "is a COPY statement, and it writes files"),
    "read_outside": ("SELECT p.period_start AS period, (SELECT count(*) FROM read_csv('/etc/passwd', sep = ':', "
                     "header = false)) AS value FROM periods p", 'refused: Cannot access file "/etc/passwd"'),
}


@pytest.mark.parametrize("attack", sorted(SANDBOXED))
@pytest.mark.parametrize("command", [("kpis", "--series"), ("kpis", "--all-periods", "--format", "csv"),
                                     ("query", "revenue", "--all-periods")])
def test_whole_series_run_in_the_query_sandbox(project, attack, command, monkeypatch, capsys):
    """--series and --all-periods run the KPI queries on the read-only sandbox like every other command."""
    path = project / "queries" / "sales" / "order_lines.sql"
    sql = path.read_text(encoding="utf-8")
    leak = project / "data" / "sales" / "sales_2099-01.csv"
    text, message = SANDBOXED[attack]
    path.write_text(text.format(leak=leak, sql=sql), encoding="utf-8")
    try:
        code, _out, err = run_pulse([*command, "--period", PERIOD], project, monkeypatch, capsys)
    finally:
        path.write_text(sql, encoding="utf-8")
    assert code == 2, err
    line = err.strip()
    assert line.startswith("error: ") and "\n" not in line and "order_lines.sql" in line and message in line, err
    assert not leak.exists()


def test_kpi_table_as_data_marks_a_low_sample(project, monkeypatch, capsys):
    config = project / "config" / "kpis.yaml"
    text = config.read_text(encoding="utf-8")
    assert "    min_sample: 30                # orders;" in text
    config.write_text(text.replace("    min_sample: 30                # orders;", "    min_sample: 1000000  # orders;"),
                      encoding="utf-8")
    try:
        records = json.loads(pulse(project, "kpis", "--period", PERIOD, "--format", "json",
                                   monkeypatch=monkeypatch, capsys=capsys))
    finally:
        config.write_text(text, encoding="utf-8")
    low = {r["kpi"]: r["low_sample"] for r in records}
    assert low["average_order_value"] is True and low["revenue"] is False
