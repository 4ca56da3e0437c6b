"""Which rows a source shows: the newest file wins per primary key, then the last row of a file.

The same exports are loaded three ways: all at once (the batch marking of a
first load), one new file per run (the incremental marking), and after an old
file is removed (the rebuild). Each must show exactly the rows an independent
computation in Python picks, and count the keys repeated inside each file.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.config import load_project
from pipeline.core.database import connect
from pipeline.sources import dedupe, direct_load
from support.messy import load, make

HEADER = "id,amount,name,day\n"
# id 1 in all three files; id 2 twice in the first file and NULL ids twice in the second; id 4 only in the last
FILES = {
    "data/export_1.csv": HEADER + "1,1.0,first,2026-09-01\n2,2.0,early,2026-09-02\n2,2.5,late,2026-09-02\n"
                                  "3,3.0,old,2026-09-03\n",
    "data/export_2.csv": HEADER + "1,1.1,second,2026-09-01\n,9.0,blank a,2026-09-05\n3,3.3,newer,2026-09-03\n"
                                  ",9.5,blank b,2026-09-05\n",
    "data/export_3.csv": HEADER + "1,1.2,third,2026-09-01\n4,4.0,new,2026-10-01\n",
}


def expected(files: dict[str, str]) -> list[tuple]:
    """The winners, computed apart from Pulse: later path, then later line, wins per id."""
    winners: dict[str | None, tuple] = {}
    for path in sorted(files):
        for line in files[path].splitlines()[1:]:
            key, amount, name, day = line.split(",")
            winners[key or None] = (int(key) if key else None, float(amount), name, day)
    return sorted(winners.values(), key=nulls_last)


def nulls_last(row: tuple) -> tuple:
    """DuckDB's ORDER BY ALL: NULL ids after the others."""
    return (row[0] is None, row)


def shown(root: Path) -> tuple[list[tuple], dict[str, int]]:
    _, rows, _ = load(root)
    config = load_project(root)
    con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    try:
        repeated = dict(con.execute("SELECT path, duplicate_keys FROM _pulse_files").fetchall())
    finally:
        con.close()
    return [(i, a, n, d.isoformat()) for i, a, n, d in rows], repeated


def test_a_first_load_of_several_files_marks_them_together(tmp_path, monkeypatch):
    batches = []
    original = dedupe.mark_batch
    monkeypatch.setattr(dedupe, "mark_batch", lambda con, name, source, rels, **kw: batches.append(rels)
                        or original(con, name, source, rels, **kw))
    rows, repeated = shown(make(tmp_path, FILES, primary_key=["id"]))
    assert batches == [sorted(FILES)] * 2  # files 1 and 2 repeat a key: inserted again in order, marked again
    assert rows == expected(FILES)
    assert [r[2] for r in rows] == ["third", "late", "newer", "new", "blank b"]
    assert repeated == {"data/export_1.csv": 1, "data/export_2.csv": 1, "data/export_3.csv": 0}


def test_one_file_per_run_gives_the_same_rows(tmp_path):
    root = make(tmp_path, {}, primary_key=["id"])
    for path, content in sorted(FILES.items()):
        (root / path).write_text(content, encoding="utf-8")
        rows, repeated = shown(root)
    assert rows == expected(FILES)
    assert repeated == {"data/export_1.csv": 1, "data/export_2.csv": 1, "data/export_3.csv": 0}


def test_removing_the_newest_file_brings_back_what_it_superseded(tmp_path):
    root = make(tmp_path, FILES, primary_key=["id"])
    shown(root)
    (root / "data/export_3.csv").unlink()
    rows, _ = shown(root)
    rest = {k: v for k, v in FILES.items() if k != "data/export_3.csv"}
    assert rows == expected(rest)
    assert ("second" in [r[2] for r in rows]) and ("third" not in [r[2] for r in rows])


def test_a_hash_collision_only_adds_a_candidate(tmp_path, monkeypatch):
    """With every key hashing alike, every row is a candidate: the marks stay exact."""
    root = make(tmp_path, FILES, primary_key=["id"])
    config = load_project(root)
    con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    try:
        con.create_function("same_hash", lambda *_: 7, ["BIGINT"], "UBIGINT",
                            null_handling="special")
        monkeypatch.setattr(dedupe, "HASH", "same_hash")
        from pipeline.sources.ingest import ingest
        ingest(con, config)
        rows = con.execute("SELECT id, name FROM items ORDER BY ALL").fetchall()
        assert rows == [(r[0], r[2]) for r in expected(FILES)]
        dedupe.rebuild(con, "items", config.sources["items"])
        assert con.execute("SELECT id, name FROM items ORDER BY ALL").fetchall() == rows
    finally:
        con.close()


def test_a_batch_inserted_out_of_order_is_put_back_in_order_where_a_file_repeats_a_key(tmp_path, monkeypatch):
    """A batch is inserted without keeping the row order. Here that insert is made to store each file's
    rows in reverse name order; the files repeating a key must be inserted again in file order (so the
    later line still wins), the other file left as it is."""
    inserts = []
    original = direct_load._insert_rows

    def shuffled(con, insert, params, paths, ordered):
        inserts.append(([Path(p).name for p in paths], ordered))
        if not ordered:
            head, select = insert.split(") SELECT ", 1)
            insert = f"{head}) SELECT * FROM (SELECT {select}) ORDER BY _file, name DESC"
        original(con, insert, params, paths, ordered)

    monkeypatch.setattr(direct_load, "_insert_rows", shuffled)
    rows, repeated = shown(make(tmp_path, FILES, primary_key=["id"]))
    assert inserts == [(["export_1.csv", "export_2.csv", "export_3.csv"], False),
                       (["export_1.csv", "export_2.csv"], True)]
    assert rows == expected(FILES)
    assert repeated == {"data/export_1.csv": 1, "data/export_2.csv": 1, "data/export_3.csv": 0}


def test_mark_batch_marks_nothing_when_an_unordered_file_repeats_a_key(tmp_path):
    root = make(tmp_path, FILES, primary_key=["id"])
    shown(root)
    config = load_project(root)
    con = connect(config.workdir / "pulse.duckdb", config.project.timezone)
    try:
        con.execute('UPDATE "_raw_items" SET _superseded = false')
        marks = dedupe.mark_batch(con, "items", config.sources["items"], sorted(FILES), unordered=sorted(FILES))
        assert marks.reorder == ("data/export_1.csv", "data/export_2.csv")
        assert con.execute('SELECT count(*) FROM "_raw_items" WHERE _superseded').fetchall() == [(0,)]
        marks = dedupe.mark_batch(con, "items", config.sources["items"], sorted(FILES),
                                  unordered=["data/export_3.csv"])
        assert marks.reorder == ()
        assert con.execute("SELECT id, name FROM items ORDER BY ALL").fetchall() == [(r[0], r[2]) for r in expected(FILES)]
    finally:
        con.close()
