"""Ingest (pipeline.sources.ingest + pipeline.sources.formats) on tiny projects built in tmp_path.

Each test writes its own minimal project (config/pulse.yaml, sources.yaml with
one source `items`, kpis.yaml + one query, reports.yaml), loads it with
`pipeline.config.load_project` and calls `pipeline.sources.ingest` on the
project's DuckDB file, exactly as the runner does.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipeline.config import load_project
from pipeline.core.database import connect
from pipeline.core.errors import InputError
from pipeline.sources.ingest import IngestReport, ingest

ZONE = "Europe/Copenhagen"

CONTRACT = {
    "id": {"type": "integer"},
    "amount": {"type": "number", "required": False},
    "name": {"type": "text"},
    "day": {"type": "date"},
    "ts": {"type": "timestamp", "required": False},
}

# the same small table in every format; row 2 has no amount (NULL)
ROWS = [
    (1, 12.5, "Æblegrød", date(2026, 10, 31), datetime(2026, 10, 31, 23, 30, 0)),
    (2, None, "smørrebrød på ø", date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, 5)),
    (3, -0.25, "plain", date(2025, 2, 28), datetime(2025, 7, 1, 12, 0, 0)),
    (42, 1234567.875, "ÆØÅ æøå", date(2024, 12, 31), datetime(2024, 12, 31, 0, 0, 1)),
]
COLUMNS = ["id", "amount", "name", "day", "ts"]
EXPECTED_TYPES = {"id": "BIGINT", "amount": "DOUBLE", "name": "VARCHAR", "day": "DATE",
                  "ts": "TIMESTAMP WITH TIME ZONE"}  # timestamps are instants

QUERY = """SELECT p.period_start AS period, count(*) AS value
FROM periods p JOIN items i ON i.day >= p.period_start AND i.day < p.period_end
GROUP BY ALL
"""


def write_project(
    root: Path,
    paths: list[str] | str,
    columns: dict | None = None,
    options: dict | None = None,
    primary_key: list[str] | None = None,
    fmt: str = "auto",
) -> Path:
    """A minimal valid project at `root` with one source `items`."""
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "queries").mkdir(exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    source: dict = {"paths": paths, "format": fmt, "columns": columns or CONTRACT}
    if "day" in source["columns"] and "ts" in source["columns"]:
        source["event_time"] = "day"  # two date/timestamp columns: say which one is when a row happened
    if options:
        source["options"] = options
    if primary_key is not None:
        source["primary_key"] = primary_key
    files = {
        "pulse.yaml": {"project": {"company": "Testfirma ApS", "timezone": ZONE}},
        "sources.yaml": {"sources": {"items": source}},
        "kpis.yaml": {"kpis": {"item_count": {"title": "Items", "unit": "count", "fill": "zero"}}},
        "reports.yaml": {"reports": {"monthly": {"title": "Items report", "kpis": ["item_count"]}}},
    }
    for name, data in files.items():
        (root / "config" / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (root / "queries" / "item_count.sql").write_text(QUERY, encoding="utf-8")
    return root


def run_ingest(root: Path, order_by: str = "id") -> tuple[IngestReport, list[tuple]]:
    """Ingest the project at `root` into its DuckDB file; return the report and the table."""
    config = load_project(root)
    con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    try:
        report = ingest(con, config)
        rows = [tuple(_local(v) for v in row)
                for row in con.execute(f"SELECT * FROM items ORDER BY {order_by}").fetchall()]
    finally:
        con.close()
    return report, rows


def _local(value: object) -> object:
    """A stored instant as local wall-clock time in the project's zone (the session's, as DuckDB returns it)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        assert str(value.tzinfo) == ZONE
        return value.replace(tzinfo=None)
    return value


def table_types(root: Path) -> dict[str, str]:
    config = load_project(root)
    con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    try:
        return dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE items)").fetchall())
    finally:
        con.close()


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        [list(r) for r in ROWS],
        schema={"id": pl.Int64, "amount": pl.Float64, "name": pl.String, "day": pl.Date, "ts": pl.Datetime("us")},
        orient="row",
    )


def write_csv(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def csv_lines(rows: list[tuple], header: str = "id,amount,name,day,ts") -> list[str]:
    out = [header]
    for r in rows:
        amount = "" if r[1] is None else repr(r[1])
        out.append(f"{r[0]},{amount},{r[2]},{r[3].isoformat()},{r[4].isoformat(sep=' ')}")
    return out


def json_records() -> list[dict]:
    return [
        {"id": r[0], "amount": r[1], "name": r[2], "day": r[3].isoformat(), "ts": r[4].isoformat(sep=" ")}
        for r in ROWS
    ]


def _write_csv_format(path: Path) -> None:
    write_csv(path, csv_lines(ROWS))


def _write_parquet(path: Path) -> None:
    frame().write_parquet(path)


def _write_ndjson(path: Path) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in json_records()), encoding="utf-8")


def _write_json_array(path: Path) -> None:
    path.write_text(json.dumps(json_records(), ensure_ascii=False, indent=1), encoding="utf-8")


def _write_xlsx(path: Path) -> None:
    frame().write_excel(path, worksheet="items")


WRITERS = {
    "csv": ("items.csv", _write_csv_format),
    "parquet": ("items.parquet", _write_parquet),
    "ndjson": ("items.json", _write_ndjson),
    "json-array": ("items.json", _write_json_array),
    "xlsx": ("items.xlsx", _write_xlsx),
}


# -- every input format ---------------------------------------------------------
@pytest.mark.parametrize("kind", list(WRITERS))
def test_each_format_loads_the_same_typed_rows(tmp_path: Path, kind: str) -> None:
    filename, writer = WRITERS[kind]
    root = write_project(tmp_path / kind, f"data/{filename}", primary_key=["id"])
    writer(root / "data" / filename)

    report, rows = run_ingest(root)

    assert rows == ROWS
    for row in rows:  # typed, not merely equal-looking
        assert [type(v) for v in row] == [int, float if row[1] is not None else type(None), str, date, datetime]
    assert table_types(root) == EXPECTED_TYPES
    assert [(f.path, f.status, f.rows) for f in report.files] == [(f"data/{filename}", "loaded", len(ROWS))]
    assert report.sources[0].name == "items" and report.sources[0].rows == len(ROWS)


def test_all_formats_together_in_one_source(tmp_path: Path) -> None:
    """One source may mix formats; each file is read by its own reader."""
    root = write_project(tmp_path, "data/*", primary_key=[])
    for kind in ("csv", "parquet", "xlsx"):
        filename, writer = WRITERS[kind]
        writer(root / "data" / filename)
    _write_ndjson(root / "data" / "items_nd.json")
    _, rows = run_ingest(root, order_by="id, name")
    assert sorted(rows, key=lambda r: (r[0], r[2])) == sorted(ROWS * 4, key=lambda r: (r[0], r[2]))


# -- timestamps -----------------------------------------------------------------
def test_timestamps_convert_offsets_to_the_project_zone(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"])
    write_csv(root / "data" / "items.csv", [
        "id,name,day,ts",
        "1,utc,2026-10-31,2026-10-31T23:30:00Z",      # CET (UTC+1) after the 25 Oct switch
        "2,naive,2026-10-31,2026-10-31 23:30:00",     # already local: kept as is
        "3,plus2,2026-10-31,2026-10-31T23:30:00+02:00",
        "4,summer,2026-07-01,2026-07-01T12:00:00+02:00",  # CEST: +02:00 is local time
        "5,summer-utc,2026-07-01,2026-06-30T22:15:00Z",
        "6,empty,2026-07-01,",
    ])
    _, rows = run_ingest(root)
    ts = {r[2]: r[4] for r in rows}
    assert ts == {  # local wall-clock time in Copenhagen
        "utc": datetime(2026, 11, 1, 0, 30),
        "naive": datetime(2026, 10, 31, 23, 30),
        "plus2": datetime(2026, 10, 31, 22, 30),
        "summer": datetime(2026, 7, 1, 12, 0),
        "summer-utc": datetime(2026, 7, 1, 0, 15),
        "empty": None,
    }
    config = load_project(root)
    con = connect(config.workdir / "pulse.duckdb", "UTC")  # the same instants, seen from another zone
    try:
        utc = dict(con.execute("SELECT name, CAST(ts AS TIMESTAMP) FROM items").fetchall())
    finally:
        con.close()
    assert utc["utc"] == datetime(2026, 10, 31, 23, 30) and utc["naive"] == datetime(2026, 10, 31, 22, 30)
    assert utc["summer"] == datetime(2026, 7, 1, 10, 0)


def test_timezone_aware_parquet_timestamps_are_converted(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.parquet", primary_key=["id"])
    pl.DataFrame(
        {"id": [1], "name": ["x"], "day": [date(2026, 10, 31)],
         "ts": [datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc)]},
        schema={"id": pl.Int64, "name": pl.String, "day": pl.Date, "ts": pl.Datetime("us", "UTC")},
    ).write_parquet(root / "data" / "items.parquet")
    _, rows = run_ingest(root)
    assert rows[0][4] == datetime(2026, 11, 1, 0, 30)


# -- incremental loads ------------------------------------------------------------
def _bump_mtime(path: Path, seconds: int = 10) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


def _month_file(root: Path, month: str, rows: list[tuple]) -> Path:
    path = write_csv(root / "data" / f"items_{month}.csv", csv_lines(rows))
    return path


@pytest.fixture
def monthly(tmp_path: Path) -> Path:
    """A project with two monthly files that overlap on id 2."""
    root = write_project(tmp_path, "data/items_*.csv", primary_key=["id"])
    _month_file(root, "2026-09", [ROWS[0], (2, 1.0, "old", date(2026, 9, 30), datetime(2026, 9, 30, 12, 0))])
    _month_file(root, "2026-10", [(2, 2.0, "new", date(2026, 10, 1), datetime(2026, 10, 1, 8, 0)), ROWS[2]])
    return root


def test_overlapping_files_later_path_wins(monthly: Path) -> None:
    report, rows = run_ingest(monthly)
    assert [f.status for f in report.files] == ["loaded", "loaded"]
    assert [(r[0], r[2]) for r in rows] == [(1, "Æblegrød"), (2, "new"), (3, "plain")]


def test_later_path_wins_regardless_of_mtime(monthly: Path) -> None:
    """Order is by path, not by which file was written last."""
    older = monthly / "data" / "items_2026-09.csv"
    _bump_mtime(older, 3600)
    _, rows = run_ingest(monthly)
    assert [(r[0], r[2]) for r in rows] == [(1, "Æblegrød"), (2, "new"), (3, "plain")]


def test_unchanged_rerun_loads_nothing(monthly: Path) -> None:
    _, first = run_ingest(monthly)
    report, rows = run_ingest(monthly)
    assert report.loaded == []
    assert [f.status for f in report.files] == ["unchanged", "unchanged"]
    assert [f.rows for f in report.files] == [2, 2]
    assert rows == first


def test_unchanged_rerun_does_not_read_the_file(monthly: Path) -> None:
    """Same size and mtime: the file is trusted without being opened."""
    _, first = run_ingest(monthly)
    path = monthly / "data" / "items_2026-10.csv"
    st = path.stat()
    path.write_bytes(bytes((7 * i + 1) % 256 for i in range(st.st_size)))  # not even text
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns

    report, rows = run_ingest(monthly)
    assert report.loaded == []
    assert rows == first


def test_touched_file_is_not_reloaded(monthly: Path) -> None:
    _, first = run_ingest(monthly)
    _bump_mtime(monthly / "data" / "items_2026-09.csv")
    report, rows = run_ingest(monthly)
    assert report.loaded == []
    assert [f.status for f in report.files] == ["unchanged", "unchanged"]
    assert rows == first
    # the new mtime was recorded: the next run does not even hash it again
    again, _ = run_ingest(monthly)
    assert again.loaded == []


def test_changed_file_reloads_only_that_file(monthly: Path) -> None:
    run_ingest(monthly)
    path = _month_file(monthly, "2026-10", [(2, 2.0, "newer", date(2026, 10, 1), datetime(2026, 10, 1, 8, 0))])
    _bump_mtime(path)
    report, rows = run_ingest(monthly)
    assert [f.path for f in report.loaded] == ["data/items_2026-10.csv"]
    assert {f.path: f.status for f in report.files}["data/items_2026-09.csv"] == "unchanged"
    assert [(r[0], r[2]) for r in rows] == [(1, "Æblegrød"), (2, "newer")]  # id 3 left with the old version


def test_same_size_change_is_detected(monthly: Path) -> None:
    """A changed file whose size happens to be the same still reloads (mtime differs)."""
    run_ingest(monthly)
    path = monthly / "data" / "items_2026-10.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(",new,", ",NEW,"), encoding="utf-8")
    _bump_mtime(path)
    report, rows = run_ingest(monthly)
    assert [f.path for f in report.loaded] == ["data/items_2026-10.csv"]
    assert rows[1][2] == "NEW"


def test_added_file_is_loaded(monthly: Path) -> None:
    run_ingest(monthly)
    _month_file(monthly, "2026-11", [(2, 3.0, "newest", date(2026, 11, 1), datetime(2026, 11, 1, 9, 0)), ROWS[3]])
    report, rows = run_ingest(monthly)
    assert [f.path for f in report.loaded] == ["data/items_2026-11.csv"]
    assert [(r[0], r[2]) for r in rows] == [(1, "Æblegrød"), (2, "newest"), (3, "plain"), (42, "ÆØÅ æøå")]


def test_removed_file_drops_its_rows(monthly: Path) -> None:
    run_ingest(monthly)
    (monthly / "data" / "items_2026-10.csv").unlink()
    report, rows = run_ingest(monthly)
    assert report.loaded == []
    assert {f.path: f.status for f in report.files} == {
        "data/items_2026-10.csv": "removed",
        "data/items_2026-09.csv": "unchanged",
    }
    # id 3 is gone and id 2 falls back to the earlier file's version
    assert [(r[0], r[2]) for r in rows] == [(1, "Æblegrød"), (2, "old")]


def test_changed_contract_reloads_the_source(monthly: Path) -> None:
    run_ingest(monthly)
    columns = {**CONTRACT, "name": {"type": "text", "required": True}, "extra": {"type": "text", "required": False}}
    write_project(monthly, "data/items_*.csv", columns=columns, primary_key=["id"])
    report, rows = run_ingest(monthly)
    assert len(report.loaded) == 2
    assert all(len(r) == 6 and r[5] is None for r in rows)


def test_without_primary_key_all_rows_are_kept(monthly: Path) -> None:
    write_project(monthly, "data/items_*.csv", primary_key=[])
    _, rows = run_ingest(monthly, order_by="id, name")
    assert [(r[0], r[2]) for r in rows] == [(1, "Æblegrød"), (2, "new"), (2, "old"), (3, "plain")]


# -- column matching ----------------------------------------------------------------
def test_columns_match_case_insensitively_in_any_order(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"])
    write_csv(root / "data" / "items.csv", [
        "NAME,Day,Ts,ID,Amount,unrelated",
        "Æblegrød,2026-10-31,2026-10-31 23:30:00,1,12.5,x",
        "smørrebrød på ø,2026-01-02,2026-01-02 03:04:05,2,,y",
    ])
    _, rows = run_ingest(root)
    assert rows == ROWS[:2]
    assert list(table_types(root)) == COLUMNS  # contract columns, contract order, no extras


def test_csv_with_bom_and_crlf_line_endings(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8": a byte-order mark and CRLF line endings."""
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"])
    (root / "data" / "items.csv").write_bytes(
        "\ufeffid,name,day\r\n1,Æblegrød,2026-10-31\r\n2,ø,2026-01-02\r\n".encode("utf-8")
    )
    _, rows = run_ingest(root)
    assert [(r[0], r[2], r[3]) for r in rows] == [(1, "Æblegrød", date(2026, 10, 31)), (2, "ø", date(2026, 1, 2))]


def test_skip_rows_and_the_line_number_of_a_bad_value(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"], options={"skip_rows": 2})
    lines = ["Export from the web shop", "generated 2026-11-01", "id,name,day", "1,a,2026-10-30", "2,b,2026-10-31"]
    write_csv(root / "data" / "items.csv", lines)
    _, rows = run_ingest(root)
    assert [(r[0], r[3]) for r in rows] == [(1, date(2026, 10, 30)), (2, date(2026, 10, 31))]
    write_csv(root / "data" / "items.csv", lines[:-1] + ["2,b,2026-10-32"])
    _bump_mtime(root / "data" / "items.csv")
    with pytest.raises(InputError) as info:
        run_ingest(root)
    assert "items.csv:5:" in info.value.message  # the file's own line, preamble and header included


def test_missing_optional_column_becomes_null(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"])
    write_csv(root / "data" / "items.csv", ["name,id,day", "Æblegrød,1,2026-10-31", "b,2,2026-01-02"])
    _, rows = run_ingest(root)
    assert rows == [(1, None, "Æblegrød", date(2026, 10, 31), None), (2, None, "b", date(2026, 1, 2), None)]
    assert table_types(root) == EXPECTED_TYPES


def test_missing_required_column_is_an_input_error(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"])
    write_csv(root / "data" / "items.csv", ["id,day", "1,2026-10-31"])
    with pytest.raises(InputError) as info:
        run_ingest(root)
    assert "items.csv" in info.value.message
    assert "required column 'name'" in info.value.message
    assert info.value.hint == "the file has id, day"


def test_misspelt_required_column_suggests_the_closest(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"])
    write_csv(root / "data" / "items.csv", ["id,nmae,day", "1,a,2026-10-31"])
    with pytest.raises(InputError) as info:
        run_ingest(root)
    assert "required column 'name'" in info.value.message
    assert info.value.hint == "the file has id, nmae, day; did you mean 'nmae'?"


# -- reader options -----------------------------------------------------------------
def test_decimal_comma_and_semicolon_delimiter(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"], options={"delimiter": ";", "decimal": ","})
    write_csv(root / "data" / "items.csv", [
        "id;amount;name;day;ts",
        "1;12,5;Æblegrød;2026-10-31;2026-10-31 23:30:00",
        "2;;komma, i tekst;2026-01-02;2026-01-02 03:04:05",
        "3;-0,25;plain;2025-02-28;2025-07-01 12:00:00",
        "42;1.234.567,875;ÆØÅ æøå;2024-12-31;2024-12-31 00:00:01",
    ])
    _, rows = run_ingest(root)
    assert rows == [ROWS[0], (2, None, "komma, i tekst", *ROWS[1][3:]), ROWS[2], ROWS[3]]


def test_decimal_comma_without_option_is_an_error_with_a_hint(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"], options={"delimiter": ";"})
    write_csv(root / "data" / "items.csv", ["id;amount;name;day", "1;12,5;a;2026-10-31"])
    with pytest.raises(InputError) as info:
        run_ingest(root)
    assert "items.csv:2" in info.value.message and "'amount'" in info.value.message
    assert "decimal" in (info.value.hint or "")


def test_date_format_option(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"], options={"date_format": "%d-%m-%Y"})
    write_csv(root / "data" / "items.csv", ["id,name,day", "1,a,31-10-2026", "2,b,02-01-2026", "3,c,"])
    _, rows = run_ingest(root)
    assert [(r[0], r[3]) for r in rows] == [(1, date(2026, 10, 31)), (2, date(2026, 1, 2)), (3, None)]


def test_day_first_date_without_date_format_names_file_line_and_column(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/items.csv", primary_key=["id"])
    write_csv(root / "data" / "items.csv", ["id,name,day", "1,a,2026-10-30", "2,b,31-10-2026"])
    with pytest.raises(InputError) as info:
        run_ingest(root)
    err = info.value
    assert "items.csv:3:" in err.message  # header is line 1, the bad value is on line 3
    assert "column 'day'" in err.message and "'31-10-2026'" in err.message
    assert "date_format" in (err.hint or "")
    assert err.one_line().startswith("error: ") and "\n" not in err.one_line()
    # nothing of the bad file was loaded; a fixed file loads on the next run
    write_csv(root / "data" / "items.csv", ["id,name,day", "1,a,2026-10-30", "2,b,2026-10-31"])
    report, rows = run_ingest(root)
    assert len(report.loaded) == 1 and [r[3] for r in rows] == [date(2026, 10, 30), date(2026, 10, 31)]


def test_missing_export_folder_is_an_input_error(tmp_path: Path) -> None:
    root = write_project(tmp_path, "data/nowhere/items_*.csv")
    with pytest.raises(InputError) as info:
        run_ingest(root)
    assert "sources.items" in info.value.message and "does not exist" in info.value.message


def test_failed_run_does_not_leave_the_table_stale(monthly: Path) -> None:
    """Files committed by a run that then failed still reach the table on the next run.

    The second file is broken and then restored to its recorded content (e.g. an
    editor's undo): it counts as unchanged, yet the first file's new rows,
    committed before the failure, must show.
    """
    run_ingest(monthly)
    first = monthly / "data" / "items_2026-09.csv"
    second = monthly / "data" / "items_2026-10.csv"
    original = second.read_bytes()
    first.write_text(first.read_text(encoding="utf-8").replace("Æblegrød", "Rødgrød"), encoding="utf-8")
    _bump_mtime(first)
    second.write_text("id,amount,name,day,ts\n2,1,x,31-10-2026,\n", encoding="utf-8")
    _bump_mtime(second)
    with pytest.raises(InputError, match="items_2026-10.csv:2"):
        run_ingest(monthly)
    second.write_bytes(original)
    _bump_mtime(second, 20)
    report, rows = run_ingest(monthly)
    assert report.loaded == []
    assert [(r[0], r[2]) for r in rows] == [(1, "Rødgrød"), (2, "new"), (3, "plain")]
