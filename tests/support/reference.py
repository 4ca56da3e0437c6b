"""KPI values computed independently from the raw export files, with Polars.

Never through DuckDB or any Pulse module, following the KPI definitions in
config/kpis.yaml and the header comments of queries/**/*.sql:

* sales: every sales_*.csv / sales_*.xlsx; per (order_id, line_id) the row of the
  file whose path sorts last wins; `order_ts` is UTC ("...Z") and is bucketed by
  its Europe/Copenhagen local time.
* tickets: every tickets_*.json (NDJSON); per ticket_id the last file wins;
  timestamps are naive local time.
* a month is [first instant of the month, first instant of the next month).
* a source covers the local days from its first to its last event (sales:
  `order_ts`, tickets: `created_at`, over the deduplicated rows); a period it
  does not reach has no value for that source's KPIs, zero-filled or not.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import polars as pl

LOCAL_ZONE = "Europe/Copenhagen"
TS_TEXT = "%Y-%m-%d %H:%M:%S"
SLA_HOURS = 24

KPI_IDS = [
    "revenue",
    "orders",
    "average_order_value",
    "active_customers",
    "repeat_customer_rate",
    "return_rate",
    "tickets_opened",
    "complaints",
    "first_response_hours",
    "resolution_hours",
    "sla_met_rate",
    "csat",
    "open_backlog",
]
# KPIs with `fill: zero` in config/kpis.yaml: a period without rows is 0, not missing
ZERO_FILLED = {"revenue", "orders", "active_customers", "tickets_opened", "complaints", "open_backlog"}
ADDITIVE = ["revenue", "orders", "tickets_opened", "complaints"]

# the last month, the December peak, the .xlsx month, a year boundary, the first month
REPORT_MONTHS = ["2026-10", "2025-12", "2025-06", "2026-01", "2024-09"]
REPORT_QUARTER = "2026-Q3"

SALES_TYPES = {
    "order_id": pl.String,
    "line_id": pl.Int64,
    "order_ts": pl.String,
    "customer_id": pl.String,
    "region": pl.String,
    "channel": pl.String,
    "product": pl.String,
    "category": pl.String,
    "quantity": pl.Int64,
    "unit_price": pl.Float64,
    "discount": pl.Float64,
    "currency": pl.String,
    "status": pl.String,
}
TICKET_TYPES = {
    "ticket_id": pl.String,
    "created_at": pl.String,
    "first_response_at": pl.String,
    "resolved_at": pl.String,
    "channel": pl.String,
    "priority": pl.String,
    "category": pl.String,
    "customer_id": pl.String,
    "agent": pl.String,
    "satisfaction": pl.Int64,
}


# --------------------------------------------------------------------------
# Independent computation (Polars only, from the raw files)
# --------------------------------------------------------------------------
def month_start(label: str) -> datetime:
    year, month = label.split("-")
    return datetime(int(year), int(month), 1)


def add_months(moment: datetime, n: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + n
    return datetime(index // 12, index % 12 + 1, 1)


def label_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def read_sales_files(exports: Path) -> pl.DataFrame:
    """All sales rows of all files, typed, with the file's sort rank and row number."""
    paths = sorted([*exports.glob("sales/sales_*.csv"), *exports.glob("sales/sales_*.xlsx")], key=str)
    frames = []
    for rank, path in enumerate(paths):
        if path.suffix == ".xlsx":
            frame = pl.read_excel(path, sheet_name="sales")
        else:
            frame = pl.read_csv(path, infer_schema=False)  # all text, cast below
        frame = frame.select(pl.col(c).cast(t) for c, t in SALES_TYPES.items())
        assert frame.select(pl.struct("order_id", "line_id").is_duplicated().any()).item() is False, path
        frames.append(frame.with_columns(_file=pl.lit(path.name), _rank=pl.lit(rank), _row=pl.int_range(pl.len())))
    utc = pl.col("order_ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC")
    return pl.concat(frames).with_columns(
        local_ts=utc.dt.convert_time_zone(LOCAL_ZONE).dt.replace_time_zone(None),
        utc_ts=utc.dt.replace_time_zone(None),
        net=pl.col("quantity") * pl.col("unit_price") * (1 - pl.col("discount").fill_null(0.0)),
    )


def dedupe(frame: pl.DataFrame, keys: list[str], keep: str = "last") -> pl.DataFrame:
    """One row per key: the one from the file that sorts last (or first)."""
    return frame.sort(["_rank", "_row"]).unique(subset=keys, keep=keep, maintain_order=True)


def read_ticket_files(exports: Path) -> pl.DataFrame:
    paths = sorted(exports.glob("support/tickets_*.json"), key=str)
    frames = [
        pl.read_ndjson(path, schema=TICKET_TYPES).with_columns(
            _file=pl.lit(path.name), _rank=pl.lit(rank), _row=pl.int_range(pl.len())
        )
        for rank, path in enumerate(paths)
    ]
    return pl.concat(frames).with_columns(
        pl.col(c).str.to_datetime(TS_TEXT) for c in ("created_at", "first_response_at", "resolved_at")
    )


def _hours(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_seconds() / 3600.0


def _or_none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def sales_kpis(sales: pl.DataFrame, start: datetime, end: datetime, ts: str = "local_ts") -> dict[str, float | None]:
    """The six sales KPIs for [start, end), bucketing by column `ts`."""
    valid = sales.filter(pl.col("status") != "cancelled")
    inside = valid.filter((pl.col(ts) >= start) & (pl.col(ts) < end))
    first_order = valid.group_by("customer_id").agg(first=pl.col(ts).min())
    active = inside.select("customer_id").unique().join(first_order, on="customer_id", how="left")
    revenue = float(inside["net"].sum()) if inside.height else 0.0
    orders = inside["order_id"].n_unique()
    return {
        "revenue": revenue,
        "orders": float(orders),
        "average_order_value": revenue / orders if orders else None,
        "active_customers": float(active.height),
        "repeat_customer_rate": _or_none((active["first"] < start).mean()) if active.height else None,
        "return_rate": _or_none((inside["status"] == "returned").mean()) if inside.height else None,
    }


def ticket_kpis(tickets: pl.DataFrame, start: datetime, end: datetime) -> dict[str, float | None]:
    """The seven support KPIs for [start, end)."""
    created = tickets.filter((pl.col("created_at") >= start) & (pl.col("created_at") < end))
    resolved = tickets.filter((pl.col("resolved_at") >= start) & (pl.col("resolved_at") < end))
    responded = created.filter(pl.col("first_response_at").is_not_null())
    within_sla = pl.col("first_response_at").is_not_null() & (
        (pl.col("first_response_at") - pl.col("created_at")).dt.total_seconds() <= SLA_HOURS * 3600
    )
    surveyed = resolved.filter(pl.col("satisfaction").is_not_null())
    backlog = tickets.filter(
        (pl.col("created_at") < end) & (pl.col("resolved_at").is_null() | (pl.col("resolved_at") >= end))
    )
    return {
        "tickets_opened": float(created.height),
        "complaints": float(created.filter(pl.col("category") == "complaint").height),
        "first_response_hours": _or_none(responded.select(_hours("first_response_at", "created_at").median()).item())
        if responded.height
        else None,
        "resolution_hours": _or_none(resolved.select(_hours("resolved_at", "created_at").median()).item())
        if resolved.height
        else None,
        "sla_met_rate": _or_none(created.select(within_sla.fill_null(False).mean()).item()) if created.height else None,
        "csat": _or_none(surveyed["satisfaction"].mean()) if surveyed.height else None,
        "open_backlog": float(backlog.height),
    }


def _days(frame: pl.DataFrame, column: str) -> tuple[date, date]:
    """The first and last local day of a source's event time."""
    return frame[column].min().date(), frame[column].max().date()  # type: ignore[union-attr]


def _reaches(days: tuple[date, date], start: datetime, end: datetime) -> bool:
    """Does [start, end) overlap the source's days?"""
    return start.date() <= days[1] and end.date() > days[0]


class Independent:
    """Deduplicated raw data plus memoised KPI values per [start, end)."""

    def __init__(self, exports: Path) -> None:
        self.sales_all = read_sales_files(exports)
        self.sales = dedupe(self.sales_all, ["order_id", "line_id"])
        self.tickets_all = read_ticket_files(exports)
        self.tickets = dedupe(self.tickets_all, ["ticket_id"])
        self.sales_days = _days(self.sales, "local_ts")
        self.ticket_days = _days(self.tickets, "created_at")
        self._cache: dict[tuple[datetime, datetime], dict[str, float | None]] = {}

    def kpis(self, start: datetime, end: datetime) -> dict[str, float | None]:
        if (start, end) not in self._cache:
            sales = sales_kpis(self.sales, start, end)
            tickets = ticket_kpis(self.tickets, start, end)
            self._cache[(start, end)] = {
                **(sales if _reaches(self.sales_days, start, end) else dict.fromkeys(sales)),
                **(tickets if _reaches(self.ticket_days, start, end) else dict.fromkeys(tickets)),
            }
        return self._cache[(start, end)]

    def month(self, label: str) -> dict[str, float | None]:
        start = month_start(label)
        return self.kpis(start, add_months(start, 1))
