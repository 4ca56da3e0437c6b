"""Ingest on Spark: each source's exports read, cast to the column contract and de-duplicated, as a view.

The rules are DuckDB ingest's (see `ingest`, `casting`, `dedupe`), applied by
Spark to every file of a source on each run (Spark keeps no database between
runs; the cluster reads the exports where they are):

- columns are matched to the contract by name, any case; a required one
  missing is an error naming the file;
- numbers: the decimal separator is `options.decimal`, or detected per file
  from the values that can be read only one way (a file showing both styles,
  or only values like `1.234`, is an error asking to declare `decimal`);
  thousands separators count only in groups of three; integers must be whole;
- dates and timestamps are ISO 8601 unless a format is declared (the strftime
  pattern is translated to Spark's; a directive without an equivalent is an
  error naming the option); timestamps with an offset are converted to the
  project's zone, naive ones are taken as already in it (the session's zone);
- a value that does not cast stops the load, naming the file, column and value
  (Spark gives no line numbers);
- one row per primary key: the row from the file whose path sorts last, and
  within a file the later row, wins (`row_number()` over the key); keys
  repeated within one file are counted for the `primary_key` check.

The result of each source is persisted (memory, then disk) and registered as a
temporary view under the source's name, so KPI queries read it as they read
DuckDB's view. What was read is reported as an `IngestReport`: every file is
"loaded" (read this run), with its sha256 when it is a local file, or its size
and modification time for a storage URI.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from pipeline.config import ColumnSpec, ColumnType, ProjectConfig, SourceConfig, did_you_mean
from pipeline.core.engine import FileLoad, IngestReport, Progress, SourceRange, SourceSummary
from pipeline.core.errors import ConfigError, InputError

from .casting import (
    AMBIGUOUS,
    COMMA_FRACTION,
    COMMA_GROUPS,
    DOT_FRACTION,
    DOT_GROUPS,
    NumberStyle,
    declared_style,
    delimiter_decimal,
    detected_style,
    hint,
)
from .csv_text import ENCODING_HINT, shown
from .spark_read import SPARK_HINT, RawFile, SparkExport, list_exports, read_groups, refuse_unsupported
from .spark_session import first_line

SPARK_TYPES = {
    ColumnType.TEXT: "string",
    ColumnType.INTEGER: "bigint",
    ColumnType.NUMBER: "double",
    ColumnType.DATE: "date",
    ColumnType.TIMESTAMP: "timestamp",
    ColumnType.BOOLEAN: "boolean",
}
STRFTIME = {"Y": "yyyy", "y": "yy", "m": "M", "d": "d", "H": "H", "I": "h", "M": "m", "S": "s", "f": "SSSSSS",
            "p": "a", "b": "MMM", "B": "MMMM", "a": "E", "A": "EEEE", "j": "D", "z": "xx", "Z": "z", "%": "%"}


@dataclass(frozen=True)
class SparkSource:
    """A source as Spark holds it: its files, their keys repeated within one file, its row count."""

    name: str
    files: tuple[FileLoad, ...]
    duplicate_keys: dict[str, int]  # file -> primary-key values repeated within it
    rows: int
    fingerprint: str
    frame: object = None  # the persisted rows (pyspark DataFrame), released when the engine closes


def spark_pattern(strftime: str, key: str) -> str:
    """A strftime pattern as a Spark datetime pattern; a directive without an equivalent is an error."""
    out, literal = [], []
    index = 0
    while index < len(strftime):
        char = strftime[index]
        if char == "%" and index + 1 < len(strftime):
            directive = strftime[index + 1]
            if directive not in STRFTIME:
                raise ConfigError(f"config/sources.yaml: {key}: '%{directive}' has no Spark equivalent",
                                  f"use %Y %m %d %H %M %S %f %z and literal text; {SPARK_HINT}")
            if literal:
                out.append("'" + "".join(literal).replace("'", "''") + "'")
                literal = []
            out.append(STRFTIME[directive])
            index += 2
            continue
        literal.append(char)
        index += 1
    if literal:
        out.append("'" + "".join(literal).replace("'", "''") + "'")
    return "".join(out)


def load_sources(spark, config: ProjectConfig, progress: Progress) -> tuple[IngestReport, dict[str, SparkSource]]:
    """Read every source with Spark and register it as a view; what was read, per file and source."""
    files: list[FileLoad] = []
    summaries: list[SourceSummary] = []
    held: dict[str, SparkSource] = {}
    for name, source in config.sources.items():
        refuse_unsupported(name, source)
        exports = list_exports(spark, config.root, name, source, config.project.allow_outside_paths)
        progress(f"reading {len(exports)} files of {name} with Spark")
        found = _load_source(spark, name, source, exports)
        held[name] = found
        files.extend(found.files)
        summaries.append(SourceSummary(name, found.rows, found.fingerprint, path="spark",
                                       coverage=source_range(name, source, found.frame)))
    return IngestReport(tuple(files), tuple(summaries)), held


def _digest(export: SparkExport) -> str:
    if export.local is None:
        return f"size={export.size};mtime_ns={export.mtime_ns}"
    sha = hashlib.sha256()
    with open(export.local, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _load_source(spark, name: str, source: SourceConfig, exports: list[SparkExport]) -> SparkSource:
    """Every file cast and checked together (one pass for the checks, one for the winners per key)."""
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    groups = read_groups(spark, exports, source)
    for raw in groups:
        _match_columns(raw.files[0], name, source, raw)
    styles = _number_styles(spark, name, source, groups)
    frames = [_cast(raw, source, _match_columns(raw.files[0], name, source, raw), styles, name) for raw in groups]
    columns = list(source.columns)
    keys = list(source.primary_key)
    duplicate: dict[str, int] = {}
    stats: dict[str, tuple[int, int, int]] = {}
    staged = None
    if frames:
        staged = frames[0]
        for frame in frames[1:]:
            staged = staged.unionByName(frame)
        staged = staged.persist(StorageLevel.MEMORY_AND_DISK)  # the files are parsed once
        stats = _check_files(spark, staged, name, source, groups, styles)
        kept = staged.where(~F.col("_drop")).select(*[F.col(f"`{c}`") for c in columns], "_file", "_row")
        if keys:
            key_cols = [F.col(f"`{k}`") for k in keys]
            repeated = kept.groupBy("_file", *key_cols).count().where("count > 1").groupBy("_file").count()
            duplicate = {row["_file"]: int(row["count"]) for row in repeated.collect()}
            newest = Window.partitionBy(*key_cols).orderBy(F.col("_file").desc(), F.col("_row").desc())
            kept = kept.withColumn("_rank", F.row_number().over(newest)).where("_rank = 1")
        current = kept.select(*[F.col(f"`{c}`") for c in columns])
    else:
        current = spark.createDataFrame([], ", ".join(f"`{c}` {SPARK_TYPES[s.type]}" for c, s in
                                                      source.columns.items()))
    current = current.persist(StorageLevel.MEMORY_AND_DISK)
    rows = _action(lambda: current.count(), spark, name, source, groups)
    if staged is not None:
        staged.unpersist()
    current.createOrReplaceTempView(name)
    loads, hashes = [], []
    for export in exports:
        digest = _digest(export)
        count, headers, blanks = stats.get(export.rel, (0, 0, 0))
        loads.append(FileLoad(name, export.rel, "loaded", count, digest, 0, headers, blanks))
        hashes.append([export.rel, digest])
    fingerprint = hashlib.sha256(json.dumps(hashes).encode()).hexdigest()
    return SparkSource(name, tuple(loads), duplicate, rows, fingerprint, current)


def _action(run, spark, name: str, source: SourceConfig, groups: list[RawFile]):
    """Run a Spark action over a source; a file Spark cannot parse is named in the error."""
    try:
        return run()
    except (InputError, ConfigError):
        raise
    except Exception as exc:
        message = first_line(exc)
        for raw in groups:  # find the file: read each alone
            for export in raw.files:
                try:
                    for alone in read_groups(spark, [export], source):
                        alone.frame.count()
                except InputError:
                    raise
                except Exception as inner:
                    raise InputError(f"{export.rel}: cannot read this {export.fmt} file: {first_line(inner)}",
                                     "a row has more or fewer fields than the header, or a quote is not closed; "
                                     "fix the file or the reader options (delimiter, quote, escape)") from None
        raise InputError(f"sources.{name}: Spark could not read the exports: {message}",
                         "check the reader options and the files") from None


def _match_columns(export: SparkExport, name: str, source: SourceConfig, raw: RawFile) -> dict[str, str]:
    by_lower = {c.lower(): c for c in reversed(raw.columns)}
    matched: dict[str, str] = {}
    for column, spec in source.columns.items():
        in_file = by_lower.get(column.lower())
        if in_file is not None and column.lower() in raw.duplicates:
            raise InputError(f"{export.rel}: column '{column}' of source '{name}' appears more than once in the "
                             "header", "remove or rename the duplicate column in the export")
        if in_file is None and spec.required:
            hint_text = f"the file has {', '.join(raw.columns)}"
            suggestion = did_you_mean(column, raw.columns)
            if suggestion.startswith("did you mean"):
                hint_text += f"; {suggestion}"
            if raw.delimiter and len(raw.columns) == 1:
                hint_text += f"; read with delimiter {raw.delimiter!r}: set options.delimiter if that is wrong"
            raise InputError(f"{export.rel}: required column '{column}' of source '{name}' is missing", hint_text)
        if in_file is not None:
            matched[column] = in_file
    return matched


def _number_text_columns(source: SourceConfig, raw: RawFile) -> list[str]:
    by_lower = {c.lower(): c for c in reversed(raw.columns)}
    return [by_lower[c.lower()] for c, s in source.columns.items()
            if s.type in (ColumnType.INTEGER, ColumnType.NUMBER) and by_lower.get(c.lower()) in raw.text_columns]


def _full(column, pattern: str):
    return column.rlike(f"^(?:{pattern})\\z")


def _number_styles(spark, name: str, source: SourceConfig, groups: list[RawFile]) -> dict[str, NumberStyle]:
    """Each file's number style: declared, fixed for JSON (numbers as JSON writes them), or detected
    from its values in one pass over the source's files."""
    from pyspark.sql import functions as F

    options = source.options
    styles: dict[str, NumberStyle] = {}
    detect = []
    for raw in groups:
        columns = _number_text_columns(source, raw)
        declared = declared_style(options, columns)
        if raw.files[0].fmt == "json" and declared is None:
            declared = NumberStyle(".", ())
        if declared is not None:
            styles.update({e.rel: declared for e in raw.files})
        else:
            detect.append((raw, columns))
    if not detect:
        return styles
    plain = options.thousands == "none"
    found = None
    for raw, columns in detect:
        values = raw.frame.where(~F.col("_header") & ~F.col("_blank")) if raw.flagged else raw.frame
        cells = F.explode(F.array(*[F.struct(F.lit(c).alias("c"), F.trim(F.col(f"`{c}`")).alias("t"))
                                    for c in columns]))
        exploded = values.select(F.col("_file").alias("f"), cells.alias("v")).where(
            F.col("v.t").isNotNull() & (F.col("v.t") != ""))
        t = F.col("v.t")
        dots = F.length(t) - F.length(F.regexp_replace(t, r"\.", ""))
        commas = F.length(t) - F.length(F.regexp_replace(t, ",", ""))
        comma = ((_full(t, COMMA_FRACTION) & ~_full(t, COMMA_GROUPS)) | (_full(t, DOT_GROUPS) & (dots > 1))
                 | (F.lit(plain) & _full(t, r"[+-]?\d*,\d+")))
        dot = ((_full(t, DOT_FRACTION) & ~_full(t, DOT_GROUPS)) | (_full(t, COMMA_GROUPS) & (commas > 1))
               | _full(t, r"[+-]?\d+[eE][+-]?\d+") | (F.lit(plain) & _full(t, r"[+-]?\d*\.\d+")))
        example = F.struct(F.col("v.c"), t)
        part = exploded.groupBy("f").agg(F.min(F.when(comma, example)).alias("comma"),
                                         F.min(F.when(dot, example)).alias("dot"),
                                         F.min(F.when(_full(t, AMBIGUOUS), example)).alias("amb"))
        found = part if found is None else found.unionByName(part)
    results = {row["f"]: row for row in _action(lambda: found.collect(), spark, name, source, [r for r, _ in detect])}
    hint_text = "set options.decimal (',' or '.') on the source in config/sources.yaml"
    for raw, _ in detect:
        for export in raw.files:
            row = results.get(export.rel)
            comma, dot, amb = (row["comma"], row["dot"], row["amb"]) if row else (None, None, None)
            if comma and dot:
                raise InputError(f"{export.rel}: column '{dot[0]}' of source '{name}': '{shown(dot[1])}' has a "
                                 f"decimal point, but '{shown(comma[1])}' (column '{comma[0]}') a decimal comma",
                                 hint_text + "; values in the other style are then errors")
            if comma or dot:
                decimal = "," if comma else "."
            elif amb:
                example = shown(amb[1])
                raise InputError(f"{export.rel}: column '{amb[0]}' of source '{name}': cannot tell whether "
                                 f"'{example}' is {example.replace('.', '').replace(',', '')} or "
                                 f"{example.replace(',', '.')}: no value in the file shows its decimal separator",
                                 hint_text)
            else:
                decimal = delimiter_decimal(raw.delimiter)
            styles[export.rel] = detected_style(options, decimal)
    return styles


def _cast(raw: RawFile, source: SourceConfig, matched: dict[str, str], styles: dict[str, NumberStyle], name: str):
    """The file's rows cast to the contract, with `_file`, `_row`, the flags `_header`, `_blank` and `_drop`,
    `_undecodable` (a row Spark decoded with replacement characters) and, per typed contract column,
    `_raw_<column>`: its text, to tell a value that did not cast from a missing one. The columns are the
    same for every file of the source, so the files are checked in one pass."""
    from pyspark.sql import functions as F

    types = {f.name: f.dataType.simpleString() for f in raw.frame.schema.fields}
    selects, texts = [], []
    for column, spec in source.columns.items():
        in_file = matched.get(column)
        if in_file is None:
            selects.append(F.lit(None).cast(SPARK_TYPES[spec.type]).alias(column))
            if spec.type is not ColumnType.TEXT:
                texts.append(F.lit(None).cast("string").alias(f"_raw_{column}"))
            continue
        expr, text = None, None
        by_style: dict[NumberStyle | None, list[str]] = {}
        for export in raw.files:
            by_style.setdefault(styles.get(export.rel), []).append(export.rel)
        for style, rels in by_style.items():  # one style per file; usually one for all
            one, text = _cast_column(F.col(f"`{in_file}`"), in_file in raw.text_columns, types[in_file], spec,
                                     source, style, f"sources.{name}.options")
            expr = one if expr is None else F.when(F.col("_file").isin(rels), one).otherwise(expr)
        selects.append(expr.alias(column))
        if spec.type is not ColumnType.TEXT:
            texts.append(text.alias(f"_raw_{column}"))
    header = F.col("_header") if raw.flagged else F.lit(False)
    blank = F.col("_blank") if raw.flagged else F.lit(False)
    as_text = [F.col(f"`{c}`") for c in raw.columns if c in raw.text_columns]
    if raw.delimiter is not None and as_text:  # CSV: Spark replaces bytes its charset cannot decode
        joined = F.concat_ws(" | ", *as_text)
        undecodable = F.when(joined.contains("\ufffd"), joined)
    else:
        undecodable = F.lit(None).cast("string")
    return raw.frame.select(*selects, "_file", "_row", header.alias("_header"), blank.alias("_blank"),
                            (header | blank).alias("_drop"), undecodable.alias("_undecodable"), *texts)


def _cast_column(col, is_text: bool, file_type: str, spec: ColumnSpec, source: SourceConfig,
                 style: NumberStyle | None, key: str):
    from pyspark.sql import functions as F

    text = F.nullif(F.trim(col.cast("string")), F.lit(""))
    kind = spec.type
    if kind is ColumnType.TEXT:
        return F.nullif(col.cast("string"), F.lit("")), text
    if kind in (ColumnType.INTEGER, ColumnType.NUMBER):
        if is_text:
            patterns = (style or NumberStyle(".", ())).params()  # Java reads these RE2 patterns alike
            normal = F.replace(F.regexp_replace(text, patterns["num_strip"], ""), F.lit(patterns["num_dec"]),
                               F.lit("."))
            if kind is ColumnType.INTEGER:
                value = normal.try_cast("decimal(38,9)").try_cast("bigint")
                return F.when(_full(text, patterns["int_ok"]), value), text
            return F.when(_full(text, patterns["num_ok"]), normal.try_cast("double")), text
        if kind is ColumnType.INTEGER and (file_type in ("float", "double") or file_type.startswith("decimal")):
            return F.when(col == F.floor(col), col.try_cast("bigint")), text
        return col.try_cast(SPARK_TYPES[kind]), text
    if kind is ColumnType.BOOLEAN:
        return text.try_cast("boolean"), text
    if kind is ColumnType.DATE:
        if file_type == "date":
            return col, text
        if source.options.date_format and is_text:
            pattern = spark_pattern(source.options.date_format, f"{key}.date_format")
            return F.to_date(F.try_to_timestamp(text, F.lit(pattern))), text
        return text.try_cast("date") if is_text else col.try_cast("date"), text
    if file_type == "timestamp_ntz":  # a wall-clock time without a zone (Parquet, JSON)
        return second_occurrence(col.cast("timestamp")), text
    if file_type.startswith("timestamp") or file_type == "date":
        return col.cast("timestamp"), text
    if source.options.timestamp_format and is_text:
        pattern = spark_pattern(source.options.timestamp_format, f"{key}.timestamp_format")
        parsed = F.try_to_timestamp(text, F.lit(pattern))
    else:
        parsed = text.try_cast("timestamp")
    return F.when(text.rlike(WITH_OFFSET), parsed).otherwise(second_occurrence(parsed)), text


WITH_OFFSET = r"(?i)(z|utc|[+-]\d\d(:?\d\d)?)$"  # text naming its instant: read as written
LOCAL_TEXT = "yyyy-MM-dd HH:mm:ss.SSSSSS"


def second_occurrence(stamp):
    """A local time without an offset that the clock shows twice (the hour repeated when summer time ends) as
    its second occurrence, in winter time, as DuckDB reads it; Spark's parse takes the first."""
    from pyspark.sql import functions as F

    later = stamp + F.expr("INTERVAL 1 HOUR")
    return F.when(F.date_format(later, LOCAL_TEXT) == F.date_format(stamp, LOCAL_TEXT), later).otherwise(stamp)


def _check_files(spark, staged, name: str, source: SourceConfig, groups: list[RawFile],
                 styles: dict[str, NumberStyle]) -> dict[str, tuple[int, int, int]]:
    """Per file: rows kept, header rows and blank rows dropped. A value that does not cast (or text that
    is not UTF-8) stops the load naming the file, column and value; files are looked at in path order."""
    from pyspark.sql import functions as F

    keep = ~F.col("_drop")
    typed = [c for c, spec in source.columns.items() if spec.type is not ColumnType.TEXT]
    parts = [F.count(F.when(keep, 1)).alias("rows"), F.count(F.when(F.col("_header"), 1)).alias("headers"),
             F.count(F.when(F.col("_blank") & ~F.col("_header"), 1)).alias("blanks"),
             F.min(F.when(keep, F.col("_undecodable"))).alias("undecodable")]
    for i, column in enumerate(typed):
        raw_text = F.col(f"`_raw_{column}`")
        parts.append(F.min(F.when(keep & raw_text.isNotNull() & F.col(f"`{column}`").isNull(), raw_text))
                     .alias(f"bad{i}"))
    required = [c for c, spec in source.columns.items() if spec.required]
    parts += [F.count(F.when(keep, F.col(f"`{c}`"))).alias(f"present{i}") for i, c in enumerate(required)]
    found = {row["_file"]: row for row in _action(lambda: staged.groupBy("_file").agg(*parts).collect(), spark,
                                                   name, source, groups)}
    if None in found:
        raise InputError(f"sources.{name}: Spark reported rows from a file Pulse did not list",
                         "rename the exports to plain names (letters, digits, - _ .)")
    stats: dict[str, tuple[int, int, int]] = {}
    for export in [e for raw in groups for e in raw.files]:
        row = found.get(export.rel)
        if row is None:
            continue
        if row["undecodable"] is not None:
            declared = source.options.encoding
            if declared:
                raise InputError(f"{export.rel}: bytes that are not valid {declared} (the source declares "
                                 f"encoding: {declared}), e.g. in a row '{shown(row['undecodable'])}'",
                                 "fix options.encoding on the source in config/sources.yaml")
            raise InputError(f"{export.rel}: the file is not UTF-8 (e.g. a row '{shown(row['undecodable'])}')",
                             f"{ENCODING_HINT}; with engine: spark an encoding other than UTF-8 must be declared")
        for i, column in enumerate(typed):
            value = row[f"bad{i}"]
            if value is not None:
                spec = source.columns[column]
                raise InputError(f"{export.rel}: column '{column}' of source '{name}': '{shown(value)}' is not a "
                                 f"valid {spec.type.value}", hint(spec, source, str(value), styles.get(export.rel)))
        if export.fmt == "json" and row["rows"]:  # JSON files are read together: a key no record has is missing
            for i, column in enumerate(required):
                if not row[f"present{i}"]:
                    raise InputError(f"{export.rel}: required column '{column}' of source '{name}' is missing "
                                     "(no record has a value)", "add it to the export, or set required: false")
        stats[export.rel] = (int(row["rows"]), int(row["headers"]), int(row["blanks"]))
    return stats


def source_range(name: str, source: SourceConfig, frame) -> SourceRange:
    """The source's event-time range, as `coverage.source_range` measures it on DuckDB: the first and last
    value of its event-time column as dates in the session's (reporting) time zone."""
    from pyspark.sql import functions as F

    column = source.event_column
    if column is None:
        return SourceRange(name, None)
    first, last = frame.agg(F.min(F.col(column)).cast("date"), F.max(F.col(column)).cast("date")).collect()[0]
    return SourceRange(name, column, first, last)
