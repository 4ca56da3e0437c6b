"""Plain CSV files are inserted straight from DuckDB's reader: the same rows, the same errors.

Each export below is loaded twice, once the usual way (plain files read
directly, see `pipeline.sources.direct_load`) and once with the direct path switched
off (every file staged); the loaded rows, the counts in the ingest report and
any error must be the same. The exports are the cases the direct path must
notice and hand back: numbers whose separator needs every value looked at,
repeated headers, blank rows, values that do not fit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.core.errors import InputError
from pipeline.sources import direct_load
from support.messy import load, make

HEADER = "id,amount,name,day\n"
CASES = {
    "plain": HEADER + "1,12.50,a,2026-10-01\n2,,b,2026-10-02\n3,7,c,\n",
    "integers only": HEADER + "1,12,a,2026-10-01\n2,7,b,2026-10-02\n",
    "ambiguous thousands": HEADER + "1,1.234,a,2026-10-01\n2,2.500,b,2026-10-02\n",
    "decimal commas": "id;amount;name;day\n1;12,5;a;2026-10-01\n2;1.234,5;b;2026-10-02\n",
    "thousands groups": HEADER + '1,"1,234.5",a,2026-10-01\n2,3.25,b,2026-10-02\n',
    "whole number written 12.000": HEADER + "12.000,1.5,a,2026-10-01\n",
    "two signs": HEADER + "1,+-2,a,2026-10-01\n",
    "not a number": HEADER + "1,nan,a,2026-10-01\n",
    "spaces around numbers": HEADER + "1, 12.5 ,a,2026-10-01\n",
    "exponent": HEADER + "1,1e3,a,2026-10-01\n2,2.5,b,2026-10-02\n",
    "repeated header": HEADER + "1,1.5,a,2026-10-01\n" + HEADER + "2,2.5,b,2026-10-02\n",
    "header repeated in capitals": HEADER + "1,1.5,a,2026-10-01\nID,Amount,Name,Day\n",
    "blank rows": HEADER + "1,1.5,a,2026-10-01\n,,,\n2,2.5,b,2026-10-02\n",
    "bad date": HEADER + "1,1.5,a,31-10-2026\n",
    "too many fields": HEADER + "1,1.5,a,2026-10-01,x\n",
    "quoted newline": HEADER + '1,1.5,"two\nlines",2026-10-01\n2,2.5,b,x\n',
    "latin-1": (HEADER + "1,1.5,Sjælland,2026-10-01\n").encode("cp1252"),
    "byte order mark": "\ufeff" + HEADER + "1,1.5,a,2026-10-01\n",
    "header only": HEADER,
}


def outcome(root: Path, columns: str = "id, amount, name, day") -> tuple:
    try:
        report, rows, found = load(root, columns)
    except InputError as exc:
        return ("error", exc.message.replace(str(root), "<project>"), exc.hint)
    return ("rows", rows, [(f.rows, f.skipped_headers, f.skipped_blank) for f in report.files], found)


@pytest.mark.parametrize("case", list(CASES))
def test_direct_and_staged_loads_agree(tmp_path, monkeypatch, case):
    files = {"data/export_1.csv": CASES[case], "data/export_2.csv": CASES["plain"]}
    direct = outcome(make(tmp_path / "direct", files))
    monkeypatch.setattr(direct_load, "load", lambda *args: None)
    staged = outcome(make(tmp_path / "staged", files))
    assert direct == staged


def test_a_run_of_monthly_files_is_read_in_one_go(tmp_path, monkeypatch):
    files = {f"data/export_{m:02d}.csv": f"{HEADER}{m},{m}.5,x,2026-{m:02d}-01\n" for m in range(1, 7)}
    runs = []
    original = direct_load.load
    monkeypatch.setattr(direct_load, "load", lambda con, source, files, heads: runs.append(len(files))
                        or original(con, source, files, heads))
    root = make(tmp_path / "project", files, primary_key=["id"])
    report, rows, _ = load(root)
    assert runs == [6] and len(rows) == 6 and [f.rows for f in report.files] == [1] * 6
    shutil.rmtree(root / ".pulse")


YEARS = {"name": {"type": "text"}, "2025": {"type": "number", "required": False},
         "2026": {"type": "integer", "required": False}}
YEAR_HEADER = "name,2025,2026\n"
YEAR_COLUMNS = 'name, "2025", "2026"'
YEAR_CASES = {
    # a repeated header's fields cast as numbers here, so the direct path has to look for it
    "repeated header, numbers for column names": YEAR_HEADER + "a,1.5,2\n" + YEAR_HEADER + "b,2.5,3\n",
    "repeated header in capitals with spaces": YEAR_HEADER + "a,1.5,2\n NAME , 2025 ,2026\n",
    "blank row": YEAR_HEADER + "a,1.5,2\n,,\nb,2.5,3\n",
    # every column has an empty value somewhere, but no row is blank
    "empty values, no blank row": YEAR_HEADER + ",1.5,2\nb,,3\nc,2.5,\n",
    "plain": YEAR_HEADER + "a,1.5,2\nb,2.5,3\n",
}


@pytest.mark.parametrize("case", list(YEAR_CASES))
def test_suspect_rows_are_found_where_they_can_be(tmp_path, monkeypatch, case):
    """Blank and header rows are looked for only where they can be (a column without NULLs has no blank
    row; a header line fails the cast of a number column named with letters), so these exports, named
    with numbers, must still be handed to the staged path that drops and counts such rows."""
    files = {"data/export_1.csv": YEAR_CASES[case], "data/export_2.csv": YEAR_CASES["plain"]}
    direct = outcome(make(tmp_path / "direct", files, columns=YEARS), YEAR_COLUMNS)
    monkeypatch.setattr(direct_load, "load", lambda *args: None)
    assert direct == outcome(make(tmp_path / "staged", files, columns=YEARS), YEAR_COLUMNS)


def test_a_number_column_named_with_letters_rules_out_a_repeated_header():
    assert direct_load._names_cannot_cast(("2025", "amount"))
    assert direct_load._names_cannot_cast(("Quantity",))
    assert not direct_load._names_cannot_cast(("2025", " 1,5 ", "1e3", "E"))
    assert not direct_load._names_cannot_cast(())


INTS = {"id": {"type": "integer"}, "n": {"type": "integer", "required": False}, "name": {"type": "text"}}
INT_ROWS = "id,n,name\n1,5,a\n2,6,b\n3,7,c\n4,8,d\n"
INT_CASES = {  # the first rows looked at are 2 here (PROBE_ROWS): what comes later must still be found
    "digits only": INT_ROWS,
    "a separator on the first row": "id,n,name\n1,4.0,a\n2,6,b\n3,7,c\n",
    "a whole number written with a point, later": INT_ROWS + "5,4.0,e\n",
    "1.000 later (1 or 1000?)": INT_ROWS + "5,1.000,e\n",
    "thousands later": INT_ROWS + '5,"1,234",e\n',
    "a fraction later": INT_ROWS + "5,4.5,e\n",
}


@pytest.mark.parametrize("case", list(INT_CASES))
def test_integer_columns_are_probed_on_their_first_rows(tmp_path, monkeypatch, case):
    """A source whose number columns all hold integers has only its first rows probed for separators;
    when they show none its numbers must be digits only, so whatever comes later loads (or fails) as the
    staged path, which reads every value, has it."""
    monkeypatch.setattr(direct_load, "PROBE_ROWS", 2)
    files = {"data/export_1.csv": INT_CASES[case], "data/export_2.csv": INT_ROWS.replace("a\n", "x\n")}
    styles, direct_runs = [], []
    probe, load_files = direct_load._point_style, direct_load.load
    monkeypatch.setattr(direct_load, "_point_style", lambda *a, **k: styles.append(probe(*a, **k)) or styles[-1])
    monkeypatch.setattr(direct_load, "load", lambda *a: direct_runs.append(load_files(*a)) or direct_runs[-1])
    direct = outcome(make(tmp_path / "direct", files, columns=INTS), "id, n, name")
    if case == "digits only":  # no file read whole; the files went straight in
        assert styles == [direct_load.DIGITS_ONLY] * 2 and direct_runs[0] is not None
    if case == "a separator on the first row":  # the other file is then read whole, and both go straight in
        assert direct_load.DIGITS_ONLY not in styles[2:] and direct_runs[0] is not None
    monkeypatch.setattr(direct_load, "load", lambda *args: None)
    assert direct == outcome(make(tmp_path / "staged", files, columns=INTS), "id, n, name")


PARQUET_COLUMNS = {"id": {"type": "integer"}, "amount": {"type": "number", "required": False},
                   "name": {"type": "text", "required": False}, "ts": {"type": "timestamp", "required": False}}
PARQUET = {
    "typed": {"id": [1, 2], "amount": [1.5, None], "name": ["a", None],
              "ts": ["2026-10-01T23:30:00+00:00", None]},
    "numbers as text": {"id": ["1", "2"], "amount": ["1,5", "2,5"], "name": ["a", "b"], "ts": [None, None]},
    "a fraction in an integer column": {"id": [1.0, 2.5], "amount": [1.5, 2.5], "name": ["a", "b"],
                                        "ts": [None, None]},
}


@pytest.mark.parametrize("case", list(PARQUET))
def test_parquet_direct_and_staged_agree(tmp_path, monkeypatch, case):
    import polars as pl

    frame = pl.DataFrame(PARQUET[case])
    if case == "typed":
        frame = frame.with_columns(pl.col("ts").str.to_datetime(time_zone="UTC"))
    results = []
    for label in ("direct", "staged"):
        root = make(tmp_path / label, {}, columns=PARQUET_COLUMNS, paths="data/*.parquet")
        for month in (1, 2):
            frame.write_parquet(root / "data" / f"export_{month}.parquet")
        if label == "staged":
            monkeypatch.setattr(direct_load, "load", lambda *args: None)
        try:
            report, rows, _ = load(root, "id, amount, name, ts")
            results.append((rows, [f.rows for f in report.files]))
        except InputError as exc:
            results.append(exc.message.replace(str(root), "<project>"))
    assert results[0] == results[1]


def test_a_batch_that_fails_half_way_leaves_the_session_keeping_row_order(tmp_path, monkeypatch):
    """A batch is inserted without keeping row order; when that INSERT fails (a row with too many
    fields, past the head that is looked at first) the files go to the staged path, which needs the
    order kept (the later line of a key wins), so the setting is restored."""
    from pipeline.config import load_project
    from pipeline.core.database import connect
    from pipeline.sources.ingest import ingest

    files = {"data/export_1.csv": HEADER + "1,1.5,early,2026-10-01\n1,2.5,late,2026-10-01\n",
             "data/export_2.csv": HEADER + "".join(f"{i},1.5,x,2026-10-02\n" for i in range(2, 20_000))
             + "4,1.5,d,2026-10-04,extra\n"}
    root = make(tmp_path, files, primary_key=["id"])
    unordered = []
    original = direct_load._insert_rows
    monkeypatch.setattr(direct_load, "_insert_rows", lambda con, insert, params, paths, ordered:
                        unordered.append(not ordered) or original(con, insert, params, paths, ordered))
    config = load_project(root)
    con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    try:
        with pytest.raises(InputError, match="export_2.csv"):
            ingest(con, config)
        assert unordered == [True, False, False]  # the batch, then each file alone, in order
        assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchall() == [(True,)]
        assert con.execute("SELECT id, name FROM items WHERE id = 1").fetchall() == [(1, "late")]
    finally:
        con.close()
