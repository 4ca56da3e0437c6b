"""KPI, check and ad hoc queries for Spark: DuckDB SQL translated with sqlglot, or a hand-written override.

A query is written once, for DuckDB. On `engine: spark` it is parsed in
DuckDB's dialect and written as Spark SQL by sqlglot when it runs, with
three rules of Pulse's own:

- only one read-only SELECT is run (a query, set operation or CTE); anything
  else (INSERT, CREATE, SET, ATTACH, PRAGMA, COPY, EXPLAIN, several
  statements) is refused by the DuckDB sandbox's own check, DuckDB's parser
  (`pipeline.core.sandbox.check_statement`), in the same words (file,
  statement, why); an override file, Spark SQL, is checked by sqlglot and
  refused in those words too;
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
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.core.engine import QueryRequest
from pipeline.core.errors import QueryError
from pipeline.core.paths import display_path
from pipeline.core.sandbox import SANDBOX_HINT, check_statement, refused_statement, several_statements
from pipeline.core.sql_text import parser_connection

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


# sqlglot's statement nodes as DuckDB names the statement kinds (the sandbox's refusals name them so)
_KINDS = {"Insert": "INSERT", "Update": "UPDATE", "Delete": "DELETE", "Create": "CREATE", "Drop": "DROP",
          "Set": "SET", "Pragma": "PRAGMA", "Merge": "MERGE_INTO", "Alter": "ALTER", "Use": "USE",
          "Attach": "ATTACH", "Detach": "DETACH", "Copy": "COPY", "Describe": "EXPLAIN", "Cache": "CACHE",
          "Uncache": "UNCACHE", "Refresh": "REFRESH", "LoadData": "LOAD", "Transaction": "TRANSACTION",
          "Commit": "TRANSACTION", "Rollback": "TRANSACTION"}


def _kind(node) -> str:
    from sqlglot import exp

    if isinstance(node, exp.Command):  # a statement sqlglot keeps as text: its first word (ADD, EXPLAIN, ...)
        return str(node.this).upper()
    return _KINDS.get(type(node).__name__, type(node).__name__.upper())


def _statements(text: str, statements: list, shown: str, rule: str | None) -> None:
    """The sandbox's statement rule on Spark SQL text (an override file): one statement, and it only
    reads; refused in the words of `pipeline.core.sandbox.check_statement`."""
    from sqlglot import exp

    rule = rule or "a KPI file holds exactly one SELECT"
    for number, tree in enumerate(statements, 1):
        where = f" (statement {number} of {len(statements)})" if len(statements) > 1 else ""
        part = text if len(statements) == 1 else tree.sql(dialect="spark")
        if not isinstance(tree, exp.Query):
            raise refused_statement(shown, part, _kind(tree), rule, where)
        for node in tree.walk():
            if isinstance(node, (exp.DML, exp.DDL, exp.Command, exp.Set, exp.Pragma, exp.Use, exp.Copy)):
                raise refused_statement(shown, part, _kind(node), rule, where)
    if len(statements) > 1:
        raise several_statements(shown, len(statements), statements[1].sql(dialect="spark"), rule)


def _reads_only(tree, request: QueryRequest, tables: Collection[str]) -> None:
    """A query reads only the sources, `periods` and its own CTEs (Spark's counterpart of the sandbox's
    allowed folders: no table function, file path or other table); else a QueryError."""
    from sqlglot import exp

    ctes = {cte.alias.lower() for cte in tree.find_all(exp.CTE)}
    known = {t.lower() for t in tables} | {"periods"}
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise QueryError(f"{_who(request)}: refused: reading files from a query ({table.this.sql()}) is not "
                             "allowed on Spark", "make the files a source in config/sources.yaml; " + SANDBOX_HINT)
        name, schema = table.name.lower(), table.db.lower()
        if schema and schema != "main":
            raise QueryError(f"{_who(request)}: refused: '{table.sql()}' is not a source: a query reads only the "
                             "sources and periods", "make the files a source in config/sources.yaml")
        if name not in known and name not in ctes:
            raise QueryError(f"{_who(request)}: refused: '{table.name}' is not a source (sources: "
                             f"{', '.join(sorted(tables)) or 'none'}, and periods)",
                             "a query reads the sources of config/sources.yaml and the periods table")


def _parse(sql: str, dialect: str, request: QueryRequest, shown: str) -> list:
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        detail = str(exc).splitlines()[0]
        raise QueryError(f"{shown}: cannot parse the query ({dialect} SQL): {detail}",
                         "fix the query; try it with 'pulse query' to iterate") from None
    if not statements:
        raise QueryError(f"{shown}: no SQL statement (empty, or only comments); "
                         f"{request.rule or 'a KPI file holds exactly one SELECT'}",
                         "write the SELECT; see docs/security.md 'The query sandbox'")
    return statements


def _override(request: QueryRequest, tables: Collection[str]):
    """The request's Spark override file, held to the sandbox's rules: (its text, its one statement, its
    path as shown); None when it has none."""
    if request.path is None or not override_path(request.path).is_file():
        return None
    path = override_path(request.path)
    shown = display_path(path)
    text = path.read_text(encoding="utf-8")
    statements = _parse(text, "spark", request, shown)
    _statements(text, statements, shown, request.rule)
    _reads_only(statements[0], replace(request, shown=shown), tables)
    return text, statements[0], shown


def check(request: QueryRequest, tables: Collection[str]) -> None:
    """Refuse anything but one read-only SELECT over the sources, as the DuckDB sandbox does.

    The DuckDB text is checked by DuckDB's own parser (`check_statement`, on a
    private connection that reaches nothing), so the refusal reads the same on
    both engines; an override file, Spark SQL, by sqlglot in the same words.
    EXPLAIN is refused: Spark returns no rows for it.
    """
    if _override(request, tables) is not None:
        return
    if request.rule is not None:
        check_statement(parser_connection(), request.sql, request.shown, request.rule)
    statements = _parse(request.sql, "duckdb", request, _who(request))
    _statements(request.sql, statements, request.shown, request.rule)
    _reads_only(statements[0], request, tables)


MICROS = {"MICROSECOND": 1, "MILLISECOND": 1_000, "SECOND": 1_000_000, "MINUTE": 60_000_000,
          "HOUR": 3_600_000_000}


def _elapsed(node):
    """`date_diff('second' | 'minute' | 'hour' | ..., a, b)`: DuckDB counts the unit's boundaries in elapsed
    time, also across a daylight-saving change; Spark's DATEDIFF(SECOND, ...) counts wall-clock time in the
    session's zone (an hour short across the night summer time ends). Written as whole units of epoch
    microseconds instead."""
    from sqlglot import exp

    if not isinstance(node, exp.DateDiff) or node.text("unit").upper() not in MICROS:
        return node
    size = exp.Literal.number(MICROS[node.text("unit").upper()])

    def units(value):
        micros = exp.Anonymous(this="unix_micros", expressions=[exp.Cast(this=value.copy(),
                                                                         to=exp.DataType.build("TIMESTAMP"))])
        return exp.IntDiv(this=micros, expression=size.copy())

    return exp.Paren(this=exp.Sub(this=units(node.this), expression=units(node.expression)))


def _epoch_us(node):
    """`epoch_us(ts)`, the microseconds of an instant since 1970 (the fast way to elapsed time on DuckDB):
    Spark's `unix_micros` of the same instant (sqlglot would keep the name, which Spark does not know)."""
    from sqlglot import exp

    if not isinstance(node, exp.Anonymous) or node.name.lower() != "epoch_us" or len(node.expressions) != 1:
        return node
    return exp.Anonymous(this="unix_micros", expressions=[
        exp.Cast(this=node.expressions[0].copy(), to=exp.DataType.build("TIMESTAMP"))])


def translate(request: QueryRequest, tables: Collection[str]) -> str:
    """The request's DuckDB SQL as Spark SQL; refused or untranslatable constructs are a QueryError."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError, UnsupportedError

    statements = _parse(request.sql, "duckdb", request, _who(request))
    _statements(request.sql, statements, request.shown, request.rule)
    tree = statements[0]
    _reads_only(tree, request, tables)

    def doubles(node):
        if isinstance(node, exp.Literal) and node.is_number and any(ch in node.this for ch in ".eE"):
            return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
        return node

    for join in tree.find_all(exp.Join):
        method = join.text("method").upper()
        if method in NO_SPARK_JOIN:
            raise QueryError(f"{_who(request)}: has no Spark SQL equivalent: {method} JOIN",
                             f"write a Spark version in {_override_shown(request)}; {OVERRIDE_HINT}")
    tree = tree.transform(doubles).transform(_elapsed).transform(_epoch_us)
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

    override = _override(request, tables)
    if override is not None:
        text, tree, shown = override
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
