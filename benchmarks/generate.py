"""The demo schema at scale: monthly sales and ticket exports, vectorised (numpy + polars).

    python -m benchmarks.generate --rows 10M --format csv [--months 36] [--out /tmp/pulse-bench]

writes OUT/<rows>-<months>m/<format>/sales/sales_YYYY-MM.<ext> and
support/tickets_YYYY-MM.<ext> for the months ending 2026-10, with the demo's
columns and warts: order times in UTC ("...Z" in CSV, a UTC timestamp in
Parquet), every sales file re-exports the last three (Copenhagen) days of the
previous month with ~5 % of completed lines now returned, ticket exports are
month-end snapshots whose still-open tickets reappear resolved in the next
file, unanswered surveys are empty. Lines per month follow the demo's
seasonality; `--rows` is the total number of sales lines in the files
(re-exports included); ticket rows are ~12.7 % of that (the demo's proportion).
Generation is deterministic (numpy generators seeded per month).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from pipeline.demo.sales import CATALOGUE, REGION_WEIGHTS, REGIONS, RETURN_RATE, SEASONALITY

CPH = ZoneInfo("Europe/Copenhagen")
END_MONTH = (2026, 10)
DEFAULT_OUT = Path("/tmp/pulse-bench")
TICKETS_PER_LINE = 0.13  # tickets created per fresh sales line: files hold ~12.7 % of the sales lines, as the demo
LINES_PER_ORDER = np.array([1, 2, 3, 4])
LINES_P = np.array([0.45, 0.30, 0.15, 0.10])  # 1.9 lines per order
REEXPORT_DAYS = 3
AGENTS = np.array(["Ida", "Mette", "Jonas", "Sofie", "Emil", "Freja", "Lukas", "Anna"])
TICKET_CATEGORIES = np.array(["complaint", "technical", "delivery", "billing", "product_question"])
TICKET_CATEGORY_P = np.array([0.08, 0.27, 0.30, 0.15, 0.20])


def parse_size(text: str) -> int:
    """'100k', '1M', '10M' or a plain number."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def size_label(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else f"{rows // 1_000}k"


def months_until(end: tuple[int, int], count: int) -> list[tuple[int, int]]:
    index = end[0] * 12 + end[1] - 1
    return [((i // 12), i % 12 + 1) for i in range(index - count + 1, index + 1)]


def data_dir(out: Path, rows: int, months: int, fmt: str) -> Path:
    return out / f"{size_label(rows)}-{months}m" / fmt


def _utc_seconds(year: int, month: int) -> int:
    """Seconds since the epoch of local midnight on the 1st of the month in Copenhagen."""
    return int(datetime(year, month, 1, tzinfo=CPH).timestamp())


def _local_seconds(year: int, month: int) -> int:
    """The same wall-clock moment as a naive local time, in 'seconds since 1970' of the wall clock."""
    return int(datetime(year, month, 1, tzinfo=timezone.utc).timestamp())


def _next(m: tuple[int, int]) -> tuple[int, int]:
    return (m[0] + (m[1] == 12), m[1] % 12 + 1)


class Generator:
    """Carries order, customer and ticket counters from month to month."""

    def __init__(self, rows: int, months: int) -> None:
        self.months = months_until(END_MONTH, months)
        weights = np.array([SEASONALITY[m - 1] for _, m in self.months])
        fresh_total = rows / (1 + REEXPORT_DAYS / 30.44)
        self.fresh_lines = np.maximum(1, np.round(fresh_total * weights / weights.sum())).astype(np.int64)
        self.next_order = 1_000_001
        self.next_customer = 100_001
        self.next_ticket = 1_000_001
        self.names = np.array([p.name for p in CATALOGUE])
        self.categories = np.array([p.category for p in CATALOGUE])
        self.prices = np.array([p.price for p in CATALOGUE])
        popularity = np.array([p.w_consumer + p.w_b2b for p in CATALOGUE])
        self.product_p = popularity / popularity.sum()
        self.return_p = np.array([RETURN_RATE[c] for c in self.categories])
        self.region_p = np.array(REGION_WEIGHTS) / sum(REGION_WEIGHTS)
        self.tail: pl.DataFrame | None = None  # last days of the previous month, re-exported
        self.open_tickets: pl.DataFrame | None = None  # still open at the previous month's end

    def sales(self, index: int) -> pl.DataFrame:
        year, month = self.months[index]
        rng = np.random.default_rng([20261, year, month])
        start, end = _utc_seconds(year, month), _utc_seconds(*_next((year, month)))
        n_lines_target = int(self.fresh_lines[index])
        n_orders = max(1, int(round(n_lines_target / float((LINES_PER_ORDER * LINES_P).sum()))))
        order_ts = np.sort(rng.integers(start, end, n_orders))
        per_order = rng.choice(LINES_PER_ORDER, n_orders, p=LINES_P)
        new = rng.random(n_orders) < 0.45
        known = self.next_customer - 100_001
        customers = np.where(
            new | (known == 0),
            self.next_customer + np.cumsum(new) - 1,
            100_001 + rng.integers(0, max(known, 1), n_orders),
        )
        self.next_customer += int(new.sum())
        region_of = np.searchsorted(np.cumsum(self.region_p), ((customers * 2654435761) % 1000) / 1000.0, "right")
        channel = rng.choice(np.array(["web", "shop", "b2b"]), n_orders, p=[0.70, 0.20, 0.10])
        order_ids = np.arange(self.next_order, self.next_order + n_orders)
        self.next_order += n_orders
        repeat = np.repeat(np.arange(n_orders), per_order)
        lines = len(repeat)
        line_id = np.arange(lines) - np.repeat(np.cumsum(per_order) - per_order, per_order) + 1
        product = rng.choice(len(CATALOGUE), lines, p=self.product_p)
        cancelled = np.repeat(rng.random(n_orders) < 0.03, per_order)
        returned = rng.random(lines) < self.return_p[product]
        status = np.where(cancelled, "cancelled", np.where(returned, "returned", "completed"))
        discount = rng.choice(np.array([0.0, 0.05, 0.10]), lines, p=[0.8, 0.1, 0.1])
        frame = pl.DataFrame({
            "order_id": np.char.add("SO-", order_ids[repeat].astype(str)),
            "line_id": line_id.astype(np.int64),
            "order_ts": order_ts[repeat],
            "customer_id": np.char.add("C-", customers[repeat].astype(str)),
            "region": np.array(REGIONS)[np.minimum(region_of, len(REGIONS) - 1)][repeat],
            "channel": channel[repeat],
            "product": self.names[product],
            "category": self.categories[product],
            "quantity": rng.choice(np.array([1, 1, 1, 2, 2, 3, 4]), lines).astype(np.int64),
            "unit_price": self.prices[product],
            "discount": discount,
            "currency": np.full(lines, "DKK"),
            "status": status,
        }).with_columns(pl.from_epoch("order_ts", time_unit="s").dt.replace_time_zone("UTC"))
        out = frame if self.tail is None else pl.concat([self.tail, frame])
        tail_from = datetime.fromtimestamp(end, CPH).replace(day=1)  # local midnight of the next 1st
        cut = int(tail_from.timestamp()) - REEXPORT_DAYS * 86_400
        tail = frame.filter(pl.col("order_ts") >= datetime.fromtimestamp(cut, timezone.utc))
        restate = rng.random(tail.height) < 0.05
        self.tail = tail.with_columns(
            pl.when(pl.Series(restate) & (pl.col("status") == "completed")).then(pl.lit("returned"))
            .otherwise(pl.col("status")).alias("status")
        )
        return out

    def tickets(self, index: int, fresh_lines: int) -> pl.DataFrame:
        year, month = self.months[index]
        rng = np.random.default_rng([20262, year, month])
        start, end = _local_seconds(year, month), _local_seconds(*_next((year, month)))
        n = max(1, int(round(fresh_lines * TICKETS_PER_LINE)))
        created = np.sort(rng.integers(start, end, n))
        first = created + (rng.exponential(6.0, n) * 3600).astype(np.int64)
        never = rng.random(n) < 0.03
        resolved = first + (rng.exponential(40.0, n) * 3600).astype(np.int64)
        answered = rng.random(n) < 0.6
        score = rng.choice(np.array([1, 2, 3, 4, 5]), n, p=[0.05, 0.07, 0.13, 0.35, 0.40])
        known = max(self.next_customer - 100_001, 1)
        ids = np.arange(self.next_ticket, self.next_ticket + n)
        self.next_ticket += n
        full = pl.DataFrame({
            "ticket_id": np.char.add("T-", ids.astype(str)),
            "created_at": created,
            "first_response": np.where(never, -1, first),
            "resolved": np.where(never, -1, resolved),
            "channel": rng.choice(np.array(["email", "phone", "chat"]), n, p=[0.5, 0.2, 0.3]),
            "priority": rng.choice(np.array(["low", "normal", "high"]), n, p=[0.3, 0.55, 0.15]),
            "category": rng.choice(TICKET_CATEGORIES, n, p=TICKET_CATEGORY_P),
            "customer_id": np.char.add("C-", (100_001 + rng.integers(0, known, n)).astype(str)),
            "agent": AGENTS[rng.integers(0, len(AGENTS), n)],
            "score": np.where(answered, score, -1),
        })
        pending = full if self.open_tickets is None else pl.concat([self.open_tickets, full])
        snapshot = _as_of(pending, end)
        self.open_tickets = full.filter((pl.col("resolved") >= end) | (pl.col("first_response") >= end))
        return snapshot


def _as_of(frame: pl.DataFrame, end: int) -> pl.DataFrame:
    """Tickets as a month-end export shows them: later events not yet there."""
    def when(column: str) -> pl.Expr:
        seconds = pl.col(column)
        return pl.when((seconds >= 0) & (seconds < end)).then(pl.from_epoch(seconds, time_unit="s"))

    return frame.select(
        "ticket_id",
        pl.from_epoch("created_at", time_unit="s").alias("created_at"),
        when("first_response").alias("first_response_at"),
        when("resolved").alias("resolved_at"),
        "channel", "priority", "category", "customer_id", "agent",
        pl.when((pl.col("score") > 0) & (pl.col("resolved") >= 0) & (pl.col("resolved") < end))
        .then(pl.col("score")).alias("satisfaction"),
    )


def write(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "parquet":
        frame.write_parquet(tmp)
    else:
        if "order_ts" in frame.columns:
            frame = frame.with_columns(pl.col("order_ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        frame = frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S")
                                   for c, t in frame.schema.items() if t == pl.Datetime("us"))
        frame.write_csv(tmp, float_precision=2)
    tmp.replace(path)


def generate(out: Path, rows: int, fmt: str, months: int = 36, force: bool = False) -> Path:
    """Write the exports (unless already there) and return their folder."""
    folder = data_dir(out, rows, months, fmt)
    marker = folder / ".complete"
    if marker.exists() and not force:
        return folder
    gen = Generator(rows, months)
    ext = "parquet" if fmt == "parquet" else "csv"
    for index, (year, month) in enumerate(gen.months):
        label = f"{year:04d}-{month:02d}"
        sales = gen.sales(index)
        write(sales, folder / "sales" / f"sales_{label}.{ext}", fmt)
        write(gen.tickets(index, int(gen.fresh_lines[index])), folder / "support" / f"tickets_{label}.{ext}", fmt)
    marker.write_text("ok\n")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1M", help="sales lines in all files: 100k, 1M, 10M (default 1M)")
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--months", type=int, default=36, help="months of history ending 2026-10 (default 36)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true", help="rewrite existing files")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    folder = generate(args.out, parse_size(args.rows), args.format, args.months, args.force)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"{folder}: {size / 1e6:,.0f} MB in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
