"""Cast a staged file's text to the column contract, and find the values that do not fit.

Numbers: the decimal separator is `options.decimal`, or detected per file when
it is not set (and the delimiter was sniffed, or `decimal: auto`): values that
can only be read one way decide it (`12,5`, `1.234,5` or `1.234.567` say
decimal comma; `12.5`, `1,234.5` or `1,234,567` say decimal point). A file
showing both styles, or none while holding a value like `1.234` (1234 or
1.234?), is an error asking to declare `decimal`: a number is never misread.
Thousands separators (`thousands: auto`: the other of '.'/',', spaces, and
"'" with a decimal point) are removed only in groups of three digits, so `1.5`
in a decimal-comma file is an error, never 15. Integers must be whole.

Dates and timestamps are ISO 8601 unless a strftime format is declared: Pulse
never guesses whether 04-05-2026 is day-first.

Timestamps are stored as instants (TIMESTAMPTZ), so `date_diff('second', a, b)`
is real elapsed time across a daylight-saving change. Text with an offset
(`...Z`, `+02:00`) is that instant; naive text and naive typed values (Excel,
Parquet without a zone) are local time in the reporting zone, the session's
TimeZone. A local time that does not exist (the hour skipped in spring, e.g.
02:30 on 29 March 2026 in Europe/Copenhagen) becomes the instant one hour
later on the clock (03:30 summer time, the same instant as 01:30 UTC); one
that exists twice (the hour repeated in autumn) is taken as the later one, in
standard time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import ColumnSpec, ColumnType, SourceConfig
from pipeline.core.database import quote_ident
from pipeline.core.errors import InputError
from pipeline.core.paths import display_path

from .csv_reader import STAGE_TABLE
from .csv_text import shown

SQL_TYPES = {
    ColumnType.TEXT: "VARCHAR",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.NUMBER: "DOUBLE",
    ColumnType.DATE: "DATE",
    ColumnType.TIMESTAMP: "TIMESTAMPTZ",  # an instant; shown and bucketed in the session (reporting) time zone
    ColumnType.BOOLEAN: "BOOLEAN",
}
SPACES = r"[ \x{00A0}\x{202F}]"
SEPARATOR_RE = {".": r"\.", ",": ",", "'": "'", " ": SPACES}
EXP = r"([eE][+-]?\d+)?"
# values that can be read only one way (RE2, as DuckDB's regexp_full_match uses)
COMMA_FRACTION = r"[+-]?(\d{1,3}(\.\d{3})+|\d*),\d+" + EXP
COMMA_GROUPS = r"[+-]?[1-9]\d{0,2}(,\d{3})+"
DOT_FRACTION = r"[+-]?(\d{1,3}(,\d{3})+|\d*)\.\d+" + EXP
DOT_GROUPS = r"[+-]?[1-9]\d{0,2}(\.\d{3})+"
AMBIGUOUS = r"[+-]?[1-9]\d{0,2}[.,]\d{3}"  # 1.234 or 1,234: a thousands group or three decimals
# SQL: the value v.t (trimmed text) can only have a decimal comma / a decimal point
COMMA_SQL = ("((regexp_full_match(v.t, $cf) AND NOT regexp_full_match(v.t, $cg))"
             " OR (regexp_full_match(v.t, $dg) AND strlen(v.t) - strlen(replace(v.t, '.', '')) > 1)"
             " OR ($plain AND regexp_full_match(v.t, '[+-]?\\d*,\\d+')))")
DOT_SQL = ("((regexp_full_match(v.t, $df) AND NOT regexp_full_match(v.t, $dg))"
           " OR (regexp_full_match(v.t, $cg) AND strlen(v.t) - strlen(replace(v.t, ',', '')) > 1)"
           " OR regexp_full_match(v.t, '[+-]?\\d+[eE][+-]?\\d+')"
           " OR ($plain AND regexp_full_match(v.t, '[+-]?\\d*\\.\\d+')))")


@dataclass(frozen=True)
class NumberStyle:
    decimal: str  # "." or ","
    thousands: tuple[str, ...]  # separators removed when in groups of three digits
    detected: bool = False
    # every number must be digits only (a sign allowed): no separator to interpret, so none is guessed;
    # a value with one does not cast (see `direct_load`, which then hands the file to the staged path)
    digits_only: bool = False

    def describe(self) -> str:
        how = "detected" if self.detected else "configured"
        return f"decimal separator '{self.decimal}' ({how})"

    def params(self) -> dict[str, str]:
        if self.digits_only:
            whole = r"[+-]?\d+"
            return {"num_ok": whole, "int_ok": whole, "num_plain": whole, "int_plain": whole, "num_strip": "_",
                    "num_dec": self.decimal}
        digits = "|".join([rf"[1-9]\d{{0,2}}({SEPARATOR_RE[t]}\d{{3}})+" for t in self.thousands] + [r"\d+"])
        dec = SEPARATOR_RE[self.decimal]
        strip = "|".join(SEPARATOR_RE[t] for t in self.thousands) or "_"
        return {
            "num_ok": rf"[+-]?(({digits})({dec}\d*)?|{dec}\d+){EXP}",
            "int_ok": rf"[+-]?({digits})({dec}0*)?",
            # a plain column (decimal point, no separator characters, see `cast_expression`): the same
            # patterns without thousands groups, which DuckDB's cast refuses anyway (cheaper to match)
            "num_plain": rf"[+-]?(\d+(\.\d*)?|\.\d+){EXP}",
            "int_plain": r"[+-]?\d+(\.0*)?",
            "num_strip": strip,
            "num_dec": self.decimal,
        }


def thousands_for(option: str, decimal: str) -> tuple[str, ...]:
    if option == "none":
        return ()
    if option != "auto":
        return (option,)
    return (".", " ") if decimal == "," else (",", " ", "'")


@dataclass(frozen=True)
class Profile:
    """What one cheap pass over a staged file found (see `profile`)."""

    present: dict[str, int]  # per condition given to `profile`: the rows it holds for
    # conservative: a number value with a character other than digits, dots and signs counts for all three
    comma_like: bool = False  # a value has a comma or two dots: it might say "decimal comma"
    dot_like: bool = False  # a value has a dot or an exponent: it might say "decimal point"
    separators: frozenset[str] = frozenset()  # number columns that may hold thousands separators


def profile(con, present: dict[str, str], number_columns: list[str], table: str = STAGE_TABLE,
            params: dict | None = None) -> Profile:
    """Count rows per condition and look for separators, in one scan of the staged file (or `table`).

    `present` maps a name to SQL that is true for the rows to count.
    """
    parts = [f"count(*) FILTER (WHERE {sql})" for sql in present.values()]
    for c in number_columns:  # a character other than digits, dot and signs: look closer (see number_style)
        col = quote_ident(c)
        parts += [f"bool_or(regexp_matches({col}, '[^0-9.+-]'))", f"bool_or({col} LIKE '%.%.%')",
                  f"bool_or(contains({col}, '.'))"]
    if not parts:
        return Profile({})
    sql = f"SELECT {', '.join(parts)} FROM {table}"
    row = con.execute(sql, bound(sql, params or {})).fetchall()[0]
    flags = row[len(present):]
    other, dots, dot = flags[0::3], flags[1::3], flags[2::3]
    return Profile(
        dict(zip(present, row)),
        comma_like=any(bool(f) for f in other + dots),  # a comma is "other"
        dot_like=any(bool(f) for f in other + dot),  # so is an exponent
        separators=frozenset(c for c, f in zip(number_columns, other) if f),  # and every thousands separator
    )


def declared_style(options, number_columns: list[str]) -> NumberStyle | None:
    """The separators the reader options say (or that nothing needs detecting); None: detect them."""
    declared = options.decimal
    if declared is None and options.delimiter is not None:
        declared = "."  # a configured delimiter without a decimal: the file says decimal point
    if declared in (None, "auto") and options.thousands in (".", ","):
        declared = "," if options.thousands == "." else "."  # the separator that is not the thousands one
    if declared in (".", ","):
        return NumberStyle(declared, thousands_for(options.thousands, declared))
    if not number_columns:
        return NumberStyle(".", thousands_for(options.thousands, "."))
    return None


def quick_style(con, options, number_columns: list[str], delimiter: str | None, quick: Profile,
                table: str = STAGE_TABLE, table_params: dict | None = None) -> NumberStyle | None:
    """The detected separators when the file's profile settles them cheaply; None: look at every value.

    No value can say "decimal comma" when none has a comma or two dots: then
    one value saying "decimal point" settles it, and with no dot or exponent
    at all nothing is ambiguous either (the delimiter's convention applies).
    """
    if quick.comma_like:
        return None
    if not quick.dot_like:
        return detected_style(options, delimiter_decimal(delimiter))
    params = {**detection_params(options, number_columns), **(table_params or {})}
    sql = f"SELECT 1 FROM {number_values(number_columns, table)} AND {DOT_SQL} LIMIT 1"
    if con.execute(sql, bound(sql, params)).fetchall():
        return detected_style(options, ".")
    return None


def detected_style(options, decimal: str) -> NumberStyle:
    """The style detection settled on: `decimal`, and the thousands separators that go with it."""
    return NumberStyle(decimal, thousands_for(options.thousands, decimal), detected=True)


def delimiter_decimal(delimiter: str | None) -> str:
    """With no separators to interpret, the delimiter's convention: ';' files use a decimal comma."""
    return "," if delimiter == ";" else "."


def detection_params(options, number_columns: list[str]) -> dict[str, object]:
    return {"cf": COMMA_FRACTION, "cg": COMMA_GROUPS, "df": DOT_FRACTION, "dg": DOT_GROUPS, "amb": AMBIGUOUS,
            "plain": options.thousands == "none",  # no thousands separators: any separator is the decimal one
            **{f"c{i}": c for i, c in enumerate(number_columns)}}


def number_values(number_columns: list[str], table: str) -> str:
    """SQL: every present number value v (v.c its column, v.t its text) with its line; WHERE already open."""
    values = ", ".join(
        f"{{'c': $c{i}, 't': NULLIF(trim({quote_ident(c)}), '')}}" for i, c in enumerate(number_columns)
    )
    line = "_line" if table == STAGE_TABLE else "NULL AS _line"
    return f"(SELECT {line}, unnest([{values}]) AS v FROM {table}) WHERE v.t IS NOT NULL"


def number_style(con, path: Path, name: str, source: SourceConfig, number_columns: list[str],
                 delimiter: str | None, quick: Profile | None = None) -> NumberStyle:
    """The file's decimal and thousands separators: configured, or detected from its values.

    With `quick` (the file's `profile`), the usual files are decided without
    running every pattern over every value; the outcome is the same.
    """
    options = source.options
    found = declared_style(options, number_columns)
    if found is None and quick is not None:
        found = quick_style(con, options, number_columns, delimiter, quick)
    if found is not None:
        return found
    params = detection_params(options, number_columns)
    unnested = number_values(number_columns, STAGE_TABLE)
    first = "arg_min(struct_pack(line := _line, c := v.c, t := v.t), _line)"
    comma, dot, ambiguous = con.execute(
        f"SELECT {first} FILTER (WHERE comma), {first} FILTER (WHERE dot), {first} FILTER (WHERE amb) FROM ("
        f"  SELECT _line, v, {COMMA_SQL} AS comma, {DOT_SQL} AS dot, regexp_full_match(v.t, $amb) AS amb"
        f"  FROM {unnested})",
        params,
    ).fetchall()[0]
    hint = "set options.decimal (',' or '.') on the source in config/sources.yaml"
    if comma and dot:
        (early, early_style), (late, late_style) = sorted(
            [(comma, "comma"), (dot, "point")], key=lambda found: found[0]["line"]
        )
        raise InputError(
            f"{display_path(path)}:{late['line']}: column '{late['c']}' of source '{name}': '{shown(late['t'])}' has "
            f"a decimal {late_style}, but '{shown(early['t'])}' on line {early['line']} a decimal {early_style}",
            hint + "; values in the other style are then errors",
        )
    if comma or dot:
        decimal = "," if comma else "."
    elif ambiguous:
        example = shown(ambiguous["t"])
        raise InputError(
            f"{display_path(path)}:{ambiguous['line']}: column '{ambiguous['c']}' of source '{name}': cannot tell "
            f"whether '{example}' is {example.replace('.', '').replace(',', '')} or {example.replace(',', '.')}: "
            "no value in the file shows its decimal separator", hint,
        )
    else:  # no separators to interpret
        decimal = delimiter_decimal(delimiter)
    return detected_style(options, decimal)


def cast_expression(col: str, file_type: str, spec: ColumnSpec, source: SourceConfig,
                    plain: bool = False) -> tuple[str, str]:
    """SQL turning the file's column into the contract type, and its raw text form.

    Number parameters ($num_ok, $int_ok, $num_plain, $int_plain, $num_strip, $num_dec) come from
    `NumberStyle.params`; formats from `format_params`. `plain`: the column's
    text has a decimal point and no thousands separator characters at all, so
    the separators need not be removed (the same numbers, fewer string copies).
    """
    text = f"NULLIF(trim(CAST({col} AS VARCHAR)), '')"
    kind = spec.type
    if kind is ColumnType.TEXT:
        return f"NULLIF(CAST({col} AS VARCHAR), '')", text
    if kind in (ColumnType.INTEGER, ColumnType.NUMBER):
        target = SQL_TYPES[kind]
        if file_type == "VARCHAR":
            ok = f"${'int' if kind is ColumnType.INTEGER else 'num'}_{'plain' if plain else 'ok'}"
            normal = text if plain else f"replace(regexp_replace({text}, $num_strip, '', 'g'), $num_dec, '.')"
            checked = f"WHEN regexp_full_match({text}, {ok}) THEN TRY_CAST({normal} AS {target})"
            if kind is ColumnType.INTEGER:
                # an integer written the way DuckDB writes it back ('42', '-7') always matches $int_ok and $int_plain
                checked = f"WHEN CAST(TRY_CAST({col} AS BIGINT) AS VARCHAR) = {col} THEN TRY_CAST({col} AS BIGINT) " \
                          + checked
            return f"CASE {checked} END", text
        if kind is ColumnType.INTEGER and (file_type in ("FLOAT", "DOUBLE") or file_type.startswith("DECIMAL")):
            # a whole number stored as a float is fine; 12.5 is not an integer (never rounded)
            return f"CASE WHEN {col} = trunc({col}) THEN TRY_CAST({col} AS {target}) END", text
        return f"TRY_CAST({col} AS {target})", text
    if kind is ColumnType.BOOLEAN:
        return f"TRY_CAST({text} AS BOOLEAN)", text
    if kind is ColumnType.DATE:
        if file_type == "DATE":
            return col, text
        if source.options.date_format and file_type == "VARCHAR":
            return f"CAST(try_strptime({text}, $date_format) AS DATE)", text
        return f"TRY_CAST({text} AS DATE)", text
    # timestamps are instants: text with an offset is that instant; naive text
    # (and naive typed values) is local time in the session (reporting) time zone
    if file_type == "TIMESTAMP WITH TIME ZONE":
        return col, text
    if file_type in ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"):
        return f"CAST({col} AS TIMESTAMPTZ)", text
    if source.options.timestamp_format and file_type == "VARCHAR":
        return f"CAST(try_strptime({text}, $timestamp_format) AS TIMESTAMPTZ)", text
    return f"TRY_CAST({text} AS TIMESTAMPTZ)", text


def format_params(source: SourceConfig) -> dict[str, object]:
    params: dict[str, object] = {}
    if source.options.date_format and any(s.type is ColumnType.DATE for s in source.columns.values()):
        params["date_format"] = source.options.date_format
    if source.options.timestamp_format and any(s.type is ColumnType.TIMESTAMP for s in source.columns.values()):
        params["timestamp_format"] = source.options.timestamp_format
    return params


def bound(sql: str, params: dict) -> dict:
    """The parameters `sql` uses (DuckDB rejects unused ones)."""
    return {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", sql)}


def bad_value(raw_text: str, expr: str) -> str:
    """SQL: the value is there but does not cast."""
    return f"({raw_text} IS NOT NULL AND {expr} IS NULL)"


def reason(spec: ColumnSpec) -> str:
    return f"not a valid {spec.type.value}"


def hint(spec: ColumnSpec, source: SourceConfig, value: str, style: NumberStyle | None) -> str:
    """What to do about a value that does not cast."""
    if spec.type in (ColumnType.DATE, ColumnType.TIMESTAMP):
        declared = source.options.date_format if spec.type is ColumnType.DATE else source.options.timestamp_format
        if declared:
            return f"the source declares options.{spec.type.value}_format '{declared}'; fix the value or the format"
        return (f"dates are read as ISO (2026-10-31) unless the source declares options.{spec.type.value}_format "
                "(e.g. '%d-%m-%Y'); Pulse never guesses day-first vs year-first")
    if spec.type is ColumnType.INTEGER and style is not None and re.fullmatch(r"[+-]?\d*[.,]\d*[1-9]\d*", value):
        return "integers must be whole numbers; declare the column as type: number if it has decimals"
    if spec.type in (ColumnType.INTEGER, ColumnType.NUMBER) and style is not None:
        other = "," if style.decimal == "." else "."
        if other in value and not style.detected and source.options.decimal is None and other == ",":
            return "if the file uses decimal commas, set options.decimal: ',' on the source"
        if other in value or style.decimal in value:
            return (f"this file's {style.describe()}; thousands separators count only in groups of three digits; "
                    "set options.decimal / options.thousands if that is wrong")
    return "fix the value or the column's type in config/sources.yaml"


def check_casts(con, path: Path, name: str, source: SourceConfig, checks, params,
                style: NumberStyle | None) -> None:
    """Fail on the first value (by line) that does not cast, naming file, line and column."""
    if not checks:
        return
    parts = [f"min(_line) FILTER (WHERE {bad_value(raw_text, expr)})" for _, expr, raw_text in checks]
    sql = f"SELECT {', '.join(parts)} FROM {STAGE_TABLE}"
    row = con.execute(sql, bound(sql, params)).fetchall()[0]
    found = [(line, check) for line, check in zip(row, checks) if line is not None]
    if not found:
        return
    line, (column, _, raw_text) = min(found, key=lambda item: item[0])
    value = con.execute(f"SELECT {raw_text} FROM {STAGE_TABLE} WHERE _line = $r", {"r": line}).fetchall()[0][0]
    spec = source.columns[column]
    raise InputError(
        f"{display_path(path)}:{line}: column '{column}' of source '{name}': '{shown(value)}' is not a valid "
        f"{spec.type.value}",
        hint(spec, source, str(value), style),
    )
