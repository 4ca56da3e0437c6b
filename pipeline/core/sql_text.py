"""What a query's text says before it runs: the `$name` parameters it uses and the tables it names.

Comments, string literals and quoted identifiers are skipped, so `'$5'` or
`-- $draft` is not a parameter. The tables are read by DuckDB's own parser
(`get_table_names`, which leaves out the query's CTEs); for that the
parameters are read as NULL literals, as the parser cannot take placeholders.
It runs on a private in-memory connection that can reach no file, network or
extension (not DuckDB's default connection, which would try to install httpfs
for a query naming a URL).
"""

from __future__ import annotations

import atexit
import json
import re
import threading
from collections.abc import Mapping
from datetime import date
from functools import lru_cache

import duckdb

_NAMED = r"\$([A-Za-z_][A-Za-z0-9_]*)"  # a parameter; group 1 its name
_QUOTED = r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'"
_PARAM = re.compile(_NAMED)
_COMMENT_OR_STRING = re.compile(_QUOTED, re.S)
_ALIAS = re.compile(r" AS .*$", re.S)  # get_table_names(qualified=True) gives "sales AS s"
_QUOTED_OR_PARAM = re.compile(rf'{_QUOTED}|"(?:[^"]|"")*"|{_NAMED}', re.S)


def query_parameters(sql: str) -> list[str]:
    """Names of the `$name` parameters a query uses (outside comments and strings)."""
    stripped = _COMMENT_OR_STRING.sub(" ", sql)
    return sorted(set(_PARAM.findall(stripped)))


_PARSER: list[duckdb.DuckDBPyConnection] = []  # the one parser connection, once opened
_PARSER_LOCK = threading.Lock()


def _parser() -> duckdb.DuckDBPyConnection:
    """An in-memory connection for parsing only: no external access, no extensions on demand."""
    with _PARSER_LOCK:
        if not _PARSER:
            con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                                     "autoload_known_extensions": False})
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            _PARSER.append(con)
        return _PARSER[0]


def open_parser_early() -> None:
    """Open the parser's database in a thread, so that a command's first `tables_named` does not wait for it.

    Starting a DuckDB database takes 30-50 ms, nearly all of it outside the GIL: a
    command that reads its config meanwhile (`pulse kpis`, `pulse okrs`) finds it
    ready. The thread is joined at exit, so no database is left starting then."""
    if _PARSER:  # opened already (a second command in one process, as the tests run them)
        return
    thread = threading.Thread(target=_parser, name="pulse-parser", daemon=True)
    thread.start()
    atexit.register(thread.join)


def parser_connection() -> duckdb.DuckDBPyConnection:
    """DuckDB's parser on a connection that reaches no file, network or extension (for checking SQL
    that another engine runs; see `pipeline.core.sandbox.check_statement`)."""
    return _parser()


@lru_cache(maxsize=256)
def tables_named(sql: str) -> frozenset[str] | None:
    """The tables and views the query reads, as written without their aliases (`sales`, `main.sales`,
    `"Odd Name"`), its CTEs left out; None when DuckDB cannot parse it as one statement. Kept per text: a
    command asks it of each KPI's query, and KPIs sharing a query file ask it of the same text."""
    parseable = _QUOTED_OR_PARAM.sub(lambda m: "NULL" if m.group(1) else m.group(), sql)
    try:
        named = _parser().get_table_names(parseable, qualified=True)
    except (duckdb.Error, RuntimeError):
        return None
    return frozenset(_ALIAS.sub("", name) for name in named)


def shown_with_values(sql: str, values: Mapping[str, object]) -> str:
    """The query as a reader should see it: each `$name` with a value replaced by that value, the name kept in
    a comment (`24 /* $sla_hours */`). For display only (the methodology appendix): queries always run with
    their values bound as parameters, never with this text."""

    def shown(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None or name not in values:
            return match.group()
        return f"{_literal(values[name])} /* ${name} */"

    return _QUOTED_OR_PARAM.sub(shown, sql)


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def has_order_by(sql: str) -> bool:
    """Whether the query's result has an order of its own (a top-level ORDER BY); False when DuckDB's
    parser cannot say (then it is not a plain SELECT)."""
    parseable = _QUOTED_OR_PARAM.sub(lambda m: "NULL" if m.group(1) else m.group(), sql)
    con = duckdb.connect(":memory:")
    try:
        found = con.execute("SELECT json_serialize_sql($sql)", {"sql": parseable}).fetchall()[0][0]
    except duckdb.Error:
        return False
    finally:
        con.close()
    tree = json.loads(found)
    if tree.get("error") or not tree.get("statements"):
        return False
    modifiers = tree["statements"][-1].get("node", {}).get("modifiers", [])
    return any(m.get("type") == "ORDER_MODIFIER" for m in modifiers)
