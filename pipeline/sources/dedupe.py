"""One row per primary key: which raw rows a source's table shows.

Every row of every loaded file stays in `_raw_<source>` (with `_file`, its
path; the rows of a file that repeats a key are in file order, so their
rowids keep it). A row is *superseded* when the same key appears later: in a
file whose path sorts later, or further down the same file. The source's own
name is a view of the raw rows that are not superseded, so each row is stored
once and nothing is copied to deduplicate.

- A new file that sorts after every loaded file (the monthly export) is the
  incremental path: its rows are appended and the older rows with its keys
  are marked superseded, found by a join with the new file's keys only.
- Several new files that sort after every loaded file (a first load, or
  months of exports added at once) are marked together (`mark_batch`).
- Anything else (a file changed, removed, or added before a loaded one) is a
  rebuild: the mark is recomputed for every row. Files are still read only
  when they changed.

A batch may be inserted without keeping the files' row order (DuckDB then
writes the rows to disk as it reads them, in parallel, instead of at the
checkpoint). Row order only decides between rows of the same key in one file,
so `mark_batch` is told which files were inserted that way and, when such a
file repeats a key, marks nothing and names it: the caller inserts that file
again in order and marks the batch anew.

A batch and a rebuild look only at candidate rows: those whose key hashes
to a value that occurs more than once (one aggregation of 64-bit hashes, a
fraction of the cost of grouping the keys themselves). The winner per key
is then chosen by a window over the candidates and their real keys, so a
hash collision only adds a candidate, never a wrong mark.

Without a primary key every row is shown.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import duckdb

from pipeline.config import SourceConfig
from pipeline.core.database import quote_ident

KEYS_TABLE = "_pulse_file_keys"
CANDIDATES = "_pulse_key_candidates"
HASH = "hash"  # DuckDB's 64-bit hash of the key columns


def raw_table(name: str) -> str:
    return quote_ident(f"_raw_{name}")


def view_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = $v AND NOT temporary "
                       "AND schema_name = 'main'", {"v": name}).fetchall()[0][0] > 0


def ensure_view(con: duckdb.DuckDBPyConnection, name: str, source: SourceConfig) -> None:
    """(Re)create the source's view over its raw rows (replacing a table of that name)."""
    is_table = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = $t AND NOT temporary AND schema_name = 'main'",
        {"t": name},
    ).fetchall()[0][0]
    if is_table:
        con.execute(f"DROP TABLE {quote_ident(name)}")
    columns = ", ".join(quote_ident(c) for c in source.columns)
    current = " WHERE NOT _superseded" if source.primary_key else ""
    con.execute(f"CREATE OR REPLACE VIEW {quote_ident(name)} AS SELECT {columns} FROM {raw_table(name)}{current}")


def _matching(left: str, right: str, keys: list[str]) -> str:
    """Key equality that treats NULLs as equal, as grouping does."""
    return " AND ".join(f"{left}.{quote_ident(k)} IS NOT DISTINCT FROM {right}.{quote_ident(k)}" for k in keys)


def mark_file(con: duckdb.DuckDBPyConnection, name: str, source: SourceConfig, rel: str, append: bool) -> int:
    """After a file's rows were inserted: mark what they supersede; return its repeated keys.

    Within the file, earlier rows of a repeated key are superseded. With
    `append` (the file sorts after every file loaded before it) the rows of
    its keys in files sorting before it are superseded too; otherwise the
    caller rebuilds. Files loaded together are marked in path order.
    """
    if not source.primary_key:
        return 0
    raw = raw_table(name)
    keys = source.primary_key
    key_list = ", ".join(quote_ident(k) for k in keys)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {KEYS_TABLE} AS SELECT {key_list}, count(*) AS _n, max(rowid) AS _last "
        f"FROM {raw} WHERE _file = $f GROUP BY ALL",
        {"f": rel},
    )
    repeated = con.execute(f"SELECT count(*) FILTER (WHERE _n > 1) FROM {KEYS_TABLE}").fetchall()[0][0]
    if repeated and append:
        con.execute(
            f"UPDATE {raw} SET _superseded = true FROM {KEYS_TABLE} k "
            f"WHERE {raw}._file = $f AND k._n > 1 AND {_matching(raw, 'k', keys)} AND {raw}.rowid < k._last",
            {"f": rel},
        )
    if append:
        con.execute(
            f"UPDATE {raw} SET _superseded = true FROM {KEYS_TABLE} k "
            f"WHERE {raw}._file < $f AND NOT {raw}._superseded AND {_matching(raw, 'k', keys)}",
            {"f": rel},
        )
    con.execute(f"DROP TABLE IF EXISTS {KEYS_TABLE}")
    return repeated


@dataclass(frozen=True)
class BatchMarks:
    """What `mark_batch` did: each file's number of keys repeated within it, and the files inserted
    without their row order that repeat a key (when there are any, nothing was marked)."""

    repeated: dict[str, int]
    reorder: tuple[str, ...] = ()


def mark_batch(con: duckdb.DuckDBPyConnection, name: str, source: SourceConfig, rels: list[str],
               unordered: Collection[str] = ()) -> BatchMarks:
    """After the rows of several new files (sorting after every loaded file) were inserted: mark what
    they supersede among the current rows, unless a file of `unordered` (inserted without keeping its
    row order) repeats a key: then nothing is marked and those files are named in `reorder`."""
    if not source.primary_key:
        return BatchMarks({rel: 0 for rel in rels})
    _candidates(con, name, source, current_only=True)
    keys = ", ".join(quote_ident(k) for k in source.primary_key)
    repeated = dict(con.execute(
        f"SELECT _file, count(*) FROM (SELECT _file, {keys} FROM {CANDIDATES} WHERE list_contains($files, _file) "
        "GROUP BY ALL HAVING count(*) > 1) GROUP BY _file",
        {"files": rels},
    ).fetchall())
    reorder = tuple(sorted(rel for rel in unordered if repeated.get(rel)))
    if not reorder:
        _apply_marks(con, name)
    con.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
    return BatchMarks({rel: repeated.get(rel, 0) for rel in rels}, reorder)


def rebuild(con: duckdb.DuckDBPyConnection, name: str, source: SourceConfig) -> None:
    """Recompute the superseded mark of every raw row (newest file, then last row, wins)."""
    if not source.primary_key:
        return
    _candidates(con, name, source, current_only=False)
    _apply_marks(con, name)
    raw = raw_table(name)
    con.execute(f"UPDATE {raw} SET _superseded = false WHERE _superseded "
                f"AND rowid NOT IN (SELECT _rid FROM {CANDIDATES} WHERE _now)")
    con.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")


def _candidates(con, name: str, source: SourceConfig, current_only: bool) -> None:
    """The candidate rows (see above) among the current rows or all rows, each with `_now`: whether a
    later row with its key supersedes it; left in CANDIDATES."""
    raw = raw_table(name)
    keys = ", ".join(quote_ident(k) for k in source.primary_key)
    scope = "NOT _superseded AND " if current_only else ""
    hashed = f"{HASH}({keys})"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CANDIDATES} AS "
        f"WITH repeated AS (SELECT h FROM (SELECT {hashed} AS h FROM {raw} WHERE {scope}true) "
        "  GROUP BY h HAVING count(*) > 1), "
        f"rows AS (SELECT rowid AS _rid, _file, _superseded AS _was, {keys} FROM {raw} "
        f"  WHERE {scope}{hashed} IN (SELECT h FROM repeated)) "
        f"SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY _file DESC, _rid DESC) > 1 AS _now FROM rows"
    )


def _apply_marks(con, name: str) -> None:
    """Mark every candidate that is superseded now and was not before."""
    raw = raw_table(name)
    con.execute(f"UPDATE {raw} SET _superseded = true FROM {CANDIDATES} c "
                f"WHERE {raw}.rowid = c._rid AND c._now AND NOT c._was")
