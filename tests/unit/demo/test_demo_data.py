"""Tests for the deterministic Nordlys Kaffe demo-data generator (pipeline.demo.generate)."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from pipeline.demo.generate import generate, last_complete_month, main, parse_month
from pipeline.demo.sales import SALES_COLUMNS
from pipeline.demo.support import TICKET_KEYS

START, END, XLSX = (2025, 3), (2025, 7), (2025, 6)
MONTHS = ["2025-03", "2025-04", "2025-05", "2025-06", "2025-07"]
CPH = ZoneInfo("Europe/Copenhagen")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    written = generate(out, START, END, xlsx_month=XLSX)
    assert len(written) == 2 * len(MONTHS)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _sales(root: Path, month: str) -> pl.DataFrame:
    csv_path = root / "sales" / f"sales_{month}.csv"
    if csv_path.exists():
        return pl.read_csv(csv_path)
    return pl.read_excel(root / "sales" / f"sales_{month}.xlsx", sheet_name="sales")


def _tickets(root: Path, month: str) -> list[dict]:
    lines = (root / "support" / f"tickets_{month}.json").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _local(order_ts: str) -> datetime:
    utc = datetime.strptime(order_ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return utc.astimezone(CPH)


def test_deterministic_bytes(tmp_path: Path, demo_dir: Path) -> None:
    generate(tmp_path, START, END, xlsx_month=XLSX)
    assert _files(tmp_path) == _files(demo_dir)


def test_later_end_month_keeps_earlier_files(tmp_path: Path, demo_dir: Path) -> None:
    generate(tmp_path, START, (2025, 5), xlsx_month=XLSX)
    short, full = _files(tmp_path), _files(demo_dir)
    assert len(short) == 6
    assert all(full[name] == data for name, data in short.items())


def test_skips_existing_files_unless_forced(tmp_path: Path) -> None:
    first = generate(tmp_path, START, (2025, 4))
    (first[0]).unlink()
    assert generate(tmp_path, START, (2025, 4)) == [first[0]]
    assert generate(tmp_path, START, (2025, 4), force=True) == first


def test_xlsx_month_only_as_xlsx(demo_dir: Path) -> None:
    assert not (demo_dir / "sales" / "sales_2025-06.csv").exists()
    df = pl.read_excel(demo_dir / "sales" / "sales_2025-06.xlsx", sheet_name="sales")
    assert tuple(df.columns) == SALES_COLUMNS
    assert df.height > 500
    assert df.schema["order_ts"] == pl.String and df["order_ts"].str.ends_with("Z").all()
    assert df.schema["quantity"].is_integer() and df.schema["unit_price"].is_float()
    assert sorted(p.name for p in (demo_dir / "sales").iterdir()) == [
        f"sales_{m}.{'xlsx' if m == '2025-06' else 'csv'}" for m in MONTHS]


def test_sales_format_and_utc_month_boundary(demo_dir: Path) -> None:
    header = (demo_dir / "sales" / "sales_2025-04.csv").read_bytes().split(b"\n")[0]
    assert header.decode() == ",".join(SALES_COLUMNS)
    assert b"\r" not in (demo_dir / "sales" / "sales_2025-04.csv").read_bytes()
    crossing = 0
    for month in MONTHS:
        df = _sales(demo_dir, month)
        assert df["order_ts"].str.contains(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$").all()
        assert df["order_id"].str.contains(r"^SO-\d{6}$").all()
        assert df["customer_id"].str.contains(r"^C-\d{5}$").all()
        assert set(df["discount"].round(2)) <= {0.0, 0.05, 0.1, 0.15, 0.2}
        assert set(df["status"]) == {"completed", "cancelled", "returned"}
        assert set(df["currency"]) == {"DKK"} and (df["quantity"] >= 1).all()
        keys = list(zip(df["order_ts"], df["order_id"], df["line_id"]))
        assert keys == sorted(keys)
        lines = df.group_by("order_id").agg(pl.col("line_id").sort())
        assert all(ids.to_list() == list(range(1, len(ids) + 1)) for ids in lines["line_id"])
        year, mo = map(int, month.split("-"))
        previous = (year, mo - 1) if mo > 1 else (year - 1, 12)
        for ts in df["order_ts"]:
            local = _local(ts)
            assert (local.year, local.month) in {(year, mo), previous}
            if (local.year, local.month) == (year, mo) and ts[:7] != month:
                crossing += 1
                assert local.day == 1 and local.hour < 2
    assert crossing >= len(MONTHS)


def test_overlap_wart(demo_dir: Path) -> None:
    changed = 0
    for prev, cur in zip(MONTHS, MONTHS[1:]):
        a, b = _sales(demo_dir, prev), _sales(demo_dir, cur)
        joined = a.join(b, on=["order_id", "line_id"], suffix="_new")
        last_day = date.fromisoformat(cur + "-01") - timedelta(days=1)
        expected = a.filter(pl.col("order_ts").map_elements(
            lambda ts: _local(ts).date() >= last_day - timedelta(days=2), return_dtype=pl.Boolean))
        assert joined.height == expected.height > 0
        diff = joined.filter(pl.col("status") != pl.col("status_new"))
        assert set(zip(diff["status"], diff["status_new"])) <= {("completed", "returned")}
        assert (joined["product"] == joined["product_new"]).all()
        changed += diff.height
    assert changed > 0


def test_ticket_exports(demo_dir: Path) -> None:
    customers = set()
    open_at_end: dict[str, str] = {}
    reopened_resolved = 0
    for month in MONTHS:
        customers |= set(_sales(demo_dir, month)["customer_id"])
        tickets = _tickets(demo_dir, month)
        assert tickets and [int(t["ticket_id"][2:]) for t in tickets] == sorted(
            int(t["ticket_id"][2:]) for t in tickets)
        for t in tickets:
            assert tuple(t) == TICKET_KEYS
            assert re.fullmatch(r"T-\d{6}", t["ticket_id"]) and t["customer_id"] in customers
            stamps = [t["created_at"], t["first_response_at"], t["resolved_at"]]
            present = [s for s in stamps if s is not None]
            assert all(TS_RE.match(s) for s in present) and present == sorted(present)
            assert stamps[:len(present)] == present          # no resolution without response
            assert all(s[:7] <= month for s in present)      # state as of the end of the month
            if t["created_at"][:7] < month:                  # older tickets only when touched
                assert month in {(t["first_response_at"] or "")[:7], (t["resolved_at"] or "")[:7]}
            if t["resolved_at"] is None:
                assert t["satisfaction"] is None
                open_at_end[t["ticket_id"]] = month
            else:
                assert t["satisfaction"] in (None, 1, 2, 3, 4, 5)
                if open_at_end.pop(t["ticket_id"], None) is not None:
                    reopened_resolved += 1
            assert (t["agent"] is None) == (t["first_response_at"] is None)
    assert reopened_resolved > 0
    assert open_at_end  # the last export still has open tickets
    raw = (demo_dir / "support" / "tickets_2025-05.json").read_text(encoding="utf-8")
    assert "\\u" not in raw and raw.endswith("\n")


def test_cli_helpers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert last_complete_month(date(2026, 1, 15)) == (2025, 12)
    assert last_complete_month(date(2026, 11, 30)) == (2026, 10)
    assert parse_month("2024-02") == (2024, 2)
    assert main([str(tmp_path), "--start", "2025-01", "--until", "2025-02"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 5 and out[-1].startswith("4 file(s) written")
    assert (tmp_path / "sales" / "sales_2025-02.csv").exists()
