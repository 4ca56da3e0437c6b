"""Deterministic demo exports for "Nordlys Kaffe ApS", a Danish coffee roaster (DKK).

Usage::

    python -m pipeline.demo OUT_DIR [--start 2023-11] [--until YYYY-MM|last] [--force]

Writes, per month ``YYYY-MM`` from ``--start`` through ``--until`` (default ``last``: the last
complete calendar month before today):

* ``OUT_DIR/sales/sales_YYYY-MM.csv`` -- UTF-8, comma separated, ``\\n`` line endings, header
  :data:`~pipeline.demo.sales.SALES_COLUMNS`.  The month ``xlsx_month`` (default 2025-06) is
  written *only* as ``sales_YYYY-MM.xlsx`` (sheet ``sales``, same columns).
* ``OUT_DIR/support/tickets_YYYY-MM.json`` -- newline-delimited JSON, keys
  :data:`~pipeline.demo.support.TICKET_KEYS`.

Deliberate warts of the real exports that the pipeline must handle:

* ``order_ts`` is UTC (``...Z``) while the file a row lands in is decided by the order's
  *Copenhagen* date, so orders placed on the 1st between 00:00 and 01:00/02:00 local carry a
  UTC timestamp in the previous month.
* Every sales file except the first also re-exports all lines of orders placed (local date)
  on the last 3 calendar days of the previous month; ~5 % of those lines that were
  ``completed`` are now ``returned``.  The newest file wins per (order_id, line_id).
* Ticket exports are snapshots taken at the end of the month: tickets created in the month,
  plus older tickets that got their first response or were resolved in the month, all shown
  as of month end.  The newest file wins per ticket_id.

Generation is deterministic: every month uses ``random.Random`` streams seeded per
(source, month) and state carried forward from ``start``; the whole range is always
simulated in memory and only missing files are written (``force`` rewrites all).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, Sequence

import xlsxwriter

from .sales import SALES_COLUMNS, Month, SaleRow, SalesSimulator, add_months, iter_months, month_index, month_key
from .support import SupportSimulator

DEFAULT_START: Month = (2023, 11)
DEFAULT_END: Month = (2026, 10)
DEFAULT_XLSX_MONTH: Month = (2025, 6)


def sales_path(out_dir: Path, m: Month, xlsx_month: Month | None) -> Path:
    """Path of the sales export for month ``m`` (``.xlsx`` for the xlsx month)."""
    ext = "xlsx" if m == xlsx_month else "csv"
    return out_dir / "sales" / f"sales_{month_key(m)}.{ext}"


def tickets_path(out_dir: Path, m: Month) -> Path:
    """Path of the support-ticket export for month ``m``."""
    return out_dir / "support" / f"tickets_{month_key(m)}.json"


def _export_values(row: SaleRow) -> tuple[Any, ...]:
    return tuple(getattr(row, col) for col in SALES_COLUMNS)


def sales_csv_bytes(rows: Sequence[SaleRow]) -> bytes:
    """CSV export: prices and discounts with two decimals."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SALES_COLUMNS)
    for r in rows:
        values = list(_export_values(r))
        values[9], values[10] = f"{r.unit_price:.2f}", f"{r.discount:.2f}"
        writer.writerow(values)
    return buf.getvalue().encode("utf-8")


def sales_xlsx_bytes(rows: Sequence[SaleRow], m: Month) -> bytes:
    """Excel export (sheet "sales"); order_ts stays ISO text, numbers are numbers."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    exported = add_months(m, 1)  # fixed document date keeps the file byte-identical
    wb.set_properties({"title": f"Nordlys Kaffe ApS sales {month_key(m)}",
                       "author": "Nordlys Kaffe ApS webshop/POS export",
                       "created": datetime(exported[0], exported[1], 1, 6, 0, 0)})
    ws = wb.add_worksheet("sales")
    bold, money = wb.add_format({"bold": True}), wb.add_format({"num_format": "0.00"})
    ws.write_row(0, 0, SALES_COLUMNS, bold)
    for i, r in enumerate(rows, start=1):
        ws.write_row(i, 0, _export_values(r))
        ws.write_number(i, 9, r.unit_price, money)
        ws.write_number(i, 10, r.discount, money)
    for col, width in enumerate((11, 7, 21, 9, 13, 8, 32, 13, 9, 10, 9, 9, 10)):
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 0)
    wb.close()
    return buf.getvalue()


def tickets_bytes(tickets: Sequence[dict[str, Any]]) -> bytes:
    """Newline-delimited JSON, UTF-8, non-ASCII kept as is."""
    return "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tickets).encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def generate(out_dir: Path, start: Month = DEFAULT_START, end: Month = DEFAULT_END,
             force: bool = False, xlsx_month: Month | None = DEFAULT_XLSX_MONTH) -> list[Path]:
    """Simulate ``start``..``end`` (inclusive) and write the export files that are missing.

    Returns the paths written, in month order (sales file before tickets file).  With
    ``force`` every file is rewritten.  Content is byte-identical across runs, and a month's
    files do not depend on ``end``.
    """
    if month_index(end) < month_index(start):
        raise ValueError(f"end {month_key(end)} is before start {month_key(start)}")
    out_dir = Path(out_dir)
    sales, support = SalesSimulator(start), SupportSimulator()
    previous_orders: list[tuple[datetime, str]] = []
    written: list[Path] = []
    for m in iter_months(start, end):
        month_sales = sales.simulate(m)
        tickets = support.simulate(m, month_sales.n_orders, previous_orders + month_sales.orders)
        previous_orders = month_sales.orders
        s_path, t_path = sales_path(out_dir, m, xlsx_month), tickets_path(out_dir, m)
        if force or not s_path.exists():
            _write(s_path, sales_xlsx_bytes(month_sales.rows, m) if m == xlsx_month
                   else sales_csv_bytes(month_sales.rows))
            written.append(s_path)
        if force or not t_path.exists():
            _write(t_path, tickets_bytes(tickets))
            written.append(t_path)
    return written


def last_complete_month(today: date) -> Month:
    """The calendar month before ``today``'s month."""
    return add_months((today.year, today.month), -1)


def parse_month(text: str) -> Month:
    """Parse ``YYYY-MM``."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match[2]) <= 12:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {text!r}")
    return int(match[1]), int(match[2])


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.demo",
                                     description="Generate Nordlys Kaffe demo exports.")
    parser.add_argument("out_dir", type=Path, help="output folder (sales/ and support/ inside)")
    parser.add_argument("--start", type=parse_month, default=DEFAULT_START,
                        help="first month, YYYY-MM (default 2023-11)")
    parser.add_argument("--until", default="last",
                        help="last month, YYYY-MM or 'last' = last complete month (default)")
    parser.add_argument("--force", action="store_true", help="rewrite existing files")
    args = parser.parse_args(argv)
    try:
        end = (last_complete_month(date.today()) if args.until == "last"
               else parse_month(args.until))
        written = generate(args.out_dir, args.start, end, force=args.force)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(str(exc))
    for path in written:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    n_months = month_index(end) - month_index(args.start) + 1
    print(f"{len(written)} file(s) written, {2 * n_months - len(written)} already present; "
          f"months {month_key(args.start)}..{month_key(end)} in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
