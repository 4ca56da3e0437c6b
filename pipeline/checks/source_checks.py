"""Data-quality checks: the gate between ingest and the numbers.

Per source, with defaults that need no configuration (see `SourceChecks` in
config): row count range, primary key unique within each file, primary-key
(and `not_null`) columns without NULLs, `accepted` values, plausible dates,
freshness (the data reaches the end of the report period by a date column) and
volume (rows in the report period against the trailing average). Each check is
`fail` (stops the run), `warn` (shown in the report) or `off`.

KPI-level anomalies are checked with the KPIs (see `pipeline.kpis.anomalies`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import duckdb

from pipeline.config import ColumnType, ProjectConfig, SourceConfig
from pipeline.core.database import quote_ident
from pipeline.core.periods import Calendar, Period
from pipeline.core.result_cache import ResultCache

# a check's numbers: counts, ratios, dates, column names, NULL counts per column
CheckNumber = int | float | bool | str | date | None | dict[str, int]


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome, with the numbers behind it."""

    scope: str  # source name or "kpi:<id>"
    name: str
    severity: str  # "fail" or "warn" (what a failure of this check means)
    passed: bool
    message: str
    numbers: dict[str, CheckNumber] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return not self.passed and self.severity == "fail"

    @property
    def warning(self) -> bool:
        return not self.passed and self.severity == "warn"


def date_column(source: SourceConfig, chosen: str | None) -> str | None:
    """The column freshness and volume are measured by."""
    if chosen:
        return chosen
    for name, spec in source.columns.items():
        if spec.type in (ColumnType.DATE, ColumnType.TIMESTAMP):
            return name
    return None


def run_source_checks(
    con: duckdb.DuckDBPyConnection, config: ProjectConfig, calendar: Calendar, period: Period, today: date,
    cache: ResultCache | None = None,
) -> list[CheckResult]:
    """Every source's checks; with a `cache` (see `pipeline.core.result_cache`), results for unchanged
    data are reused."""
    results: list[CheckResult] = []
    for name, source in config.sources.items():
        if cache is None:
            results.extend(_source_checks(con, name, source, calendar, period, today))
            continue

        def compute(name=name, source=source) -> list[dict]:
            return [asdict(r) for r in _source_checks(con, name, source, calendar, period, today)]

        parts = {"checks": source.checks.model_dump(mode="json"), "period": [period.start, period.end, period.label],
                 "today": today, "calendar": [calendar.grain.value, calendar.fiscal_year_start]}
        results.extend(CheckResult(**item) for item in cache.checks(con, name, parts, compute))
    return results


def _one(con, sql: str, params: dict | None = None):
    return con.execute(sql, params or {}).fetchall()[0]


def _source_checks(con, name: str, source: SourceConfig, calendar: Calendar, period: Period,
                   today: date) -> list[CheckResult]:
    checks = source.checks
    table = quote_ident(name)
    out: list[CheckResult] = []
    rows = _one(con, f"SELECT count(*) FROM {table}")[0]
    if checks.rows.severity != "off":
        low, high = checks.rows.min, checks.rows.max
        ok = rows >= low and (high is None or rows <= high)
        out.append(CheckResult(name, "row_count", checks.rows.severity, ok,
                               f"{rows:,} rows (expected {low:,}" + (f"–{high:,})" if high is not None else " or more)"),
                               {"rows": rows, "min": low, "max": high}))
    if source.primary_key and checks.primary_key != "off":  # counted per file when it was loaded
        dupes, example = _one(
            con,
            "SELECT coalesce(sum(duplicate_keys), 0), min(path) FILTER (WHERE duplicate_keys > 0) "
            "FROM _pulse_files WHERE source = $s",
            {"s": name},
        )
        out.append(CheckResult(name, "primary_key_unique", checks.primary_key, dupes == 0,
                               "primary key unique within each file" if dupes == 0 else
                               f"{dupes:,} primary-key values repeated within one file (e.g. in {example})",
                               {"duplicate_keys": dupes}))
    not_null = [c for c, s in source.columns.items() if s.not_null or (s.not_null is None and c in source.primary_key)]
    if not_null and checks.not_null != "off":
        counts = _one(con, "SELECT " + ", ".join(f"count(*) FILTER (WHERE {quote_ident(c)} IS NULL)" for c in not_null)
                      + f" FROM {table}")
        nulls = {c: n for c, n in zip(not_null, counts) if n}
        out.append(CheckResult(name, "not_null", checks.not_null, not nulls,
                               "no missing values in " + ", ".join(not_null) if not nulls else
                               "missing values: " + ", ".join(f"{c} ({n:,} rows)" for c, n in nulls.items()),
                               {"nulls": nulls}))
    if checks.accepted_values != "off":
        for column, spec in source.columns.items():
            if spec.accepted is None:
                continue
            col = quote_ident(column)
            bad, examples = _one(
                con,
                f"SELECT count(*), list(DISTINCT CAST({col} AS VARCHAR))[1:3] FROM {table} "
                f"WHERE {col} IS NOT NULL AND CAST({col} AS VARCHAR) NOT IN (SELECT unnest($allowed))",
                {"allowed": [str(v) for v in spec.accepted]},
            )
            out.append(CheckResult(name, f"accepted_values:{column}", checks.accepted_values, bad == 0,
                                   f"{column} only has accepted values" if bad == 0 else
                                   f"{bad:,} rows with {column} not in {spec.accepted}: e.g. {', '.join(examples)}",
                                   {"rows": bad}))
    out.extend(_date_checks(con, name, source, calendar, period, today, rows))
    return out


def _date_checks(con, name, source, calendar, period, today, rows) -> list[CheckResult]:
    checks = source.checks
    table = quote_ident(name)
    out: list[CheckResult] = []
    plausible = checks.plausible_dates
    if plausible.severity != "off":
        latest_ok = today + timedelta(days=plausible.max_days_ahead)
        for column, spec in source.columns.items():
            if spec.type not in (ColumnType.DATE, ColumnType.TIMESTAMP):
                continue
            col = quote_ident(column)
            bad, low, high = _one(
                con,
                f"SELECT count(*) FILTER (WHERE CAST({col} AS DATE) < $lo OR CAST({col} AS DATE) > $hi), "
                f"min(CAST({col} AS DATE)), max(CAST({col} AS DATE)) FROM {table}",
                {"lo": plausible.earliest, "hi": latest_ok},
            )
            out.append(CheckResult(name, f"plausible_dates:{column}", plausible.severity, bad == 0,
                                   f"{column} between {low} and {high}" if bad == 0 else
                                   f"{bad:,} rows with {column} outside {plausible.earliest}…{latest_ok} "
                                   f"(found {low}…{high}); a wrong date format?",
                                   {"rows": bad, "min": low, "max": high}))
    column = date_column(source, checks.freshness.column)
    if column and checks.freshness.severity != "off":
        needed = min(period.end, today) - timedelta(days=1)
        latest = _one(con, f"SELECT max(CAST({quote_ident(column)} AS DATE)) FROM {table}")[0]
        ok = latest is not None and latest >= needed
        out.append(CheckResult(name, "freshness", checks.freshness.severity, ok,
                               f"{column} reaches {latest} (needs {needed})",
                               {"latest": latest, "needed": needed, "column": column}))
    column = date_column(source, checks.volume.column)
    if column and checks.volume.severity != "off" and rows:
        volume = checks.volume
        periods = [calendar.shift(period, -i) for i in range(volume.periods, -1, -1)]
        col = quote_ident(column)
        counted = ", ".join(f"count(*) FILTER (WHERE {col} >= $a{i} AND {col} < $b{i})" for i in range(len(periods)))
        bounds = {**{f"a{i}": p.start for i, p in enumerate(periods)}, **{f"b{i}": p.end for i, p in enumerate(periods)}}
        counts = list(_one(con, f"SELECT {counted} FROM {table}", bounds))  # one scan for every period
        current, trailing = counts[-1], counts[:-1]
        history = [c for c in trailing if c]
        if history:
            average = sum(history) / len(history)
            ratio = current / average if average else 0.0
            ok = volume.low <= ratio <= volume.high
            out.append(CheckResult(name, "volume", volume.severity, ok,
                                   f"{current:,} rows in {period.label}, {ratio:.0%} of the trailing average {average:,.0f}",
                                   {"rows": current, "trailing_average": round(average, 1), "ratio": round(ratio, 3)}))
    return out


def rejects_check(con: duckdb.DuckDBPyConnection, config: ProjectConfig) -> list[CheckResult]:
    """Rows kept out of a source by `on_bad_rows: quarantine` (a warning per such source)."""
    from pipeline.sources.quarantine import rejected_rows, rejects

    out: list[CheckResult] = []
    for name, source in config.sources.items():
        if source.on_bad_rows != "quarantine":
            continue
        count = rejected_rows(con, name)
        found = rejects(con, name) if count else []
        out.append(CheckResult(name, "rejects", "warn", count == 0,
                               "no rows quarantined" if count == 0 else
                               f"{count:,} rows quarantined (kept out of {name}), e.g. {found[0].where()}; "
                               "see table _pulse_rejects",
                               {"rows": count, "values": len(found),
                                "example": found[0].where() if found else None}))
    return out
