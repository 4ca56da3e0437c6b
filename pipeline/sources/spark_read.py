"""Read one export file with Spark, as the file has it (see `spark_ingest` for the contract and the rest).

The files are those of DuckDB's ingest: a source's globs expanded inside the
project (the same rule, see `paths`), or storage URIs Spark lists itself
(s3a://, abfss://, gs://, hdfs://, file://). Each file is read on its own, so
files whose columns come in another order are matched by name, never by
position.

CSV is read by Spark with every dialect option given (delimiter, quote, a
doubled quote as escape unless `escape:` says otherwise, the encoding),
strictly (a row with too many or too few fields stops the load), values as
text, a quoted value may span lines. What Spark's reader does not do is done
here the way Pulse's CSV reader does it: the delimiter, when not configured,
is the candidate (`,` `;` tab `|`) the header line holds most (a tie is an
error asking for `delimiter:`); the header is read with Python's csv module
(a BOM removed; duplicate names renamed as DuckDB's ingest does); rows that
repeat the header and rows whose every field is empty are flagged, dropped and
counted. Without a declared `encoding`, files are read as UTF-8 and a value
that is not valid UTF-8 is an error naming `options.encoding` (DuckDB's ingest
falls back to Windows-1252; Spark's reader would replace the bytes silently).
`skip_rows` and `on_bad_rows: quarantine` are refused on Spark with an error
naming the option. JSON (lines, or one array) is read with every value as
text. Excel is read on the driver with Polars (local files only), dates and
times passed on as text.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from pipeline.config import SourceConfig
from pipeline.core.errors import ConfigError, InputError
from pipeline.core.paths import OUTSIDE_HINT, display_path

from .csv_reader import csv_dialect
from .formats import detect_format
from .paths import expand, project_relative
from .spark_session import first_line, is_uri

CANDIDATES = (",", ";", "\t", "|")
HEAD_BYTES = 1 << 16
SPARK_HINT = "see docs/spark.md 'Messy exports on Spark'"
REFUSED_URI_FORMATS = ("xlsx",)


@dataclass(frozen=True)
class SparkExport:
    """An export file Spark reads: its name in Pulse (`_file`, messages), what Spark opens, what it is."""

    rel: str  # the path relative to the project, or the URI
    uri: str
    local: Path | None  # the file on this machine, when it is one
    size: int
    mtime_ns: int
    fmt: str


@dataclass(frozen=True)
class RawFile:
    """One file as read: its columns (text for CSV and JSON), `_file`, `_row` and, for CSV, the
    `_header` / `_blank` flags of rows to drop."""

    frame: object  # pyspark DataFrame
    columns: list[str]
    text_columns: frozenset[str]  # columns read as text (cast with the number style), others typed
    duplicates: tuple[str, ...] = ()  # header names present twice (lower case)
    delimiter: str | None = None
    flagged: bool = False  # the frame has _header and _blank
    files: tuple[SparkExport, ...] = ()  # the files read together into `frame`


@dataclass(frozen=True)
class CsvLayout:
    """What the head of a CSV file says: files with the same layout are read together."""

    names: tuple[str, ...]  # the header's names
    columns: tuple[str, ...]  # the names made unique
    duplicates: tuple[str, ...]
    delimiter: str


def refuse_unsupported(name: str, source: SourceConfig) -> None:
    """Options whose meaning Spark cannot keep are refused, naming the option (never a different parse)."""
    key = f"config/sources.yaml: sources.{name}"
    if source.on_bad_rows == "quarantine":
        raise ConfigError(f"{key}.on_bad_rows: quarantine is not available with engine: spark",
                          f"use on_bad_rows: fail (the default) and fix the exports; {SPARK_HINT}")
    if source.options.skip_rows:
        raise ConfigError(f"{key}.options.skip_rows: skipping lines before the header is not available with "
                          "engine: spark", f"export the files without the preamble; {SPARK_HINT}")


def list_exports(spark, root: Path, name: str, source: SourceConfig, allow_outside: bool) -> list[SparkExport]:
    """The source's files: local globs as DuckDB's ingest expands them, storage URIs as Spark lists them."""
    local = [p for p in source.paths if not is_uri(p)]
    found: list[SparkExport] = []
    if local:
        for path in expand(root, name, local, allow_outside):
            stat = path.stat()
            rel = project_relative(root, path)
            found.append(SparkExport(rel, path.resolve().as_uri(), path, stat.st_size, stat.st_mtime_ns,
                                     detect_format(path, source.format)))
    for pattern in (p for p in source.paths if is_uri(p)):
        if pattern.startswith("file:") and not allow_outside:
            raise ConfigError(f"config/sources.yaml: sources.{name}.paths: '{pattern}' is a file URI",
                              "write files in the project as paths relative to it; " + OUTSIDE_HINT)
        try:
            listed = (spark.read.format("binaryFile").load(pattern)
                      .select("path", "length", "modificationTime").collect())
        except Exception as exc:
            raise InputError(f"sources.{name}: cannot list {pattern}: {first_line(exc)}",
                             "check the URI and the cluster's access to the storage") from None
        if not listed:
            raise InputError(f"sources.{name}: no export files match {pattern}",
                             "check the URI in config/sources.yaml")
        for row in listed:
            fmt = detect_format(Path(PurePosixPath(row["path"]).name), source.format)
            if fmt in REFUSED_URI_FORMATS:
                raise InputError(f"{row['path']}: Excel files are read on the driver, so only from the project "
                                 "folder with engine: spark", "export the month as CSV or Parquet, or copy the "
                                 f"file into the project; {SPARK_HINT}")
            mtime = row["modificationTime"]
            found.append(SparkExport(row["path"], row["path"], None, int(row["length"]),
                                     int(mtime.timestamp() * 1e9) if mtime else 0, fmt))
    return sorted({e.rel: e for e in found}.values(), key=lambda e: e.rel)



def read_groups(spark, exports: list[SparkExport], source: SourceConfig) -> list[RawFile]:
    """The source's files as Spark reads them, in as few reads as keep their meaning: CSV files with the same
    header and delimiter together, JSON files together (columns by name), Parquet and Excel one by one.
    Empty files (no columns, no rows) are left out."""
    groups: dict[tuple, list[tuple[SparkExport, object]]] = {}
    for export in exports:
        if export.size == 0 and export.fmt in ("parquet", "xlsx"):
            raise InputError(f"{_shown(export)}: the {export.fmt} file is empty (0 bytes)",
                             "export it again; an empty export should still be a valid file")
        if export.size == 0:
            continue
        if export.fmt == "csv":
            layout = _guard(export, lambda e=export: _csv_layout(spark, e, source))
            if layout is not None:
                groups.setdefault(("csv", layout), []).append((export, layout))
        elif export.fmt == "json":
            multiline = _guard(export, lambda e=export: _json_layout(spark, e))
            if multiline is not None:
                groups.setdefault(("json", multiline), []).append((export, multiline))
        else:
            groups[(export.fmt, export.rel)] = [(export, None)]
    out = []
    for (fmt, _), members in groups.items():
        files = [e for e, _ in members]
        layout = members[0][1]
        found = _guard(files[0] if len(files) == 1 else None, lambda: _read(spark, fmt, files, layout, source))
        out.append(found)
    return out


def _guard(export: SparkExport | None, read):
    try:
        return read()
    except (InputError, ConfigError):
        raise
    except Exception as exc:
        where = _shown(export) if export is not None else "the exports"
        raise InputError(f"{where}: cannot read: {first_line(exc)}",
                         "check the reader options (delimiter, quote, encoding, header) of its source") from None


def _read(spark, fmt: str, files: list[SparkExport], layout, source: SourceConfig) -> RawFile:
    from pyspark.sql import functions as F

    if fmt == "csv":
        found = _read_csv(spark, files, layout, source)
    elif fmt == "json":
        found = _read_json(spark, files, layout)
    elif fmt == "parquet":
        frame = spark.read.parquet(files[0].uri)
        found = RawFile(frame, list(frame.columns), frozenset(
            f.name for f in frame.schema.fields if f.dataType.simpleString() == "string"))
    else:
        found = _read_excel(spark, files[0], source)
    frame = found.frame
    if len(files) == 1:
        frame = frame.withColumn("_file", F.lit(files[0].rel))
    else:  # the file each row came from, by the path Spark reports
        names = F.create_map(*[x for e in files for x in (F.lit(_spark_path(e)), F.lit(e.rel))])
        frame = frame.withColumn("_file", names[F.regexp_replace(F.col("_metadata.file_path"), "^file:/+", "/")])
    frame = frame.withColumn("_row", F.monotonically_increasing_id())  # file order within each file
    return RawFile(frame, found.columns, found.text_columns, found.duplicates, found.delimiter, found.flagged,
                   tuple(files))


def _spark_path(export: SparkExport) -> str:
    """The file's path as Spark's `_metadata.file_path` gives it (local files without `file:`)."""
    if export.local is not None:
        return quote(str(export.local.resolve()), safe="/:+@!$&'()*,;=~-._")
    return export.uri


def _shown(export: SparkExport) -> str:
    return display_path(export.local) if export.local is not None else export.rel


def _head(spark, export: SparkExport, encoding: str | None) -> str:
    """The first lines of a CSV file, decoded (UTF-8 unless declared; a BOM removed)."""
    if export.local is not None:
        with open(export.local, "rb") as handle:
            data = handle.read(HEAD_BYTES)
        codec = codecs.lookup(encoding).name if encoding else "utf-8"
        if codec == "utf-8":
            codec = "utf-8-sig"
        return data.decode(codec, errors="replace").removeprefix("\ufeff")
    rows = spark.read.text(export.uri).limit(50).collect()
    return "\n".join(r[0] for r in rows).removeprefix("\ufeff")


def sniff_delimiter(line: str, shown: str) -> str:
    """The delimiter of a header line: the candidate it holds most; a tie is an error."""
    counts = sorted(((line.count(c), c) for c in CANDIDATES), reverse=True)
    if counts[0][0] == 0:
        return ","
    if counts[0][0] == counts[1][0]:
        raise InputError(f"{shown}: cannot tell the delimiter from the header line: it holds "
                         f"{counts[0][0]} × {counts[0][1]!r} and {counts[1][0]} × {counts[1][1]!r}",
                         f"set options.delimiter on the source in config/sources.yaml; {SPARK_HINT}")
    return counts[0][1]


def _csv_layout(spark, export: SparkExport, source: SourceConfig) -> CsvLayout | None:
    """The file's delimiter and header from its first lines; None for a file of blank lines."""
    options = source.options
    text = _head(spark, export, options.encoding)
    lines = [line for line in text.split("\n") if line.strip("\r \t")]
    if not lines:
        return None
    delimiter = options.delimiter or sniff_delimiter(lines[0], _shown(export))
    quote_char = options.quote
    escape = options.escape if options.escape is not None else quote_char
    record = _first_record(lines, delimiter, quote_char, escape)
    if options.header:
        names = [(n.strip() or f"column{i}") for i, n in enumerate(record)]
    else:
        names = [f"column{i}" for i in range(len(record))]
    lowered = [n.lower() for n in names]
    duplicates = tuple(sorted({n for n in lowered if lowered.count(n) > 1}))
    columns: list[str] = []
    for column in names:
        unique, counter = column, 1
        while unique.lower() in (c.lower() for c in columns):
            counter += 1
            unique = f"{column}_{counter}"
        columns.append(unique)
    return CsvLayout(tuple(names), tuple(columns), duplicates, delimiter)


def _read_csv(spark, files: list[SparkExport], layout: CsvLayout, source: SourceConfig) -> RawFile:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    options = source.options
    quote_char = options.quote
    escape = options.escape if options.escape is not None else quote_char
    columns = list(layout.columns)
    schema = StructType([StructField(f"_c{i}", StringType()) for i in range(len(columns))])
    reader = spark.read.schema(schema).options(
        header="true" if options.header else "false", enforceSchema="true", sep=layout.delimiter,
        quote=quote_char or "\u0000", escape=escape or "\u0000", encoding=java_charset(options.encoding),
        mode="FAILFAST", multiLine="true", ignoreLeadingWhiteSpace="false", ignoreTrailingWhiteSpace="false",
        comment="\u0000", nullValue="", emptyValue="",
    )
    frame = reader.csv([e.uri for e in files])
    frame = frame.select(*[F.col(f"_c{i}").alias(c) for i, c in enumerate(columns)], "_metadata")
    header = [F.lower(F.trim(F.regexp_replace(F.coalesce(F.col(f"`{c}`"), F.lit("")), "\ufeff", ""))) == n.lower()
              for c, n in zip(columns, layout.names)]
    blank = [F.trim(F.coalesce(F.col(f"`{c}`"), F.lit(""))) == "" for c in columns]
    frame = frame.withColumn("_header", _all(header) if options.header else F.lit(False)).withColumn(
        "_blank", _all(blank))
    return RawFile(frame, columns, frozenset(columns), layout.duplicates, layout.delimiter, flagged=True)


def java_charset(encoding: str | None) -> str:
    """A Python codec name as Java knows the charset (Java also takes most Python aliases, e.g. cp1252)."""
    if not encoding:
        return "UTF-8"
    name = codecs.lookup(encoding).name
    return {"utf-8": "UTF-8", "latin-1": "ISO-8859-1", "iso8859-1": "ISO-8859-1", "utf-16": "UTF-16",
            "utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE", "mac-roman": "x-MacRoman"}.get(
        name, name.replace("iso8859-", "ISO-8859-"))


def _all(conditions):
    out = conditions[0]
    for condition in conditions[1:]:
        out = out & condition
    return out


def _first_record(lines: list[str], delimiter: str, quote: str, escape: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO("\n".join(line.removesuffix("\r") for line in lines[:50]) + "\n"),
                               **csv_dialect(delimiter, quote, escape)))
    except (StopIteration, csv.Error):
        return [lines[0]]


def _json_layout(spark, export: SparkExport) -> bool | None:
    """Whether the file is one JSON array (else JSON lines); None for a file of blanks."""
    if export.local is not None:
        with open(export.local, "rb") as handle:
            head = handle.read(HEAD_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
    else:
        first = spark.read.text(export.uri).limit(1).collect()
        head = first[0][0].lstrip().encode() if first else b""
    return head.startswith(b"[") if head else None


def _read_json(spark, files: list[SparkExport], multiline: bool) -> RawFile:
    frame = spark.read.options(primitivesAsString="true", mode="FAILFAST",
                               multiLine="true" if multiline else "false").json([e.uri for e in files])
    columns = [c for c in frame.columns if c != "_corrupt_record"]
    text = frozenset(f.name for f in frame.schema.fields if f.dataType.simpleString() == "string")
    return RawFile(frame.select(*[f"`{c}`" for c in columns], "_metadata"), columns, text)


def _read_excel(spark, export: SparkExport, source: SourceConfig) -> RawFile:
    """An .xlsx file read on the driver with Polars (as DuckDB's ingest reads it), handed to Spark."""
    import polars as pl

    options = source.options
    try:
        frame = pl.read_excel(export.local, sheet_name=options.sheet) if options.sheet else pl.read_excel(
            export.local)
    except Exception as exc:  # fastexcel raises its own error types
        raise InputError(f"{_shown(export)}: cannot read this Excel file: {str(exc).splitlines()[0]}",
                         "check that it is an .xlsx workbook and that 'sheet:' names an existing sheet") from None
    temporal = [c for c, t in frame.schema.items() if t.is_temporal()]
    frame = frame.with_columns([pl.col(c).cast(pl.String) for c in temporal])  # read by the contract's rules
    spark_frame = spark.createDataFrame(frame.to_arrow())
    text = frozenset(c for c, t in frame.schema.items() if t == pl.String)
    return RawFile(spark_frame, list(frame.columns), text)
