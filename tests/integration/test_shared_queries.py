"""KPIs that share one query (`value:` / `sample:` in config/kpis.yaml): one execution, the same figures.

The demo's revenue, orders, average order value, active customers, return rate
and repeat-customer rate are columns of `queries/sales/order_lines.sql`. Each
test compares them with the same KPIs written as one query each, or checks what
a user sees.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.app import workspace
from pipeline.core.periods import Grain
from pipeline.kpis import queries
from support.project import NOW, run_pulse

PERIOD = "2026-10"
LINES = """WITH lines AS (SELECT s.*, coalesce(s.region, 'unknown') AS segment FROM sales s
                  WHERE s.status <> 'cancelled')
SELECT p.period_start AS period, l.segment AS region, {expression}
FROM periods p JOIN lines l ON l.order_ts >= p.period_start AND l.order_ts < p.period_end
GROUP BY GROUPING SETS ((p.period_start), (p.period_start, l.segment))
"""
NET = "sum(l.quantity * l.unit_price * (1 - coalesce(l.discount, 0)))"
REPEAT = """WITH valid AS (SELECT customer_id, order_ts FROM sales WHERE status <> 'cancelled'),
first_order AS (SELECT customer_id, min(order_ts) AS first_ts FROM valid GROUP BY customer_id),
active AS (SELECT p.period_start, count(DISTINCT v.customer_id) AS customers FROM periods p
           JOIN valid v ON v.order_ts >= p.period_start AND v.order_ts < p.period_end GROUP BY ALL),
first_time AS (SELECT p.period_start, count(f.customer_id) AS customers FROM periods p
               JOIN first_order f ON f.first_ts >= p.period_start AND f.first_ts < p.period_end GROUP BY ALL)
SELECT a.period_start AS period, (a.customers - coalesce(n.customers, 0)) / a.customers AS value
FROM active a LEFT JOIN first_time n USING (period_start) WHERE a.customers > 0
"""
ONE_EACH = {  # each KPI as a query of its own, its figure in `value`
    "revenue": LINES.format(expression=f"{NET} AS value"),
    "orders": LINES.format(expression="count(DISTINCT l.order_id) AS value"),
    "average_order_value": LINES.format(expression=f"{NET} / nullif(count(DISTINCT l.order_id), 0) AS value, "
                                                   "count(DISTINCT l.order_id) AS sample_size"),
    "active_customers": LINES.format(expression="count(DISTINCT l.customer_id) AS value"),
    "return_rate": LINES.format(expression="avg(CASE WHEN l.status = 'returned' THEN 1.0 ELSE 0.0 END) AS value"),
    "repeat_customer_rate": REPEAT,  # company-wide only
}
SHARED = list(ONE_EACH)
SHARING = (  # the lines of config/kpis.yaml that make them columns of one query
    "    value: revenue                # the query's column (default: value)\n",
    "    value: orders\n",
    "    value: average_order_value\n",
    "    sample: orders                # the column counting what it averages (default: sample_size)\n",
    "    value: active_customers\n",
    "    value: return_rate\n",
    "    value: repeat_customer_rate\n",
    "    dimensions: []                # company-wide only: the query's region rows are not its own\n",
)


def _series(project: Path) -> dict[str, queries.KpiSeries]:
    with workspace.open_workspace(project, use_cache=False) as ws:
        calendar = workspace.calendar_for(ws.config, Grain.MONTH)
        period = workspace.resolve_period(ws.config, Grain.MONTH, PERIOD, NOW)
        return workspace.kpi_series_full(ws, list(ws.config.kpis), workspace.report_window(calendar, period), period)


def _one_query_each(project: Path) -> None:
    """The shared KPIs rewritten as one query each, without value:, sample: or dimensions:."""
    for kpi_id, sql in ONE_EACH.items():
        (project / "queries" / "one" / f"{kpi_id}.sql").parent.mkdir(exist_ok=True)
        (project / "queries" / "one" / f"{kpi_id}.sql").write_text(sql, encoding="utf-8")
    path = project / "config" / "kpis.yaml"
    text = path.read_text(encoding="utf-8")
    for line in SHARING:
        assert line in text, line
        text = text.replace(line, "")
    for kpi_id in ONE_EACH:
        text = text.replace(f"  {kpi_id}:\n", f"  {kpi_id}:\n    query: one/{kpi_id}\n", 1)
    path.write_text(text.replace("    query: sales/order_lines\n", ""), encoding="utf-8")


def test_a_shared_query_gives_each_kpi_the_figures_of_its_own_query(project, tmp_path, demo_exports):
    shared = _series(project)
    from support.project import make_project

    separate_project = make_project(tmp_path / "separate", demo_exports)
    _one_query_each(separate_project)
    separate = _series(separate_project)
    for kpi_id in SHARED:
        assert shared[kpi_id].values == separate[kpi_id].values, kpi_id
        assert shared[kpi_id].by_dimension == separate[kpi_id].by_dimension, kpi_id
        assert shared[kpi_id].dimensions == separate[kpi_id].dimensions, kpi_id
        assert shared[kpi_id].dimensions == (() if kpi_id == "repeat_customer_rate" else ("region",)), kpi_id
    assert shared["average_order_value"].samples == separate["average_order_value"].samples
    assert shared["average_order_value"].samples_by_dimension == separate["average_order_value"].samples_by_dimension
    for kpi_id in ("orders", "repeat_customer_rate"):  # real figures, not empty series
        assert sum(1 for v in shared[kpi_id].values.values() if v) >= 12, kpi_id
    assert shared["complaints"] == separate["complaints"]  # a KPI of its own query is untouched


@pytest.fixture
def executed(monkeypatch) -> list[str]:
    """How each query executed names its file, in order (every call of `queries.run_sql`)."""
    calls: list[str] = []
    original = queries.run_sql

    def counting(con, sql, params, path_shown, *args, **kwargs):
        calls.append(path_shown)
        return original(con, sql, params, path_shown, *args, **kwargs)

    monkeypatch.setattr(queries, "run_sql", counting)
    return calls


def test_the_shared_query_runs_once(project, executed):
    _series(project)
    assert sum(shown.endswith("queries/sales/order_lines.sql") for shown in executed) == 1


def test_other_parameter_values_run_it_again(project):
    """KPIs of one query with different parameter values are different executions, each with its values."""
    path = project / "config" / "kpis.yaml"
    path.write_text(path.read_text(encoding="utf-8") + """  sla_met_rate_48h:
    title: SLA met within 48 hours
    query: support/sla_met_rate
    unit: percent
    params: {sla_hours: 48}
""", encoding="utf-8")
    found = _series(project)
    day, two_days = found["sla_met_rate"].values, found["sla_met_rate_48h"].values
    assert day.keys() == two_days.keys()
    assert all(two_days[p] >= day[p] for p in day if day[p] is not None)
    assert any(two_days[p] > day[p] for p in day if day[p] is not None)


def test_pulse_query_of_a_shared_kpi_shows_every_column_company_wide_first(project, monkeypatch, capsys):
    code, out, err = run_pulse(["query", "orders", "--period", PERIOD, "-f", "csv", f"--now={NOW.isoformat()}"],
                               project, monkeypatch, capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == ("period,region,revenue,orders,average_order_value,active_customers,return_rate,"
                        "repeat_customer_rate")
    assert lines[1].startswith(lines[1].split(",")[0] + ",,")  # company-wide (no region) before the regions
    code, out, err = run_pulse(["query", "orders", "--period", PERIOD, f"--now={NOW.isoformat()}"],
                               project, monkeypatch, capsys)
    assert code == 0 and "(all)" in out  # the company-wide row is labelled in the table


@pytest.mark.parametrize(("line", "expected"), [
    ("    value: orders\n", "    value: order count\n"),
    ("    sample: orders                # the column counting what it averages (default: sample_size)\n",
     "    sample: 2orders\n"),
])
def test_a_column_name_that_is_not_one_is_a_config_error(project, monkeypatch, capsys, line, expected):
    path = project / "config" / "kpis.yaml"
    text = path.read_text(encoding="utf-8")
    assert line in text
    path.write_text(text.replace(line, expected), encoding="utf-8")
    code, out, err = run_pulse(["kpis", "--period", PERIOD], project, monkeypatch, capsys)
    assert code == 2 and not out
    assert err.startswith("error: config/kpis.yaml:") and ("value" in err or "sample" in err), err
    assert len(err.strip().splitlines()) == 1


def test_a_column_the_query_does_not_return_names_the_kpi(project, monkeypatch, capsys):
    path = project / "config" / "kpis.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    value: active_customers\n", "    value: customers\n"), encoding="utf-8")
    code, _out, err = run_pulse(["kpis", "--period", PERIOD, f"--now={NOW.isoformat()}"], project, monkeypatch,
                                capsys)
    assert code == 2
    assert ("error: queries/sales/order_lines.sql: the query returns no 'customers' column for KPI "
            "'active_customers' (its 'value:')") in err


def test_a_company_wide_only_kpi_in_a_burst_report_is_refused_unless_declared(project, monkeypatch, capsys):
    """repeat_customer_rate lists dimensions: []: its query's region rows are not its figures, so a report
    bursting by region names it, and takes it once it is listed under company_wide."""
    path = project / "config" / "reports.yaml"
    text = path.read_text(encoding="utf-8")
    regional = "      - active_customers\n      - return_rate\n      - complaints\n"  # the end of its KPI list
    assert text.count(regional) == 1 and text.index(regional) > text.index("  regional:\n")
    path.write_text(text.replace(regional, regional + "      - repeat_customer_rate\n"), encoding="utf-8")
    code, _out, err = run_pulse(["validate", f"--now={NOW.isoformat()}"], project, monkeypatch, capsys)
    assert code == 1
    refused = [line for line in err.splitlines() if "repeat_customer_rate" in line]
    assert len(refused) == 1, err
    assert refused[0].startswith(
        "error: queries/sales/order_lines.sql: KPI 'repeat_customer_rate' of report 'regional' is not broken down "
        "by 'region' for burst_by: region (it lists dimensions: [] in config/kpis.yaml)"), refused[0]
    assert "reports.regional.company_wide" in refused[0]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("company_wide: [complaints]", "company_wide: [complaints, repeat_customer_rate]"),
                    encoding="utf-8")
    code, _out, err = run_pulse(["validate", f"--now={NOW.isoformat()}"], project, monkeypatch, capsys)
    assert "repeat_customer_rate" not in err, err


def test_validate_runs_a_shared_query_once_and_names_the_kpi_whose_column_is_missing(project, executed, monkeypatch,
                                                                                     capsys):
    """pulse validate: one execution of the shared query whatever its KPIs' problems; the KPI naming a column
    the query does not return is reported, once, and its five neighbours are not."""
    path = project / "config" / "kpis.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    value: active_customers\n", "    value: customers\n"),
                    encoding="utf-8")
    code, _out, err = run_pulse(["validate", f"--now={NOW.isoformat()}"], project, monkeypatch, capsys)
    assert code == 1
    assert sum(shown.endswith("queries/sales/order_lines.sql") for shown in executed) == 1
    errors = [line for line in err.splitlines() if "order_lines.sql" in line]
    assert len(errors) == 1, err
    assert errors[0].startswith("error: queries/sales/order_lines.sql: the query returns no 'customers' column for "
                                "KPI 'active_customers' (its 'value:')"), errors[0]
