"""A small two-source project ("Testbutik"): orders with a forecast column, and support tickets.

`orders` (event time `order_ts`; `expected_delivery` is a forecast, 45 days
after the order) and `tickets` (event time `created_at`; `resolved_at` later)
cover the days given; two reports read one source each: `sales` (revenue,
order count) and `support` (tickets opened). Values are easy to check by hand:
two orders a day (10 and 15 kr.), one ticket a day.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import yaml

QUERIES = {
    "revenue": "SELECT p.period_start AS period, sum(o.amount) AS value FROM periods p "
               "JOIN orders o ON o.order_ts >= p.period_start AND o.order_ts < p.period_end GROUP BY ALL\n",
    "order_count": "SELECT p.period_start AS period, count(*) AS value FROM periods p "
                   "JOIN orders o ON o.order_ts >= p.period_start AND o.order_ts < p.period_end GROUP BY ALL\n",
    "tickets_opened": "SELECT p.period_start AS period, count(*) AS value FROM periods p "
                      "JOIN tickets t ON t.created_at >= p.period_start AND t.created_at < p.period_end GROUP BY ALL\n",
}


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def order_lines(first: date, last: date, skip: tuple[date, ...] = ()) -> list[str]:
    lines = []
    for day in days(first, last):
        if day in skip:
            continue
        delivery = day + timedelta(days=45)
        lines.append(f"{day:%Y%m%d}-1,{day.isoformat()} 12:00:00,{delivery.isoformat()},10")
        lines.append(f"{day:%Y%m%d}-2,{day.isoformat()} 16:30:00,{delivery.isoformat()},15")
    return lines


def make_shop(root: Path, orders: tuple[date, date] = (date(2026, 1, 10), date(2026, 10, 30)),
              tickets: tuple[date, date] = (date(2026, 1, 1), date(2026, 8, 20)),
              orders_source: dict | None = None, tickets_source: dict | None = None) -> Path:
    """The project at `root`; orders are written one file per month (data/orders_YYYY-MM.csv)."""
    for folder in ("config", "queries", "data"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    sources = {
        "orders": {
            "paths": "data/orders_*.csv",
            "columns": {"order_id": {"type": "text"}, "order_ts": {"type": "timestamp"},
                        "expected_delivery": {"type": "date"}, "amount": {"type": "number"}},
            "primary_key": ["order_id"],
            "event_time": "order_ts",
            **(orders_source or {}),
        },
        "tickets": {
            "paths": "data/tickets.csv",
            "columns": {"ticket_id": {"type": "text"}, "created_at": {"type": "timestamp"},
                        "resolved_at": {"type": "timestamp"}},
            "primary_key": ["ticket_id"],
            "event_time": "created_at",
            **(tickets_source or {}),
        },
    }
    config = {
        "pulse.yaml": {"project": {"company": "Testbutik ApS", "timezone": "Europe/Copenhagen", "locale": "en_GB"}},
        "sources.yaml": {"sources": sources},
        "kpis.yaml": {"kpis": {
            "revenue": {"title": "Revenue", "unit": "currency", "direction": "up", "fill": "zero"},
            "order_count": {"title": "Orders", "unit": "count", "direction": "up", "fill": "zero"},
            "tickets_opened": {"title": "Tickets opened", "unit": "count", "direction": "neutral", "fill": "zero"},
        }},
        "reports.yaml": {"reports": {
            "sales": {"title": "Sales", "kpis": ["revenue", "order_count"], "formats": ["html"]},
            "support": {"title": "Support", "kpis": ["tickets_opened"], "formats": ["html"]},
        }},
    }
    for name, data in config.items():
        (root / "config" / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for kpi, sql in QUERIES.items():
        (root / "queries" / f"{kpi}.sql").write_text(sql, encoding="utf-8")
    lines = order_lines(*orders)
    by_month: dict[str, list[str]] = {}
    for line in lines:
        by_month.setdefault(line[:4] + "-" + line[4:6], []).append(line)
    for month, rows in by_month.items():
        (root / "data" / f"orders_{month}.csv").write_text(
            "order_id,order_ts,expected_delivery,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ticket_rows = [f"T{day:%Y%m%d},{day.isoformat()} 09:00:00,{day.isoformat()} 15:00:00" for day in days(*tickets)]
    (root / "data" / "tickets.csv").write_text(
        "ticket_id,created_at,resolved_at\n" + "\n".join(ticket_rows) + "\n", encoding="utf-8")
    return root
