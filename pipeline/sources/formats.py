"""Read one export file into a DuckDB staging table, as the file has it.

CSV (see `csv_reader`), Parquet and JSON are read by DuckDB; Excel (.xlsx)
through Polars (DuckDB's excel extension cannot be installed here). The staging
table holds the file's own columns, untyped for CSV (all text), plus `_row`,
the 1-based record number, and `_line`, where a user finds the record: the
file's line for CSV, the sheet's row for Excel, the record number otherwise.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.config.sources import ReaderOptions
from pipeline.core.database import first_line
from pipeline.core.errors import InputError
from pipeline.core.paths import display_path

from .csv_reader import STAGE_TABLE, Staged, drop_stage, stage_csv

__all__ = ["STAGE_TABLE", "Staged", "detect_format", "drop_stage", "stage_file"]

FORMATS_BY_SUFFIX = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".xlsx": "xlsx",
}


def detect_format(path: Path, declared: str) -> str:
    """The file's format: declared in config, else from its extension."""
    if declared != "auto":
        return declared
    fmt = FORMATS_BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{display_path(path)}: cannot tell the file format from '{path.suffix}'",
            "set 'format:' (csv, parquet, json, xlsx) on the source in config/sources.yaml",
        )
    return fmt


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, options: ReaderOptions,
               tmp_dir: Path, quarantine: bool = False, data: bytes | None = None) -> Staged:
    """Load `path` into the staging table; say what was found (columns, rejects, ...).

    `data`: the file's bytes when the caller has read them already (CSV is parsed from them).
    """
    if fmt in ("parquet", "xlsx") and path.stat().st_size == 0:
        raise InputError(f"{display_path(path)}: the {fmt} file is empty (0 bytes)",
                         "export it again; an empty export should still be a valid file")
    drop_stage(con)
    try:
        if fmt == "csv":
            return stage_csv(con, path, options, tmp_dir, quarantine, data)
        if fmt == "parquet":
            names = {r[0].lower() for r in con.execute("SELECT name FROM parquet_schema($path)",
                                                      {"path": str(path)}).fetchall()}
            # the record number straight from the reader (no ordered window over the file)
            numbered = ("* EXCLUDE (file_row_number), file_row_number + 1 AS _row, file_row_number + 1 AS _line "
                        "FROM read_parquet($path, file_row_number = true)") if "file_row_number" not in names else (
                        "*, row_number() OVER () AS _row, row_number() OVER () AS _line FROM read_parquet($path)")
            con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE_TABLE} AS SELECT {numbered}", {"path": str(path)})
        elif fmt == "json":
            if not path.read_bytes().strip():
                return Staged([], empty=True)
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {STAGE_TABLE} AS SELECT *, row_number() OVER () AS _row, "
                "row_number() OVER () AS _line FROM read_json($path, format='auto')",
                {"path": str(path)},
            )
        elif fmt == "xlsx":
            _stage_excel(con, path, options)
        else:  # pragma: no cover - the config model restricts formats
            raise InputError(f"{display_path(path)}: unsupported format '{fmt}'")
    except duckdb.Error as exc:
        raise InputError(
            f"{display_path(path)}: cannot read this {fmt} file: {first_line(exc)}",
            "check the reader options (delimiter, encoding, header, skip_rows) of its source",
        ) from None
    described = con.execute(f"DESCRIBE {STAGE_TABLE}").fetchall()
    return Staged([row[0] for row in described if row[0] not in ("_row", "_line")])


def _stage_excel(con: duckdb.DuckDBPyConnection, path: Path, options: ReaderOptions) -> None:
    import polars as pl  # Polars reads Excel (fastexcel); imported only for .xlsx files

    try:
        frame = pl.read_excel(path, sheet_name=options.sheet) if options.sheet else pl.read_excel(path)
    except Exception as exc:  # fastexcel raises its own error types
        raise InputError(
            f"{display_path(path)}: cannot read this Excel file: {str(exc).splitlines()[0]}",
            "check that it is an .xlsx workbook and that 'sheet:' names an existing sheet",
        ) from None
    frame = frame.with_row_index("_row", offset=1)
    frame = frame.with_columns((pl.col("_row") + 1).alias("_line"))  # the sheet's row: the header is row 1
    arrow_table = frame.to_arrow()
    con.register("_pulse_excel_frame", arrow_table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE_TABLE} AS SELECT * FROM _pulse_excel_frame")
    finally:
        con.unregister("_pulse_excel_frame")
