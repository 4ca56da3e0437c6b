"""The monthly report's KPIs as an analyst would write them in pandas, without Pulse.

Read every export, keep the newest row per primary key, convert the times to
Copenhagen, bucket by month and group. The same 13 KPIs over the same window
(and the per-region breakdown the sales queries return), so the benchmark can
check the figures agree and compare the KPI computation time with Pulse's
KPI stage. Loading is timed separately.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

TZ = "Europe/Copenhagen"


def load(sales_files: list[str], ticket_files: list[str], fmt: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    sales = pd.concat([read(f) for f in sales_files], ignore_index=True)
    sales = sales.drop_duplicates(["order_id", "line_id"], keep="last")
    tickets = pd.concat([read(f) for f in ticket_files], ignore_index=True)
    tickets = tickets.drop_duplicates(["ticket_id"], keep="last")
    sales["order_ts"] = pd.to_datetime(sales["order_ts"], utc=True).dt.tz_convert(TZ).dt.tz_localize(None)
    for column in ("created_at", "first_response_at", "resolved_at"):
        tickets[column] = pd.to_datetime(tickets[column])
    return sales, tickets


def _hours(start: pd.Series, end: pd.Series) -> pd.Series:
    """Elapsed hours between two local times (a daylight-saving change counts; the repeated hour is
    read as standard time and a missing one moved an hour on, as DuckDB does)."""
    local = lambda s: s.dt.tz_localize(TZ, ambiguous=np.zeros(len(s), bool), nonexistent=pd.Timedelta("1h"))  # noqa: E731
    return (local(end) - local(start)).dt.total_seconds() / 3600


def compute(sales: pd.DataFrame, tickets: pd.DataFrame, months: list[date]) -> dict[str, pd.Series]:
    """Each KPI by month (company-wide), for the months of the window."""
    first, end = pd.Timestamp(months[0]), pd.Timestamp(months[-1]) + pd.offsets.MonthBegin(1)
    wanted = pd.PeriodIndex([pd.Period(m, "M") for m in months])
    valid = sales[sales["status"] != "cancelled"]
    lines = valid[(valid["order_ts"] >= first) & (valid["order_ts"] < end)].copy()
    lines["month"] = lines["order_ts"].dt.to_period("M")
    lines["net"] = lines["quantity"] * lines["unit_price"] * (1 - lines["discount"].fillna(0))
    lines["returned"] = (lines["status"] == "returned").astype(float)
    out: dict[str, pd.Series] = {}
    for keys, suffix in ((["month"], ""), (["month", "region"], ":region")):
        grouped = lines.groupby(keys)
        out["revenue" + suffix] = grouped["net"].sum()
        out["orders" + suffix] = grouped["order_id"].nunique()
        out["average_order_value" + suffix] = out["revenue" + suffix] / out["orders" + suffix]
        out["active_customers" + suffix] = grouped["customer_id"].nunique()
        out["return_rate" + suffix] = grouped["returned"].mean()
    first_order = valid.groupby("customer_id")["order_ts"].min().rename("first_ts")
    active = lines[["month", "customer_id"]].drop_duplicates().join(first_order, on="customer_id")
    active["repeat"] = active["first_ts"] < active["month"].dt.start_time
    out["repeat_customer_rate"] = active.groupby("month")["repeat"].mean()

    created = tickets[(tickets["created_at"] >= first) & (tickets["created_at"] < end)].copy()
    created["month"] = created["created_at"].dt.to_period("M")
    out["tickets_opened"] = created.groupby("month").size()
    out["complaints"] = created[created["category"] == "complaint"].groupby("month").size()
    response = _hours(created["created_at"], created["first_response_at"])
    answered = created.assign(hours=response)[created["first_response_at"].notna()]
    out["first_response_hours"] = answered.groupby("month")["hours"].median()
    out["sla_met_rate"] = created.assign(met=(response <= 24).astype(float)).groupby("month")["met"].mean()
    resolved = tickets[(tickets["resolved_at"] >= first) & (tickets["resolved_at"] < end)].copy()
    resolved["month"] = resolved["resolved_at"].dt.to_period("M")
    resolved["hours"] = _hours(resolved["created_at"], resolved["resolved_at"])
    out["resolution_hours"] = resolved.groupby("month")["hours"].median()
    out["csat"] = resolved[resolved["satisfaction"].notna()].groupby("month")["satisfaction"].mean()
    backlog = {}
    for month in wanted:
        month_end = month.end_time.ceil("D")
        still_open = tickets["resolved_at"].isna() | (tickets["resolved_at"] >= month_end)
        backlog[month] = int(((tickets["created_at"] < month_end) & still_open).sum())
    out["open_backlog"] = pd.Series(backlog)
    return {k: v for k, v in out.items()}


def company_values(result: dict[str, pd.Series], month: date) -> dict[str, float]:
    """The company-wide value of each KPI for one month (for comparison with Pulse)."""
    period = pd.Period(month, "M")
    values = {}
    for kpi_id, series in result.items():
        if ":" in kpi_id:
            continue
        value = series.get(period)
        values[kpi_id] = None if value is None or pd.isna(value) else float(value)
    return values
