"""Messy exports on Spark: the same rows as DuckDB's ingest, or a clear refusal naming the option; never a
different parse. Each case is a tiny one-source project (support.messy) ingested by both engines in a local
Spark session shared by the module."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.app.workspace import open_sandbox
from pipeline.config import load_project
from pipeline.core.database import connect
from pipeline.core.engine import QueryRequest
from pipeline.core.errors import ConfigError, InputError
from support.messy import COLUMNS as COLUMNS_OF_MESSY
from support.messy import load, make

HEADER = "id,amount,name,day\n"
CASES = {
    "decimal commas detected": ({"data/a.csv": "id;amount;name;day\n1;1.234,5;x;2026-10-01\n2;12,5;y;2026-10-02\n"},
                                {}),
    "decimal points with semicolons": ({"data/a.csv": "id;amount;name;day\n1;12.5;x;2026-10-01\n"}, {}),
    "thousands groups": ({"data/a.csv": 'id,amount,name,day\n1,"1,234,567.5",x,2026-10-01\n2,3.25,y,\n'}, {}),
    "declared decimal comma and space groups": (
        {"data/a.csv": "id;amount;name;day\n1;1 234,5;x;2026-10-01\n"}, {"options": {"decimal": ",", "thousands": " "}}),
    "both styles in one file": ({"data/a.csv": "id;amount;name;day\n1;12,5;x;\n2;12.5;y;\n"}, {}),
    "ambiguous thousands group": ({"data/a.csv": "id;amount;name;day\n1;1.234;x;\n"}, {}),
    "repeated headers and blank rows": (
        {"data/a.csv": HEADER + "1,2.5,a,2026-10-01\n" + HEADER + "2,3.5,b,2026-10-02\n,,,\n\n ID , Amount ,NAME,day\n"},
        {}),
    "columns in another order and case": (
        {"data/a.csv": "DAY,Name,id,AMOUNT\n2026-10-01,x,1,2.5\n", "data/b.csv": HEADER + "2,3.5,y,2026-10-02\n"}, {}),
    "utf-8 bom": ({"data/a.csv": "\ufeff" + HEADER + "1,2.5,Søren,2026-10-01\n"}, {}),
    "windows-1252 without encoding": ({"data/a.csv": (HEADER + "1,2.5,Søren,2026-10-01\n").encode("cp1252")}, {}),
    "declared windows-1252": ({"data/a.csv": (HEADER + "1,2.5,Søren,2026-10-01\n").encode("cp1252")},
                              {"options": {"encoding": "cp1252"}}),
    "quoted newline": ({"data/a.csv": HEADER + '1,2.5,"two\nlines",2026-10-01\n2,1,y,2026-10-02\n'}, {}),
    "too many fields": ({"data/a.csv": HEADER + "1,2.5,x,2026-10-01,extra\n"}, {}),
    "bad number": ({"data/a.csv": HEADER + "1,abc,x,2026-10-01\n"}, {}),
    "day-first date without a format": ({"data/a.csv": HEADER + "1,2.5,x,01-10-2026\n"}, {}),
    "declared date format": ({"data/a.csv": HEADER + "1,2.5,x,01-10-2026\n2,1,y,5-11-2026\n"},
                             {"options": {"date_format": "%d-%m-%Y"}}),
    "integer with a fraction": ({"data/a.csv": "id,amount\n1.5,2\n"}, {}),
    "later file wins per key": ({"data/a_1.csv": HEADER + "1,1,old,2026-10-01\n2,2,keep,2026-10-01\n",
                                 "data/a_2.csv": HEADER + "1,10,new,2026-10-02\n1,11,newer,2026-10-03\n"},
                                {"primary_key": ["id"]}),
    "quarantine": ({"data/a.csv": HEADER + "1,abc,x,2026-10-01\n"}, {"source": {"on_bad_rows": "quarantine"}}),
    "preamble lines": ({"data/a.csv": "Export of 2026-10\n" + HEADER + "1,2.5,x,2026-10-01\n"},
                       {"options": {"skip_rows": 1}}),
    "json lines": ({"data/a.json": '{"id": 1, "amount": 2.5, "name": "x", "day": "2026-10-01"}\n'
                                   '{"id": 2, "amount": null, "name": "", "day": null}\n'}, {"paths": "data/*.json"}),
}
OPTIONS = ("options.encoding", "options.decimal", "options.delimiter", "on_bad_rows", "skip_rows", "date_format")


@pytest.fixture(scope="module")
def spark_loader():
    from pipeline.kpis.spark_engine import SparkEngine

    def spark_load(root: Path):
        config = load_project(root)
        con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
        engine = SparkEngine(config, open_sandbox(config))
        try:
            report = engine.load_sources(con, lambda _m: None)
            rows = engine.run_select(QueryRequest("SELECT id, amount, name, day FROM items ORDER BY ALL", {}, "test"))
            return report, sorted(rows.rows, key=repr), engine.duplicate_keys("items")
        finally:
            engine.close()
            con.close()

    return spark_load


def outcome(run, root: Path):
    try:
        return run(root)
    except (InputError, ConfigError) as exc:
        return exc


@pytest.mark.parametrize("case", list(CASES))
def test_spark_reads_as_duckdb_or_refuses_naming_the_option(tmp_path, spark_loader, case):
    files, extra = CASES[case]
    root = make(tmp_path / "p", files, project={"timezone": "Europe/Copenhagen"}, **extra)
    duck = outcome(load, root)
    spark_root = make(tmp_path / "s", files, project={"timezone": "Europe/Copenhagen"}, **extra)
    with open(spark_root / "config" / "pulse.yaml", "a", encoding="utf-8") as handle:
        handle.write("engine: {name: spark, master: 'local[2]'}\n")
    spark = outcome(spark_loader, spark_root)
    if isinstance(spark, Exception):
        line = spark.one_line()
        assert "\n" not in line and "(hint: " in line
        if not isinstance(duck, Exception):  # refused only where Spark cannot keep the meaning: name the option
            assert any(option in line for option in OPTIONS), line
        return
    assert not isinstance(duck, Exception), f"Spark read what DuckDB refuses: {duck.one_line()}"
    duck_report, duck_rows, _ = duck
    spark_report, spark_rows, _ = spark
    assert sorted(duck_rows, key=repr) == spark_rows
    assert [(f.path, f.rows, f.skipped_headers, f.skipped_blank) for f in duck_report.files] == \
        [(f.path, f.rows, f.skipped_headers, f.skipped_blank) for f in spark_report.files]


def test_the_refusals_are_the_documented_ones(tmp_path, spark_loader):
    """What Spark refuses while DuckDB reads it: exactly the cases docs/spark.md lists."""
    refused = []
    for case in ("windows-1252 without encoding", "quarantine", "preamble lines", "declared windows-1252"):
        files, extra = CASES[case]
        root = make(tmp_path / case.replace(" ", "_"), files, **extra)
        with open(root / "config" / "pulse.yaml", "a", encoding="utf-8") as handle:
            handle.write("engine: {name: spark, master: 'local[2]'}\n")
        if isinstance(outcome(spark_loader, root), Exception):
            refused.append(case)
    assert refused == ["windows-1252 without encoding", "quarantine", "preamble lines"]


def test_local_times_in_the_repeated_hour_are_the_instants_duckdb_reads(tmp_path):
    """2026-10-25 02:30 happens twice in Copenhagen (summer time ends at 03:00): a time without an offset is read
    as its second occurrence (winter time) by both engines; a time with an offset as written; the hour skipped
    in spring (02:30 on 2026-03-29 does not exist) as 03:30 by both. Compared as instants (epoch seconds)."""
    from pipeline.kpis.spark_engine import SparkEngine

    files = {"data/a.csv": "id,amount,name,day\n1,1,a,2026-10-25 02:30:00\n2,1,b,2026-10-25T02:30:00+02:00\n"
                           "3,1,c,2026-10-25 01:59:59\n4,1,d,2026-10-25 03:00:00\n5,1,e,2026-03-29 02:30:00\n"
                           "6,1,f,2026-10-25T00:30:00Z\n"}
    columns = {**COLUMNS_OF_MESSY, "day": {"type": "timestamp"}}
    duck_root = make(tmp_path / "d", files, columns=columns)
    load(duck_root)
    config = load_project(duck_root)
    con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    try:
        duck = con.execute("SELECT id, epoch(day) FROM items ORDER BY id").fetchall()
        duck_spans = con.execute(SPANS).fetchall()
    finally:
        con.close()
    spark_root = make(tmp_path / "s", files, columns=columns)
    with open(spark_root / "config" / "pulse.yaml", "a", encoding="utf-8") as handle:
        handle.write("engine: {name: spark, master: 'local[2]'}\n")
    config = load_project(spark_root)
    con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    engine = SparkEngine(config, open_sandbox(config))
    try:
        engine.load_sources(con, lambda _m: None)
        spark = [(r[0], r[1]) for r in engine.spark.sql("SELECT id, unix_timestamp(day) FROM items ORDER BY id").collect()]
        spark_spans = engine.run_select(QueryRequest(SPANS, {}, "test")).rows
    finally:
        engine.close()
        con.close()
    assert [(i, int(e)) for i, e in duck] == spark
    first, second = 1792888200, 1792891800  # 02:30 CEST (00:30Z) and 02:30 CET (01:30Z)
    assert dict(spark)[1] == second and dict(spark)[2] == first and dict(spark)[6] == first
    assert dict(spark)[5] == 1774747800  # 03:30 CEST on 2026-03-29
    # elapsed time across the night summer time ends, as DuckDB counts it (Spark's DATEDIFF counts wall-clock time)
    assert [tuple(r) for r in spark_spans] == [tuple(r) for r in duck_spans]
    assert dict(duck_spans)[3] == 2 * 3600 + 1  # 01:59:59 CEST (23:59:59Z) to 03:00 CET (02:00Z): 2 h 1 s elapsed


SPANS = ("SELECT a.id, date_diff('second', a.day, b.day) AS seconds FROM items a JOIN items b ON b.id = 4 "
         "ORDER BY a.id")
