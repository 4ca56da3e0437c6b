"""KPI, check and ad hoc queries for Spark: DuckDB SQL translated with sqlglot, or a hand-written override.

A query is written once, for DuckDB. On `engine: spark` it is parsed in
DuckDB's dialect and written as Spark SQL by sqlglot when it runs, with
three rules of Pulse's own:

- only one read-only SELECT is run (a query, set operation or CTE); anything
  else (INSERT, CREATE, SET, ATTACH, PRAGMA, COPY, several statements) is
  refused, as DuckDB's query sandbox refuses it;
- a query reads only the sources, `periods` and its own CTEs: a table
  function (`read_csv(...)`), a file path (Spark's ``csv.`/path` ``) or any
  other table is refused, so a query cannot reach files Pulse did not ingest;
- numbers written with a decimal point (`1.0`, `3600.0`) are DOUBLE literals:
  DuckDB averages and divides them as doubles, while Spark would keep them
  DECIMAL and round the result to a few decimal places.

`$name` parameters become Spark's named markers `:name`, bound by Spark
(`spark.sql(text, args=...)`), never formatted into the text. A construct
sqlglot cannot write for Spark, or that Spark rejects, is an error naming the
KPI, with the hint to write `<query>.spark.sql` beside the query: a
hand-written Spark SQL version, used as it is (after the same two checks)
instead of the translation.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.engine import QueryRequest
from pipeline.core.errors import QueryError
from pipeline.core.paths import display_path

SPARK_SUFFIX = ".spark.sql"
OVERRIDE_HINT = "see docs/spark.md 'KPI queries on Spark'"
NO_SPARK_JOIN = ("ASOF", "POSITIONAL")  # DuckDB joins sqlglot would pass through unchanged


@dataclass(frozen=True)
class SparkQuery:
    """What Spark runs for a request: Spark SQL text, its bound values, and where the text came from."""

    sql: str
    params: dict[str, object]
    origin: str  # "translated" or the override file's path as shown


def override_path(path: Path) -> Path:
    """`queries/sales/revenue.sql` -> `queries/sales/revenue.spark.sql`."""
    return path.with_name(path.name.removesuffix(".sql") + SPARK_SUFFIX)


def _who(request: QueryRequest) -> str:
    return f"{request.shown} (KPI '{request.kpi}')" if request.kpi else request.shown


def _refusals(tree, request: QueryRequest, tables: Collection[str]) -> None:
    """One SELECT reading only the sources, `periods` and its own CTEs; else a QueryError."""
    from sqlglot import exp

    if not isinstance(tree, exp.Query):
        kind = type(tree).__name__.upper()
        raise QueryError(f"{_who(request)}: only a SELECT can run as a query, not {kind}",
                         "queries read the sources; they never change data or settings")
    for node in tree.walk():
        if isinstance(node, (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Command, exp.Set,
                             exp.Pragma, exp.Merge, exp.Alter, exp.Use, exp.Attach, exp.Copy)):
            raise QueryError(f"{_who(request)}: only a SELECT can run as a query, not "
                             f"{type(node).__name__.upper()}", "queries read the sources; they never change data")
    ctes = {cte.alias.lower() for cte in tree.find_all(exp.CTE)}
    known = {t.lower() for t in tables} | {"periods"}
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise QueryError(f"{_who(request)}: reading files from a query ({table.this.sql()}) is not allowed "
                             "on Spark", "make the files a source in config/sources.yaml")
        name, schema = table.name.lower(), table.db.lower()
        if schema and schema != "main":
            raise QueryError(f"{_who(request)}: '{table.sql()}' is not a source: a query reads only the sources "
                             "and periods", "make the files a source in config/sources.yaml")
        if name not in known and name not in ctes:
            raise QueryError(f"{_who(request)}: '{table.name}' is not a source (sources: "
                             f"{', '.join(sorted(tables)) or 'none'}, and periods)",
                             "a query reads the sources of config/sources.yaml and the periods table")


def _parse(sql: str, dialect: str, request: QueryRequest, shown: str):
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        detail = str(exc).splitlines()[0]
        raise QueryError(f"{shown}: cannot parse the query ({dialect} SQL): {detail}",
                         "fix the query; try it with 'pulse query' to iterate") from None
    if len(statements) != 1:
        raise QueryError(f"{shown}: {len(statements)} statements; a query is one SELECT",
                         "keep one SELECT per query file")
    return statements[0]


def translate(request: QueryRequest, tables: Collection[str]) -> str:
    """The request's DuckDB SQL as Spark SQL; refused or untranslatable constructs are a QueryError."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError, UnsupportedError

    tree = _parse(request.sql, "duckdb", request, _who(request))
    _refusals(tree, request, tables)

    def doubles(node):
        if isinstance(node, exp.Literal) and node.is_number and any(ch in node.this for ch in ".eE"):
            return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
        return node

    for join in tree.find_all(exp.Join):
        method = join.text("method").upper()
        if method in NO_SPARK_JOIN:
            raise QueryError(f"{_who(request)}: has no Spark SQL equivalent: {method} JOIN",
                             f"write a Spark version in {_override_shown(request)}; {OVERRIDE_HINT}")
    tree = tree.transform(doubles)
    try:
        return tree.sql(dialect="spark", unsupported_level="RAISE", comments=False)
    except UnsupportedError as exc:
        raise QueryError(f"{_who(request)}: has no Spark SQL equivalent: {str(exc).splitlines()[0]}",
                         f"write a Spark version in {_override_shown(request)}; {OVERRIDE_HINT}") from None
    except SqlglotError as exc:
        raise QueryError(f"{_who(request)}: cannot be written as Spark SQL: {str(exc).splitlines()[0]}",
                         f"write a Spark version in {_override_shown(request)}; {OVERRIDE_HINT}") from None


def _override_shown(request: QueryRequest) -> str:
    if request.path is not None:
        return display_path(override_path(request.path))
    return "a <query>.spark.sql file beside the query"


def spark_query(request: QueryRequest, tables: Collection[str], available: dict[str, object] | None = None
                ) -> SparkQuery:
    """What Spark runs for `request`: its override file when there is one, else the translation."""
    from sqlglot import exp

    if request.path is not None and override_path(request.path).is_file():
        path = override_path(request.path)
        shown = display_path(path)
        text = path.read_text(encoding="utf-8")
        tree = _parse(text, "spark", request, shown)
        _refusals(tree, QueryRequest(text, request.params, shown, request.kpi, path), tables)
        names = sorted({p.name for p in tree.find_all(exp.Placeholder) if p.name})
        values = {**(available or {}), **request.params}
        unknown = [n for n in names if n not in values]
        if unknown:
            raise QueryError(f"{shown}: unknown parameter :{unknown[0]}",
                             "define it under the KPI's 'params:' in config/kpis.yaml (available: "
                             f"{', '.join(sorted(values)) or 'none'})")
        return SparkQuery(text, {n: values[n] for n in names}, shown)
    return SparkQuery(translate(request, tables), dict(request.params), "translated")


def spark_error(request: QueryRequest, query: SparkQuery, message: str) -> QueryError:
    """Spark's refusal of a query, naming the KPI (and the override file to write)."""
    if query.origin != "translated":
        return QueryError(f"{query.origin}: {message}", "fix the Spark query; try it with 'pulse query' to iterate")
    return QueryError(f"{_who(request)}: Spark cannot run this query as translated: {message}",
                      f"a construct may have no Spark equivalent: write a Spark version in "
                      f"{_override_shown(request)}; {OVERRIDE_HINT}")
