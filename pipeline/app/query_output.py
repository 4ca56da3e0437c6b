"""How `pulse query` writes a result: a terminal table, CSV, JSON, Parquet or Excel.

- Floats: the table shows up to `TABLE_DIGITS` significant digits; CSV and JSON
  keep `FILE_DIGITS` (12, the precision Pulse keeps for every KPI figure, see
  `kpis.queries.steady`), which drops the noise of floating-point sums
  (536323.2825000001 -> 536323.2825, 6131372.60000016 -> 6131372.6). Integers and
  DECIMAL values are exact. Parquet and Excel keep the stored doubles. JSON has
  no NaN or infinity: they are written as null.
- The company-wide row of a KPI query (every dimension column NULL) is labelled
  `COMPANY_WIDE` in the table only; CSV, JSON, Parquet and Excel keep NULL there,
  which is what the query returned.
- Spreadsheet formulas: a text cell (or column name) of a CSV starting with
  = + - @, a tab or a carriage return gets a leading single quote, so a
  spreadsheet opening the file shows the text instead of running it as a
  formula (OWASP "CSV injection"). In Excel files every text cell is a text
  cell with Excel's quote prefix (the same single quote, kept out of the value).
- The table shows the data as text: brackets are not markup, and control characters
  (escape sequences, carriage returns) are written as escapes (`\\x1b`, `\\r`).
- Files (`-o FILE`) are written atomically (a temporary file, then renamed),
  with the permissions a new file gets from the user's umask (or those of the
  file replaced), and "written to FILE (N rows)" goes to stderr.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import tempfile
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from pipeline.core.errors import UsageError

BINARY_FORMATS = {"parquet", "xlsx"}
TABLE_DIGITS = 10
FILE_DIGITS = 12
COMPANY_WIDE = "(all)"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def float_text(value: float, digits: int) -> str:
    """A float to `digits` significant digits, without trailing zeros or an exponent for everyday sizes."""
    if not math.isfinite(value):
        return str(value)
    rounded = float(f"{value:.{digits}g}")
    text = repr(rounded)
    if "e" in text and (rounded == 0 or 1e-6 <= abs(rounded) < 1e16):
        text = format(Decimal(text), "f")
    return text


def _file_float(value: float) -> float:
    return float(f"{value:.{FILE_DIGITS}g}")


def _text(value: object, digits: int = FILE_DIGITS) -> str:
    """A value as text in a table or CSV cell: dates in ISO 8601, NULL as empty."""
    if value is None:
        return ""
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    if isinstance(value, float):
        return float_text(value, digits)
    return str(value)


def visible(text: str) -> str:
    """Text for the terminal: control characters (an escape sequence, a carriage return) written as
    escapes such as \\x1b, so data cannot move the cursor or recolour the terminal; tabs and newlines stay."""
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch) != "Cc" else
                   ("\\r" if ch == "\r" else f"\\x{ord(ch):02x}") for ch in text)


def safe_cell(text: str) -> str:
    """Text a spreadsheet would run as a formula, with a leading single quote (OWASP)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _json_value(value: object) -> object:
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return _file_float(value) if math.isfinite(value) else None
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if value is None or isinstance(value, (bool, int, str, list, dict)):
        return value
    return str(value)


def table_text(columns: list[str], rows: list[tuple], dimensions: list[int] | None = None) -> str:
    """A terminal table; with `dimensions` (a KPI query's dimension columns), rows where all of them are
    NULL (the company-wide figure) show COMPANY_WIDE there."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False)
    for index, name in enumerate(columns):
        numeric = any(isinstance(r[index], (int, float, Decimal)) and not isinstance(r[index], bool) for r in rows)
        table.add_column(Text(visible(name)), justify="right" if numeric else "left")
    for row in rows:
        cells = [visible(_text(v, TABLE_DIGITS)) for v in row]
        if dimensions and all(row[i] is None for i in dimensions):
            for i in dimensions:
                cells[i] = COMPANY_WIDE
        table.add_row(*(Text(cell) for cell in cells))  # Text: brackets in the data are not rich markup
    buffer = io.StringIO()
    Console(file=buffer, width=max(80, min(240, 12 * max(1, len(columns)) + 20)), force_terminal=False).print(table)
    buffer.write(f"{len(rows)} row{'s' if len(rows) != 1 else ''}\n")
    return buffer.getvalue()


def text_format(columns: list[str], rows: list[tuple], fmt: str, dimensions: list[int] | None = None) -> str:
    """The result as a table, CSV or JSON (a list of objects)."""
    if fmt == "table":
        return table_text(columns, rows, dimensions)
    if fmt == "csv":
        buffer = io.StringIO()
        plain = csv.writer(buffer, lineterminator="\n")
        quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)  # csv leaves a lone \r unquoted
        for cells in [[safe_cell(c) for c in columns],
                      *([safe_cell(v) if isinstance(v, str) else _text(v) for v in row] for row in rows)]:
            (quoted if any("\r" in cell for cell in cells) else plain).writerow(cells)
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps([{c: _json_value(v) for c, v in zip(columns, row)} for row in rows],
                          ensure_ascii=False, allow_nan=False) + "\n"
    raise UsageError(f"unknown format '{fmt}'", "use table, csv, json, parquet or xlsx")


def write_result(columns: list[str], rows: list[tuple], fmt: str, output: Path | None,
                 dimensions: list[int] | None = None) -> None:
    """Write the result in `fmt` to `output` (atomically, then a line on stderr) or to stdout."""
    if output is None:
        sys.stdout.write(text_format(columns, rows, fmt, dimensions))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if fmt in BINARY_FORMATS:
            _write_binary(columns, rows, fmt, temp_name)
        else:
            Path(temp_name).write_text(text_format(columns, rows, fmt, dimensions), encoding="utf-8")
        os.chmod(temp_name, _file_mode(output))
        os.replace(temp_name, output)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    sys.stderr.write(f"written to {output} ({len(rows)} row{'s' if len(rows) != 1 else ''})\n")


def _write_binary(columns: list[str], rows: list[tuple], fmt: str, path: str) -> None:
    import polars as pl  # Parquet and Excel files are written by Polars

    frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    if fmt == "parquet":
        frame.write_parquet(path)
        return
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    frame.write_excel(path, worksheet="result", header_format={"bold": True, "quote_prefix": True},
                      column_formats={name: {"quote_prefix": True} for name in text_columns})


def _file_mode(output: Path) -> int:
    """The permissions of the file replaced, or what the user's umask gives a new file."""
    try:
        return output.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
