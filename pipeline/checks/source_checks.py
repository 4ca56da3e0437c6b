"""Data-quality checks: the gate between ingest and the numbers.

Per source, with defaults that need no configuration (see `SourceChecks` in
config): row count range, primary key unique within each file, primary-key
(and `not_null`) columns without NULLs, `accepted` values, plausible dates,
coverage (the report period is not before the source's first event or after
its last, see `coverage`), freshness (the event time reaches the end of the
report period, allowing `grace_days` without events) and volume (rows in the
report period against the trailing average). Freshness, volume and coverage
measure the source's event-time column. Each check is `fail` (stops the run),
`warn` (shown in the report) or `off`. A report's gate runs the checks of the
sources its KPIs read (`sources`), not every source.

The checks' statements are fixed SELECTs in DuckDB's dialect, run by the
project's engine (`pipeline.core.engine`; Spark runs them translated), values
bound as parameters.

A check states its outcome as a wording with placeholders and the numbers
beside it (see `pipeline.core.wording`): the report writes the numbers in its
locale, logs and errors in plain English digits (`CheckResult.message`).

KPI-level anomalies are checked with the KPIs (see `pipeline.kpis.anomalies`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from pipeline.core.database import quote_ident
from pipeline.core.engine import Engine, QueryRequest
from pipeline.core.periods import Calendar, Period
from pipeline.core.result_cache import ResultCache
from pipeline.core.wording import PLAIN, NumberWords, fill
from pipeline.sources.coverage import SourceRange

from .coverage import OUTSIDE, UNKNOWN, covered_wording, outside_wording, period_coverage

if TYPE_CHECKING:
    from pipeline.config import ProjectConfig, SourceConfig

# a check's numbers: counts, ratios, dates, column names, NULL counts per column
CheckNumber = int | float | bool | str | date | None | dict[str, int]
CACHED_FORMAT = 3  # the shape of a cached CheckResult (2: wording + numbers, 3: coverage and freshness as wordings); results of another shape are not reused


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: its wording (with `{name:kind}` placeholders) and the numbers behind it."""

    scope: str  # source name or "kpi:<id>"
    name: str
    severity: str  # "fail" or "warn" (what a failure of this check means)
    passed: bool
    wording: str
    numbers: dict[str, CheckNumber] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The outcome in words, numbers in plain English digits (logs, errors, the manifest)."""
        return self.text(PLAIN)

    def text(self, words: NumberWords) -> str:
        """The outcome in words, numbers written by `words` (e.g. the report's locale)."""
        return fill(self.wording, self.numbers, words)

    @property
    def failed(self) -> bool:
        return not self.passed and self.severity == "fail"

    @property
    def warning(self) -> bool:
        return not self.passed and self.severity == "warn"


def run_source_checks(
    engine: Engine, config: ProjectConfig, calendar: Calendar, period: Period, today: date,
    cache: ResultCache | None = None, sources: Sequence[str] | None = None,
    ranges: Mapping[str, SourceRange] | None = None,
) -> list[CheckResult]:
    """The checks of `sources` (default: every source); with a `cache` (see
    `pipeline.core.result_cache`), results for unchanged data are reused. `ranges`: each source's
    first and last event as ingest found them (measured here when not given)."""
    results: list[CheckResult] = []
    for name, source in config.sources.items():
        if sources is not None and name not in sources:
            continue
        found = (ranges or {}).get(name)

        def compute(name=name, source=source, found=found) -> list[dict]:
            return [asdict(r) for r in _source_checks(engine, name, source, calendar, period, today, found)]

        if cache is None:
            results.extend(CheckResult(**item) for item in compute())
            continue
        parts = cache_parts(source.checks.model_dump(mode="json"), source.event_column, calendar, period, today)
        results.extend(CheckResult(**item) for item in cache.checks(engine.local, name, parts, compute))
    return results


def cache_parts(checks: object, event_column: str | None, calendar: Calendar, period: Period,
                today: date) -> dict[str, object]:
    """What a source's cached check results are keyed by besides its data: its checks' config (as JSON
    values), event-time column, the period and calendar, and the day."""
    return {"checks": checks, "period": [period.start, period.end, period.label], "today": today,
            "calendar": [calendar.grain.value, calendar.fiscal_year_start], "record": CACHED_FORMAT,
            "event_time": event_column}


def _one(engine: Engine, sql: str, params: dict | None = None):
    return _rows(engine, sql, params)[0]


def _rows(engine: Engine, sql: str, params: dict | None = None) -> list[tuple]:
    return engine.run_select(QueryRequest(sql, params or {}, "a data-quality check")).rows


def _source_checks(engine: Engine, name: str, source: SourceConfig, calendar: Calendar, period: Period,
                   today: date, found: SourceRange | None) -> list[CheckResult]:
    checks = source.checks
    table = quote_ident(name)
    out: list[CheckResult] = []
    rows = _one(engine, f"SELECT count(*) FROM {table}")[0]
    if checks.rows.severity != "off":
        low, high = checks.rows.min, checks.rows.max
        ok = rows >= low and (high is None or rows <= high)
        out.append(CheckResult(name, "row_count", checks.rows.severity, ok,
                               "{rows:count} rows (expected {min:count}"
                               + ("–{max:count})" if high is not None else " or more)"),
                               {"rows": rows, "min": low, "max": high}))
    if source.primary_key and checks.primary_key != "off":  # counted per file when it was loaded
        dupes, example = engine.duplicate_keys(name)
        out.append(CheckResult(name, "primary_key_unique", checks.primary_key, dupes == 0,
                               "primary key unique within each file" if dupes == 0 else
                               "{duplicate_keys:count} primary-key values repeated within one file (e.g. in {example})",
                               {"duplicate_keys": dupes, "example": example}))
    not_null = [c for c, s in source.columns.items() if s.not_null or (s.not_null is None and c in source.primary_key)]
    if not_null and checks.not_null != "off":
        counts = _one(engine, "SELECT " + ", ".join(f"count(*) FILTER (WHERE {quote_ident(c)} IS NULL)" for c in not_null)
                      + f" FROM {table}")
        nulls = {c: n for c, n in zip(not_null, counts) if n}
        out.append(CheckResult(name, "not_null", checks.not_null, not nulls,
                               "no missing values in {columns}" if not nulls else
                               "missing values: " + ", ".join(f"{{column_{i}}} ({{nulls_{i}:count}} rows)"
                                                              for i in range(len(nulls))),
                               {"nulls": nulls, "columns": ", ".join(not_null),
                                **{f"column_{i}": c for i, c in enumerate(nulls)},
                                **{f"nulls_{i}": n for i, n in enumerate(nulls.values())}}))
    if checks.accepted_values != "off":
        for column, spec in source.columns.items():
            if spec.accepted is None:
                continue
            col = quote_ident(column)
            allowed = {f"a{i}": str(v) for i, v in enumerate(spec.accepted)}
            outside = (f"FROM {table} WHERE {col} IS NOT NULL AND CAST({col} AS VARCHAR) NOT IN "
                       f"({', '.join('$' + k for k in allowed)})")
            bad = _one(engine, f"SELECT count(*) {outside}", allowed)[0]
            examples = [r[0] for r in _rows(engine, f"SELECT DISTINCT CAST({col} AS VARCHAR) AS v {outside} "
                                                 "ORDER BY v LIMIT 3", allowed)] if bad else []
            out.append(CheckResult(name, f"accepted_values:{column}", checks.accepted_values, bad == 0,
                                   "{column} only has accepted values" if bad == 0 else
                                   "{rows:count} rows with {column} not in {accepted}: e.g. {examples}",
                                   {"rows": bad, "column": column, "accepted": str(spec.accepted),
                                    "examples": ", ".join(examples or [])}))
    out.extend(_date_checks(engine, name, source, calendar, period, today, rows, found))
    return out


def _range_of(engine: Engine, name: str, column: str) -> SourceRange:
    col = quote_ident(column)
    first, last = _one(engine, f"SELECT CAST(min({col}) AS DATE), CAST(max({col}) AS DATE) FROM {quote_ident(name)}")
    return SourceRange(name, column, first, last)


def _date_checks(engine, name, source, calendar, period, today, rows, found) -> list[CheckResult]:
    from pipeline.config import ColumnType

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
            # compared with the bounds' local midnights, cast once: no per-row cast of a timestamp to its
            # local date (a time-zone conversion per value)
            bad, low, high = _one(
                engine,
                f"SELECT count(*) FILTER (WHERE {col} < $lo OR {col} >= $after), "
                f"CAST(min({col}) AS DATE), CAST(max({col}) AS DATE) FROM {table}",
                {"lo": plausible.earliest, "after": latest_ok + timedelta(days=1)},
            )
            out.append(CheckResult(name, f"plausible_dates:{column}", plausible.severity, bad == 0,
                                   "{column} between {min:date} and {max:date}" if bad == 0 else
                                   "{rows:count} rows with {column} outside {earliest:date}…{latest:date} "
                                   "(found {min:date}…{max:date}); a wrong date format?",
                                   {"rows": bad, "min": low, "max": high, "column": column,
                                    "earliest": plausible.earliest, "latest": latest_ok}))
    column = source.event_column
    if column is None:
        return out
    if found is None or found.column != column:
        found = _range_of(engine, name, column)
    covers = period_coverage(found, period, today, checks.freshness.grace_days)
    if checks.coverage != "off" and covers.status != UNKNOWN:
        outside = covers.status == OUTSIDE
        wording, numbers = outside_wording(covers, period) if outside else covered_wording(covers, period)
        out.append(CheckResult(name, "coverage", checks.coverage, not outside, wording,
                               {**numbers, "status": covers.status}))
    if checks.freshness.severity != "off":
        out.append(_freshness(name, column, checks.freshness, period, today, found.last))
    if checks.volume.severity != "off" and rows:
        volume = checks.volume
        periods = [calendar.shift(period, -i) for i in range(volume.periods, -1, -1)]
        col = quote_ident(column)
        counted = ", ".join(f"count(*) FILTER (WHERE {col} >= $a{i} AND {col} < $b{i})" for i in range(len(periods)))
        bounds = {**{f"a{i}": p.start for i, p in enumerate(periods)}, **{f"b{i}": p.end for i, p in enumerate(periods)}}
        counts = list(_one(engine, f"SELECT {counted} FROM {table}", bounds))  # one scan for every period
        current, trailing = counts[-1], counts[:-1]
        history = [c for c in trailing if c]
        if history:
            average = sum(history) / len(history)
            ratio = current / average if average else 0.0
            ok = volume.low <= ratio <= volume.high
            out.append(CheckResult(name, "volume", volume.severity, ok,
                                   "{rows:count} rows in {period}, {ratio:share} of the trailing average "
                                   "{trailing_average:amount}",
                                   {"rows": current, "trailing_average": round(average, 1), "ratio": round(ratio, 3),
                                    "period": period.label}))
    return out


def _freshness(name: str, column: str, freshness, period: Period, today: date, latest: date | None) -> CheckResult:
    """The event time reaches the period's last day (or yesterday, for a period not over yet), allowing
    `grace_days` days without events at its end; a failure says exactly how to relax it."""
    needed = min(period.end, today) - timedelta(days=1)
    grace = freshness.grace_days
    ok = latest is not None and latest >= needed - timedelta(days=grace)
    behind = None if latest is None else max(0, (needed - latest).days)  # days the event time falls short
    allowed = "up to {grace_days:count} day" + ("s" if grace != 1 else "") + " without events allowed"
    if latest is None:
        wording = "{column} has no values (needs {needed:date})"
    elif latest >= needed:
        wording = "{column} reaches {latest:date} (needs {needed:date})"
    else:
        wording = ("{column} reaches {latest:date}, {behind:count} day" + ("s" if behind != 1 else "")
                   + " before {needed:date} (" + allowed + ")")
        if not ok and latest >= period.start:  # (data that ends before the period: see the coverage check)
            wording += ("; if {source} has no events on such days, set sources.{source}.checks.freshness.grace_days: "
                        "{behind:count} (or severity: warn)")
    return CheckResult(name, "freshness", freshness.severity, ok, wording,
                       {"latest": latest, "needed": needed, "grace_days": grace, "column": column,
                        "behind": behind, "source": name})


def rejects_check(con, config: ProjectConfig,
                  sources: Sequence[str] | None = None) -> list[CheckResult]:
    """Rows kept out of a source by `on_bad_rows: quarantine` (a warning per such source of `sources`)."""
    from pipeline.sources.quarantine import rejected_rows, rejects

    out: list[CheckResult] = []
    for name, source in config.sources.items():
        if source.on_bad_rows != "quarantine" or (sources is not None and name not in sources):
            continue
        count = rejected_rows(con, name)
        found = rejects(con, name) if count else []
        out.append(CheckResult(name, "rejects", "warn", count == 0,
                               "no rows quarantined" if count == 0 else
                               "{rows:count} rows quarantined (kept out of {source}), e.g. {example}; "
                               "see table _pulse_rejects",
                               {"rows": count, "values": len(found), "source": name,
                                "example": found[0].where() if found else None}))
    return out
