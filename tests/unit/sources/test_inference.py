"""Sources inferred from export files (`pulse init --from`): families, types, dialect, keys, event time.

Each case writes tiny export files (the way messy real exports are written:
semicolons, decimal commas, BOMs, Windows-1252, Excel) and checks what is
inferred; the written config is then loaded and ingested in
tests/integration/test_init.py. The demo exports must come out as the demo
project's own hand-written config/sources.yaml says.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipeline.config import ColumnType
from pipeline.core.errors import InputError
from pipeline.sources.export_families import collect_exports, group_families
from pipeline.sources.file_profile import date_formats
from pipeline.sources.inference import infer_sources
from support.project import REPO


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return folder


def infer(folder: Path, tmp_path: Path, *paths: Path):
    return infer_sources(list(paths) or [folder], "Europe/Copenhagen", tmp_path / "tmp")


def only(inference):
    assert len(inference.sources) == 1, [s.name for s in inference.sources]
    return inference.sources[0]


def types(source) -> dict[str, str]:
    return {c.name: c.type.value for c in source.columns}


# -- families ----------------------------------------------------------------------------
def test_monthly_files_become_one_glob_per_format(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {
        "sales_2026-01.csv": "a\n1\n", "sales_2026-02.csv": "a\n2\n", "sales_2026-03.xlsx": b"",
        "customers.csv": "id\n1\n", "2026-01/orders.csv": "b\n1\n", "2026-02/orders.csv": "b\n1\n",
        "readme.txt.bak": "not an export", ".hidden.csv": "x\n1\n",
    })
    exports, skipped = collect_exports([folder])
    families = {f.name: f for f in group_families(exports)}
    assert sorted(families) == ["customers", "orders", "sales"]
    assert families["sales"].patterns == (f"{folder}/sales_*.csv", f"{folder}/sales_*.xlsx")
    assert families["customers"].patterns == (f"{folder}/customers.csv",)  # no digits: the file itself
    assert families["orders"].patterns == (f"{folder}/*/orders.csv",)
    assert [p.name for p in skipped] == ["readme.txt.bak"]
    assert len(families["sales"].files) == 3


def test_a_glob_that_would_catch_other_files_is_narrowed(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {"sales_2026-01.csv": "a\n1\n", "sales_2026-02.csv": "a\n2\n",
                                          "sales_backup.csv": "a\n3\n", "sales_2026-03-old.csv": "a\n4\n"})
    families = {f.name: f for f in group_families(collect_exports([folder])[0])}
    assert families["sales"].patterns == (f"{folder}/sales_????-??.csv",)
    assert families["sales_backup"].patterns == (f"{folder}/sales_backup.csv",)
    assert families["sales_old"].patterns == (f"{folder}/sales_*-old.csv",)


def test_digits_of_the_folder_given_are_not_wildcards(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports2026", {"tickets_1.json": "{}\n", "tickets_2.json": "{}\n"})
    write(tmp_path / "exports2025", {"tickets_1.json": "{}\n"})
    (family,) = group_families(collect_exports([folder])[0])
    assert family.patterns == (f"{folder}/tickets_*.json",)


def test_no_exports_is_an_error(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {"notes.txt.bak": "x"})
    with pytest.raises(InputError, match="no export files in"):
        collect_exports([folder])
    with pytest.raises(InputError, match="no such file or folder"):
        collect_exports([tmp_path / "missing"])


# -- the demo exports: as the demo's own config says -----------------------------------------
def test_demo_exports_are_inferred_as_the_demo_config_declares(tmp_path: Path, demo_exports: Path) -> None:
    inference = infer(demo_exports, tmp_path)
    declared = yaml.safe_load((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))["sources"]
    found = {s.name: s for s in inference.sources}
    assert sorted(found) == sorted(declared) == ["sales", "tickets"]
    for name, source in found.items():
        assert types(source) == {c: spec["type"] for c, spec in declared[name]["columns"].items()}, name
        assert list(source.primary_key) == declared[name]["primary_key"], name
        assert source.questions == () and source.delimiter is None and source.date_format is None
    assert found["sales"].patterns == (f"{demo_exports}/sales/sales_*.csv", f"{demo_exports}/sales/sales_*.xlsx")
    assert found["sales"].event_time == "order_ts"
    assert found["tickets"].event_time == "created_at"  # by name, among three timestamp columns
    assert "first_response_at, resolved_at" in found["tickets"].event_note
    # the range of the event time, in the reporting zone: 2024-09-01 00:xx local is 2024-08-31 22:xx UTC
    assert (found["sales"].first_event, found["sales"].last_event) == (date(2024, 9, 1), date(2026, 10, 31))
    sales_files = sorted([*demo_exports.glob("sales/*.csv"), *demo_exports.glob("sales/*.xlsx")])
    assert found["sales"].files == tuple(sales_files)


# -- messy exports ---------------------------------------------------------------------------
EUROPEAN = "Ordre nr;Dato;Kunde;Beløb;Antal\n1001;01.09.2026;Søren;1.234,50;2\n1002;15.09.2026;Åse;12,5;1\n"


def test_semicolons_decimal_commas_bom_and_latin1(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {
        "ordrer_2026-09.csv": "\ufeff" + EUROPEAN,  # UTF-8 with BOM
        "ordrer_2026-10.csv": "Ordre nr;Dato;Kunde;Beløb;Antal\n1004;31.10.2026;Øster;7;1\n".encode("cp1252"),
    })
    source = only(infer(folder, tmp_path))
    assert types(source) == {"Ordre nr": "integer", "Dato": "date", "Kunde": "text", "Beløb": "number",
                             "Antal": "integer"}
    assert (source.delimiter, source.decimal, source.date_format) == (";", ",", "%d.%m.%Y")
    assert "'1.234,50'" in source.decimal_note
    assert source.encodings == ("cp1252",)  # reported, not pinned: detection reads each file
    assert source.primary_key == ("Ordre nr",)
    assert (source.event_time, source.first_event, source.last_event) == ("Dato", date(2026, 9, 1),
                                                                          date(2026, 10, 31))


def test_an_excel_export(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    pl.DataFrame({"invoice_no": ["F-1", "F-2"], "issued": ["2026-10-01", "2026-10-31"], "net": [100.0, 12.5],
                  "lines": [1.0, 3.0], "paid": [True, False]}).write_excel(folder / "invoices_2026-10.xlsx")
    source = only(infer(folder, tmp_path))
    assert types(source) == {"invoice_no": "text", "issued": "date", "net": "number", "lines": "integer",
                             "paid": "boolean"}
    assert source.primary_key == ("invoice_no",) and source.event_time == "issued"


def test_an_ambiguous_date_column_is_a_question_never_a_guess(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {"visits_2026-05.csv": "visit_id,day,count\nV1,04-05-2026,3\nV2,01-02-2026,4\n"})
    source = only(infer(folder, tmp_path))
    assert types(source)["day"] == "date" and source.date_format is None
    (question,) = source.questions
    assert question.key == "options.date_format"
    assert [value for value, _ in question.choices] == ["%d-%m-%Y", "%m-%d-%Y"]
    assert [meaning for _, meaning in question.choices] == ["day first", "month first"]
    assert (source.first_event, source.last_event) == (None, None)  # unknown until chosen
    # a later export with the 13th settles it for the whole family
    write(folder, {"visits_2026-06.csv": "visit_id,day,count\nV3,13-06-2026,1\n"})
    source = only(infer(folder, tmp_path))
    assert source.date_format == "%d-%m-%Y" and source.questions == ()


def test_year_first_two_digit_dates_are_ambiguous_too(tmp_path: Path) -> None:
    assert date_formats("22-04-15") == ["%d-%m-%y", "%m-%d-%y", "%y-%m-%d"]
    assert date_formats("31.10.2026 14:30") == ["%d.%m.%Y %H:%M", "%m.%d.%Y %H:%M"]
    assert date_formats("2026/10/31") == ["%Y/%m/%d"]
    assert date_formats("SO-1001") == []


def test_timestamps_in_a_declared_format(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {"log.csv": "ticket_id;opened;closed\nT1;31.10.2026 14:30;\n"
                                                     "T2;01.10.2026 08:05;02.10.2026 09:00\n"})
    source = only(infer(folder, tmp_path))
    assert types(source) == {"ticket_id": "text", "opened": "timestamp", "closed": "timestamp"}
    assert source.timestamp_format == "%d.%m.%Y %H:%M" and source.questions == ()
    assert source.event_time == "opened"  # `closed` says when something ended
    write(tmp_path / "other", {"items.csv": "item_id,shipping_limit_date\nI1,2026-10-01\n"})
    only_one = only(infer(tmp_path / "other", tmp_path))
    assert only_one.event_time == "shipping_limit_date" and "CHECK" in only_one.event_note


def test_numbers_whose_decimal_separator_no_value_shows_are_a_question(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {"stock_1.csv": "sku_id;qty;weight\nA;1;1.234\nB;2;5\n"})
    source = only(infer(folder, tmp_path))
    (question,) = source.questions
    assert question.key == "options.decimal" and "cannot tell whether '1.234' is 1234 or 1.234" in question.text
    assert [value for value, _ in question.choices] == [",", "."]
    # another export of the family shows it: decided
    write(folder, {"stock_2.csv": "sku_id;qty;weight\nA;1;0,5\n"})
    source = only(infer(folder, tmp_path))
    assert source.decimal == "," and source.questions == ()
    assert types(source)["weight"] == "number"


def test_ids_with_leading_zeros_stay_text_and_missing_columns_are_optional(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {
        "members_1.csv": "member_no,zip,active,note,joined\n007,0800,true,,2026-01-05\n012,8000,false,,2026-02-01\n",
        "members_2.csv": "member_no,zip,active,joined\n013,2100,TRUE,2026-03-01\n",
    })
    source = only(infer(folder, tmp_path))
    assert types(source) == {"member_no": "text", "zip": "text", "active": "boolean", "note": "text",
                             "joined": "date"}
    columns = {c.name: c for c in source.columns}
    assert columns["note"].required is False and "no values" in columns["note"].note
    assert columns["joined"].required is True
    assert source.primary_key == ("member_no",)


def test_a_pair_of_id_columns_as_the_key(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {"lines.csv": "order_id,line_no,customer_id,amount\n"
                                                       "A,1,C1,5\nA,2,C1,6\nB,1,C2,7\n"})
    source = only(infer(folder, tmp_path))
    assert source.primary_key == ("order_id", "line_no")  # customer_id repeats, so it is no key part alone


def test_a_key_must_be_unique_within_every_file_not_only_the_first(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {"t_1.csv": "code,x\nA,1\nB,2\n", "t_2.csv": "code,x\nA,1\nA,2\n"})
    source = only(infer(folder, tmp_path))
    assert source.primary_key == ()


def test_integers_and_whole_excel_floats_agree_across_files(tmp_path: Path) -> None:
    folder = write(tmp_path / "exports", {"sales_2026-09.csv": "id,qty,price\n1,2,9.5\n"})
    pl.DataFrame({"id": [2.0], "qty": [3.0], "price": [10.0]}).write_excel(folder / "sales_2026-10.xlsx")
    source = only(infer(folder, tmp_path))
    assert types(source) == {"id": "integer", "qty": "integer", "price": "number"}
    assert ColumnType.INTEGER.value == "integer"
