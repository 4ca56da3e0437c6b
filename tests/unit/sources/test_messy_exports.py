"""Messy real-world exports: each case with the exact values Pulse loads (or the exact error).

Every test writes a tiny project with one source `items` (see `make`), puts the
export bytes under data/ and ingests it as the runner does. Covered: European
Excel CSV (semicolons, decimal commas, thousands separators) with detection,
encodings (BOM, Windows-1252, UTF-16, explicit), quoted newlines, blank and
repeated header lines, empty and header-only files, date formats, quarantine
of bad rows, and paths that would leave the project folder.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest

from pipeline.checks import source_checks as checks
from pipeline.config import load_project
from pipeline.core.database import connect
from pipeline.core.errors import ConfigError, InputError
from support.messy import error_of, load, make


# -- European Excel CSV: semicolons, decimal commas, thousands ----------------------------
def test_semicolons_and_decimal_commas_are_detected(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id;amount;name\n1;12,5;a\n2;1.234,56;b\n3;-0,25;c\n4;1.234.567;d\n5;;e\n"})
    report, rows, _ = load(root, "id, amount, name")
    assert rows == [(1, 12.5, "a"), (2, 1234.56, "b"), (3, -0.25, "c"), (4, 1234567.0, "d"), (5, None, "e")]
    assert report.files[0].rows == 5


def test_semicolon_file_with_decimal_points_is_read_as_such(tmp_path: Path) -> None:
    """`12.5` shows the decimal point, so `1.234` is 1.234 (not 1234)."""
    root = make(tmp_path, {"data/items.csv": "id;amount\n1;12.5\n2;1.234\n3;0.125\n"})
    assert load(root, "id, amount")[1] == [(1, 12.5), (2, 1.234), (3, 0.125)]


def test_a_decimal_point_in_a_decimal_comma_file_is_an_error_never_a_thousands_group(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id;amount\n1;12,5\n2;1.5\n"})
    err = error_of(root)
    assert err.message.endswith("items.csv:3: column 'amount' of source 'items': '1.5' has a decimal point, "
                                "but '12,5' on line 2 a decimal comma")
    assert "options.decimal" in (err.hint or "")
    make(tmp_path, {}, options={"decimal": ","})  # declared: the point is a plain error
    err = error_of(root)
    assert "items.csv:3: column 'amount'" in err.message and "'1.5' is not a valid number" in err.message
    assert "decimal separator ',' (configured)" in (err.hint or "")


def test_ambiguous_thousands_group_without_other_evidence_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id;amount\n1;5\n2;1.234\n"})
    err = error_of(root)
    assert "items.csv:3: column 'amount'" in err.message
    assert "cannot tell whether '1.234' is 1234 or 1.234" in err.message
    assert "options.decimal" in (err.hint or "")
    make(tmp_path, {}, options={"decimal": ","})
    assert load(root, "id, amount")[1] == [(1, 5.0), (2, 1234.0)]
    make(tmp_path, {}, options={"decimal": "."})
    assert load(root, "id, amount")[1] == [(1, 5.0), (2, 1.234)]


def test_comma_file_thousands_separators_in_groups_of_three(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": 'id,amount\n1,"1,234.56"\n2,"1,234"\n3,"12,345,678"\n4,0.5\n'})
    assert load(root, "id, amount")[1] == [(1, 1234.56), (2, 1234.0), (3, 12345678.0), (4, 0.5)]


def test_thousands_group_alone_is_ambiguous_in_any_delimiter(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": 'id,amount\n1,"1,234"\n2,7\n'})
    assert "cannot tell whether '1,234' is 1234 or 1.234" in error_of(root).message


def test_thousands_separator_not_in_groups_of_three_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": 'id,amount\n1,"1,234.5"\n2,"12,34.5"\n'})
    err = error_of(root)
    assert "items.csv:3" in err.message and "'12,34.5' is not a valid number" in err.message


def test_thousands_none_keeps_separators_as_errors(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": 'id,amount\n1,"1,234"\n'}, options={"thousands": "none", "decimal": "."})
    assert "'1,234' is not a valid number" in error_of(root).message
    make(tmp_path, {}, options={"thousands": "none"})  # then a lone separator is the decimal one
    assert load(root, "id, amount")[1] == [(1, 1.234)]


def test_declared_thousands_separator_implies_the_decimal(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id;amount\n1;1.234\n2;5\n"}, options={"thousands": "."})
    assert load(root, "id, amount")[1] == [(1, 1234.0), (2, 5.0)]


def test_explicit_space_thousands_and_decimal_comma(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id;amount\n1;1\u00a0234,5\n2;2 000\n3;-7\n"},
                options={"delimiter": ";", "decimal": ",", "thousands": " "})
    assert load(root, "id, amount")[1] == [(1, 1234.5), (2, 2000.0), (3, -7.0)]


def test_integers_with_thousands_groups_but_never_rounded(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id;amount\n1.000;1,5\n2;2,0\n"})
    assert load(root, "id, amount")[1] == [(2, 2.0), (1000, 1.5)]
    root = make(tmp_path / "b", {"data/items.csv": "id,amount\n12.5,1\n"})
    err = error_of(root)
    assert "'12.5' is not a valid integer" in err.message and "whole" in (err.hint or "")


def test_explicit_delimiter_without_decimal_means_decimal_point(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id;amount\n1;12,5\n"}, options={"delimiter": ";"})
    err = error_of(root)
    assert "items.csv:2" in err.message and "set options.decimal: ','" in (err.hint or "")
    make(tmp_path, {}, options={"delimiter": ";", "decimal": "auto"})
    assert load(root, "id, amount")[1] == [(1, 12.5)]


@pytest.mark.parametrize("delimiter", ["\t", "|", ";", ","])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["id", "name", "amount"]) + "\n" + delimiter.join(["1", '"x, y; z | w"', "2.5"]) + "\n"
    root = make(tmp_path, {"data/items.csv": text})
    assert load(root, "id, name, amount")[1] == [(1, "x, y; z | w", 2.5)]


def test_wrong_delimiter_names_the_one_used(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id;amount\n1;2\n"}, options={"delimiter": ","})
    err = error_of(root)
    assert "required column 'id'" in err.message
    assert "the file has id;amount" in (err.hint or "") and "read with delimiter ','" in (err.hint or "")


# -- encodings -----------------------------------------------------------------------------------
def test_utf8_bom_with_semicolons(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "\ufeffid;name;amount\r\n1;Æblegrød;1,5\r\n"})
    assert load(root, "id, name, amount")[1] == [(1, "Æblegrød", 1.5)]


def test_windows_1252_is_detected_and_the_temporary_copy_removed(tmp_path: Path) -> None:
    text = "id;name;amount\n1;Smørrebrød på Ærø;12,50\n2;Café € „quoted“;3\n"
    root = make(tmp_path, {"data/items.csv": text.encode("cp1252")})
    assert load(root, "id, name, amount")[1] == [(1, "Smørrebrød på Ærø", 12.5), (2, "Café € „quoted“", 3.0)]
    tmp = root / ".pulse" / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


def test_latin1_file_with_explicit_encoding(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id,name\n1,blåbær\n".encode("latin-1")}, options={"encoding": "latin-1"})
    assert load(root, "id, name")[1] == [(1, "blåbær")]


def test_explicit_encoding_wins_over_detection(tmp_path: Path) -> None:
    """Valid UTF-8 bytes read as cp1252 because the source says so."""
    root = make(tmp_path, {"data/items.csv": "id,name\n1,ø\n"}, options={"encoding": "cp1252"})
    assert load(root, "id, name")[1] == [(1, "Ã¸")]


def test_utf16_with_bom_is_detected(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id\tname\n1\tæøå\n".encode("utf-16")})
    assert load(root, "id, name")[1] == [(1, "æøå")]


def test_bytes_neither_utf8_nor_cp1252_name_the_line(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": b"id,name\n1,a\n2,\x81x\n"})
    err = error_of(root)
    assert "items.csv:3: neither UTF-8 nor Windows-1252 (byte 0x81)" in err.message
    assert "options.encoding" in (err.hint or "")


def test_invalid_bytes_for_a_declared_encoding(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": b"id,name\n1,\xe6\n"}, options={"encoding": "utf-8"})
    assert "items.csv:2: byte 0xE6 is not valid utf-8" in error_of(root).message


# -- lines: quoted newlines, blank lines, headers, empty files -----------------------------------
def test_quoted_newlines_and_blank_lines_keep_line_numbers_right(tmp_path: Path) -> None:
    text = 'id,name,amount\n1,"two\nlines",1\n\n2,"crlf\r\ninside, too",2\n3,"say ""hi""",x\n\n\n'
    root = make(tmp_path, {"data/items.csv": text})
    err = error_of(root)
    assert "items.csv:7: column 'amount'" in err.message  # header 1, rows on 2-3, blank 4, 5-6, then 7
    (root / "data" / "items.csv").write_text(text.replace(",x\n", ",3\n"), encoding="utf-8")
    assert load(root, "id, name, amount")[1] == [(1, "two\nlines", 1.0), (2, "crlf\r\ninside, too", 2.0),
                                                 (3, 'say "hi"', 3.0)]


def test_trailing_blank_lines_and_empty_delimiter_rows(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id;amount\n1;2\n;\n;\n\n\n"})
    report, rows, _ = load(root, "id, amount")
    assert rows == [(1, 2.0)] and (report.files[0].rows, report.files[0].skipped_blank) == (1, 2)
    again, _, _ = load(root, "id, amount")
    assert again.files[0].status == "unchanged" and again.files[0].skipped_blank == 2


def test_empty_and_header_only_files_load_no_rows(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a_empty.csv": b"", "data/b_header.csv": "id,amount\n",
                           "data/c_blank.csv": "\n\n", "data/d.csv": "id,amount\n1,2\n"})
    report, rows, _ = load(root, "id, amount")
    assert rows == [(1, 2.0)]
    assert [(f.path, f.status, f.rows) for f in report.files] == [
        ("data/a_empty.csv", "loaded", 0), ("data/b_header.csv", "loaded", 0), ("data/c_blank.csv", "loaded", 0),
        ("data/d.csv", "loaded", 1)]


def test_repeated_header_lines_are_dropped_and_counted(tmp_path: Path) -> None:
    text = "id,amount\n1,2\nid,amount\n\ufeffid,amount\n3,4\n ID , amount \n"
    root = make(tmp_path, {"data/items.csv": text})
    report, rows, _ = load(root, "id, amount")
    assert rows == [(1, 2.0), (3, 4.0)]
    assert (report.files[0].rows, report.files[0].skipped_headers) == (2, 3)
    again, _, _ = load(root, "id, amount")
    assert again.files[0].status == "unchanged" and again.files[0].skipped_headers == 3


def test_preamble_lines_and_blank_line_before_the_header(tmp_path: Path) -> None:
    text = "Export from the web shop\n\nid,amount\n1,2\n\n2,x\n"
    root = make(tmp_path, {"data/items.csv": text}, options={"skip_rows": 1})
    assert "items.csv:6: column 'amount'" in error_of(root).message


def test_columns_in_any_order_and_case(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "NAME;Amount;iD\nx;1,5;7\n"})
    assert load(root, "id, amount, name")[1] == [(7, 1.5, "x")]


def test_duplicate_column_in_the_header_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id,amount,Amount\n1,2,3\n"})
    assert "column 'amount' of source 'items' appears more than once" in error_of(root).message


@pytest.mark.parametrize(("content", "expected"), [
    ("id,amount\n1,2\n2,3,4\n", "items.csv:3: has more fields than the header (expected: 2, found: 3): 2,3,4"),
    ("id,amount\n1,2\n2\n", "items.csv:3: has fewer fields than the header (expected: 2, found: 1): 2"),
    ('id,name\n1,a\n2,"open\n3,c\n', 'items.csv:3: a quoted value is not closed (or text follows its closing quote): 2,"open\\n3,c'),
])
def test_unparseable_rows_fail_with_their_line(tmp_path: Path, content: str, expected: str) -> None:
    root = make(tmp_path, {"data/items.csv": content})
    err = error_of(root)
    assert expected in err.message and "quarantine" in (err.hint or "")



def test_a_line_break_outside_quotes_that_stops_the_reader_is_named_with_its_line(tmp_path: Path) -> None:
    """A carriage return inside a value that is not in quotes (tweets exported as they were typed) stops
    DuckDB's reader without a row it could set aside: the error still names the line and what is wrong."""
    content = "id,name,amount\n1,a,5\n2,@AskPayPal \rI just love it,3398\n3,c,7\n"
    for mode in ("fail", "quarantine"):
        root = make(tmp_path / mode, {"data/items.csv": content}, source={"on_bad_rows": mode},
                    columns={"id": {"type": "integer"}, "name": {"type": "text"}, "amount": {"type": "integer"}})
        err = error_of(root)
        assert err.message.endswith("data/items.csv:3: cannot be read as CSV: a line break inside a value that is "
                                    "not in quotes: 2,@AskPayPal I just love it,3398"), err.message
        assert "must be in quotes" in err.hint and "quarantine cannot set it aside" in err.hint


def test_a_file_the_reader_stops_on_names_the_first_record_of_the_wrong_width() -> None:
    import duckdb

    from pipeline.sources.csv_reader import _unreadable
    from pipeline.sources.csv_text import Lines

    params = {"columns": {"id": "VARCHAR", "name": "VARCHAR"}, "offset": 1, "delim": ",", "quote": '"',
              "escape": '"'}
    stopped = duckdb.InvalidInputException("The CSV Parser state machine reached an invalid state.")
    named = _unreadable(Path("items.csv"), stopped, params, Lines('id,name\n1,"a\nb"\n\n2,b,c\n3,d\n'))
    assert named.message == "items.csv:5: has more fields than the header (expected: 2, found: 3): 2,b,c"
    plain = _unreadable(Path("items.csv"), stopped, params, Lines("id,name\n1,a\n2,b\n"))
    assert plain.message == "items.csv: cannot read this csv file: The CSV Parser state machine reached an invalid state."


# -- dates ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "values"), [("%d-%m-%Y", ["31-10-2026", "02-01-2026"]),
                                             ("%d.%m.%Y", ["31.10.2026", "02.01.2026"])])
def test_declared_date_formats(tmp_path: Path, fmt: str, values: list[str]) -> None:
    root = make(tmp_path, {"data/items.csv": f"id;day\n1;{values[0]}\n2;{values[1]}\n3;\n"}, options={"date_format": fmt})
    assert load(root, "id, day")[1] == [(1, date(2026, 10, 31)), (2, date(2026, 1, 2)), (3, None)]


def test_day_first_dates_without_a_format_are_never_guessed(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/items.csv": "id,day\n1,2026-10-01\n2,04.05.2026\n"})
    err = error_of(root)
    assert "items.csv:3: column 'day'" in err.message and "'04.05.2026' is not a valid date" in err.message
    assert "date_format" in (err.hint or "") and "never guesses" in (err.hint or "")


def test_iso_timestamps_with_offsets(tmp_path: Path) -> None:
    columns = {"id": {"type": "integer"}, "ts": {"type": "timestamp"}}
    root = make(tmp_path, {"data/items.csv": "id;ts\n1;2026-10-31T23:30:00Z\n2;2026-07-01T12:00:00+02:00\n"},
                columns=columns)
    # instants, shown in the project's zone (Copenhagen)
    assert load(root, "id, CAST(ts AS TIMESTAMP)")[1] == [(1, datetime(2026, 11, 1, 0, 30)),
                                                         (2, datetime(2026, 7, 1, 12, 0))]


# -- quarantine -------------------------------------------------------------------------------------
QUARANTINED = (
    'id,amount,name,day\n'
    '1,2,a,2026-10-01\n'
    '2,3\n'                      # line 3: too few fields
    '3,x,c,31-10-2026\n'         # line 4: two bad values
    '4,5,"two\nlines",2026-10-02\n'
    '5,6,e,2026-10-03,extra\n'   # line 7: too many fields
    '6,7,f,2026-10-04\n'
)


def test_quarantine_keeps_bad_rows_out_and_lists_them(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": QUARANTINED, "data/b.csv": "id,amount\n7,1\n8,y\n"},
                source={"on_bad_rows": "quarantine"})
    report, rows, found = load(root)
    assert rows == [(1, 2.0, "a", date(2026, 10, 1)), (4, 5.0, "two\nlines", date(2026, 10, 2)),
                    (6, 7.0, "f", date(2026, 10, 4)), (7, 1.0, None, None)]
    assert [(f.path, f.rows, f.rejected) for f in report.files] == [("data/a.csv", 3, 3), ("data/b.csv", 1, 1)]
    assert report.rejected == {"items": 4} and report.sources[0].rejected == 4
    assert [(r.file, r.line, r.column_name, r.value, r.reason) for r in found] == [
        ("data/a.csv", 3, None, "2,3", "has fewer fields than the header (expected: 4, found: 2)"),
        ("data/a.csv", 4, "amount", "x", "not a valid number"),
        ("data/a.csv", 4, "day", "31-10-2026", "not a valid date"),
        ("data/a.csv", 7, None, "5,6,e,2026-10-03,extra", "has more fields than the header (expected: 4, found: 5)"),
        ("data/b.csv", 3, "amount", "y", "not a valid number"),
    ]
    # the data-quality check: a warning with the count and the first example
    config = load_project(root)
    con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    try:
        [result] = checks.rejects_check(con, config)
    finally:
        con.close()
    assert (result.scope, result.name, result.severity, result.passed) == ("items", "rejects", "warn", False)
    assert "4 rows quarantined" in result.message and "data/a.csv:3:" in result.message


def test_quarantined_rejects_follow_their_file(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id,amount\n1,x\n", "data/b.csv": "id,amount\n2,y\n"},
                source={"on_bad_rows": "quarantine"})
    assert [(r.file, r.value) for r in load(root, "id")[2]] == [("data/a.csv", "x"), ("data/b.csv", "y")]
    (root / "data" / "a.csv").write_text("id,amount\n1,1\n3,z\n", encoding="utf-8")
    os.utime(root / "data" / "a.csv", ns=(0, 10**18))
    report, rows, found = load(root, "id")
    assert rows == [(1,)] and [(r.file, r.line, r.value) for r in found] == [("data/a.csv", 3, "z"),
                                                                             ("data/b.csv", 2, "y")]
    assert {f.path: f.status for f in report.files} == {"data/a.csv": "loaded", "data/b.csv": "unchanged"}
    (root / "data" / "b.csv").unlink()
    report, _, found = load(root, "id")
    assert [(r.file, r.value) for r in found] == [("data/a.csv", "z")] and report.rejected == {"items": 1}


def test_quarantine_keeps_an_unterminated_quote_and_what_it_swallowed(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": 'id,name\n1,a\n2,"open\n3,c\n'}, source={"on_bad_rows": "quarantine"})
    _, rows, found = load(root, "id, name")
    assert rows == [(1, "a")]
    assert [(r.line, r.value, r.reason) for r in found] == [
        (3, '2,"open\n3,c', "a quoted value is not closed (or text follows its closing quote)")]


def test_switching_back_to_fail_reloads_and_fails(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id,amount\n1,x\n"}, source={"on_bad_rows": "quarantine"})
    assert load(root, "id")[1] == []
    make(tmp_path, {})
    assert "a.csv:2: column 'amount'" in error_of(root).message


# -- paths --------------------------------------------------------------------------------------------
@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "x.csv").write_text("id,amount\n9,9\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("pattern", ["ABS", "../elsewhere/*.csv", "data/**/../../../elsewhere/*.csv",
                                     "data/**/../../elsewhere/*.csv"])
def test_paths_outside_the_project_are_config_errors(tmp_path: Path, outside: Path, pattern: str) -> None:
    pattern = str(outside / "*.csv") if pattern == "ABS" else pattern
    root = make(tmp_path / "project", {"data/a.csv": "id\n1\n"}, paths=pattern)
    err = error_of(root)
    assert isinstance(err, ConfigError)
    assert "config/sources.yaml:" in err.message and "sources.items.paths:" in err.message
    assert "allow_outside_paths" in (err.hint or "")


def test_outside_paths_when_the_project_allows_them(tmp_path: Path, outside: Path) -> None:
    root = make(tmp_path / "project", {"data/a.csv": "id,amount\n1,1\n"}, paths=["data/*.csv", "../elsewhere/*.csv"],
                project={"allow_outside_paths": True})
    report, rows, _ = load(root, "id")
    assert rows == [(1,), (9,)]
    assert str(outside / "x.csv") in [f.path for f in report.files]


def test_dotdot_that_stays_inside_is_fine(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id\n1\n"}, paths="data/../data/*.csv")
    assert load(root, "id")[1] == [(1,)]


def test_symlink_pointing_outside_is_an_error_naming_the_link(tmp_path: Path, outside: Path) -> None:
    root = make(tmp_path / "project", {"data/a.csv": "id\n1\n"})
    os.symlink(outside / "x.csv", root / "data" / "link.csv")
    err = error_of(root)
    assert isinstance(err, InputError)
    assert "data/link.csv: symbolic link to" in err.message and "points outside the project folder" in err.message
    make(tmp_path / "project", {}, project={"allow_outside_paths": True})
    assert load(root, "id")[1] == [(1,), (9,)]


def test_symlinked_folder_pointing_outside_is_an_error(tmp_path: Path, outside: Path) -> None:
    root = make(tmp_path / "project", {"data/a.csv": "id\n1\n"}, paths="data/**/*.csv")
    os.symlink(outside, root / "data" / "more")
    assert "data/more: symbolic link to" in error_of(root).message


def test_symlink_inside_the_project_is_read_under_its_own_name(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id\n1\n", "archive/b.csv": "id\n2\n"})
    os.symlink(root / "archive" / "b.csv", root / "data" / "b.csv")
    report, rows, _ = load(root, "id")
    assert rows == [(1,), (2,)] and [f.path for f in report.files] == ["data/a.csv", "data/b.csv"]


def test_symlink_loop_loads_each_file_once(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id\n1\n"}, paths="data/**/*.csv")
    os.symlink("..", root / "data" / "loop")
    report, rows, _ = load(root, "id")
    assert rows == [(1,)] and [f.path for f in report.files] == ["data/a.csv"]
