"""The monthly report's KPIs as an analyst would write them in Polars, without Pulse.

Lazy frames throughout: every export is scanned, the newest row per primary
key kept, the order times converted to Copenhagen; then the 13 KPIs (and the
per-region breakdown the sales queries return) are built as lazy queries over
the loaded frames and collected together (`pl.collect_all`), so Polars shares
the filtered lines between them and runs them in parallel. `n_unique` is exact,
as Pulse's `count(DISTINCT ...)`. Loading (read, dedupe, convert, collected into
memory) is timed apart from computing, as for the pandas script, so the compute
time compares with Pulse's KPI stage (which reads the stored tables).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

TZ = "Europe/Copenhagen"


def _scan(files: list[str], fmt: str, schema: dict | None = None) -> pl.LazyFrame:
    if fmt == "parquet":
        return pl.scan_parquet(files)
    return pl.scan_csv(files, schema_overrides=schema, try_parse_dates=False)


def load(sales_files: list[str], ticket_files: list[str], fmt: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read every export, keep the last row per key (files are in export order), convert times."""
    text = {"order_id": pl.String, "line_id": pl.String, "customer_id": pl.String, "region": pl.String}
    sales = _scan(sales_files, fmt, text if fmt == "csv" else None)
    sales = sales.unique(["order_id", "line_id"], keep="last", maintain_order=False)
    order_ts = pl.col("order_ts")
    if fmt == "csv":
        order_ts = order_ts.str.to_datetime(time_zone="UTC")
    sales = sales.with_columns(order_ts.dt.convert_time_zone(TZ).dt.replace_time_zone(None))
    tickets = _scan(ticket_files, fmt, {"ticket_id": pl.String} if fmt == "csv" else None)
    tickets = tickets.unique(["ticket_id"], keep="last", maintain_order=False)
    times = ("created_at", "first_response_at", "resolved_at")
    if fmt == "csv":
        tickets = tickets.with_columns(pl.col(c).str.to_datetime() for c in times)
    else:
        tickets = tickets.with_columns(pl.col(c).cast(pl.Datetime("us")) for c in times)
    loaded = pl.collect_all([sales, tickets])
    return loaded[0], loaded[1]


def _instant(column: str) -> pl.Expr:
    """A naive local time as an instant: the repeated hour read as standard time, a missing hour moved
    an hour on (as DuckDB does)."""
    col = pl.col(column)
    return pl.coalesce(col.dt.replace_time_zone(TZ, ambiguous="latest", non_existent="null"),
                       (col + timedelta(hours=1)).dt.replace_time_zone(TZ, ambiguous="latest", non_existent="null"))


def _hours(start: str, end: str) -> pl.Expr:
    return (_instant(end) - _instant(start)).dt.total_seconds() / 3600


def queries(sales: pl.DataFrame, tickets: pl.DataFrame, months: list[date]) -> dict[str, pl.LazyFrame]:
    """Each KPI by month as a lazy frame (columns month[, region], value)."""
    first = datetime(months[0].year, months[0].month, 1)
    last = months[-1]
    end = datetime(last.year + last.month // 12, last.month % 12 + 1, 1)
    valid = sales.lazy().filter(pl.col("status") != "cancelled")
    lines = (valid.filter(pl.col("order_ts").is_between(first, end, closed="left"))
             .with_columns(month=pl.col("order_ts").dt.truncate("1mo").dt.date(),
                           region=pl.col("region").fill_null("unknown"),
                           net=pl.col("quantity") * pl.col("unit_price") * (1 - pl.col("discount").fill_null(0)),
                           returned=(pl.col("status") == "returned").cast(pl.Float64))
             .select("month", "region", "order_id", "customer_id", "net", "returned")
             .cache())
    out: dict[str, pl.LazyFrame] = {}
    for keys, suffix in ((["month"], ""), (["month", "region"], ":region")):
        grouped = lines.group_by(keys).agg(
            revenue=pl.col("net").sum(), orders=pl.col("order_id").n_unique(),
            active_customers=pl.col("customer_id").n_unique(), return_rate=pl.col("returned").mean())
        sums = grouped.with_columns(average_order_value=pl.col("revenue") / pl.col("orders")).cache()
        for kpi in ("revenue", "orders", "average_order_value", "active_customers", "return_rate"):
            out[kpi + suffix] = sums.select(*keys, value=pl.col(kpi))
    first_order = valid.group_by("customer_id").agg(first_ts=pl.col("order_ts").min())
    out["repeat_customer_rate"] = (
        lines.select("month", "customer_id").unique().join(first_order, on="customer_id")
        .group_by("month").agg(value=(pl.col("first_ts") < pl.col("month").cast(pl.Datetime("us"))).mean()))

    t = tickets.lazy()
    created = (t.filter(pl.col("created_at").is_between(first, end, closed="left"))
               .with_columns(month=pl.col("created_at").dt.truncate("1mo").dt.date(),
                             response=_hours("created_at", "first_response_at")).cache())
    out["tickets_opened"] = created.group_by("month").agg(value=pl.len())
    out["complaints"] = created.filter(pl.col("category") == "complaint").group_by("month").agg(value=pl.len())
    out["first_response_hours"] = (created.filter(pl.col("first_response_at").is_not_null())
                                   .group_by("month").agg(value=pl.col("response").median()))
    out["sla_met_rate"] = created.group_by("month").agg(
        value=(pl.col("response") <= 24).fill_null(False).cast(pl.Float64).mean())
    resolved = (t.filter(pl.col("resolved_at").is_between(first, end, closed="left"))
                .with_columns(month=pl.col("resolved_at").dt.truncate("1mo").dt.date(),
                              hours=_hours("created_at", "resolved_at")).cache())
    out["resolution_hours"] = resolved.group_by("month").agg(value=pl.col("hours").median())
    out["csat"] = resolved.group_by("month").agg(value=pl.col("satisfaction").drop_nulls().mean())
    month_ends = [datetime(m.year + m.month // 12, m.month % 12 + 1, 1) for m in months]
    still_open = [((pl.col("created_at") < e) & (pl.col("resolved_at").is_null() | (pl.col("resolved_at") >= e)))
                  .sum().alias(m.isoformat()) for m, e in zip(months, month_ends, strict=True)]
    out["open_backlog"] = (t.select(still_open).unpivot(variable_name="month", value_name="value")
                           .with_columns(pl.col("month").str.to_date()))
    return out


def compute(sales: pl.DataFrame, tickets: pl.DataFrame, months: list[date]) -> dict[str, pl.DataFrame]:
    """Every KPI collected together (one plan; shared inputs computed once)."""
    lazy = queries(sales, tickets, months)
    return dict(zip(lazy, pl.collect_all(list(lazy.values())), strict=True))


def company_values(result: dict[str, pl.DataFrame], month: date) -> dict[str, float]:
    """The company-wide value of each KPI for one month (for comparison with Pulse)."""
    values = {}
    for kpi_id, frame in result.items():
        if ":" in kpi_id:
            continue
        found = frame.filter(pl.col("month") == month)["value"]
        values[kpi_id] = None if found.is_empty() or found[0] is None else float(found[0])
    return values
