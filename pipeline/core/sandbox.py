"""The query sandbox: the connection KPI, check and ad hoc queries run on.

Only ingest writes the working database, on its own read-write connection that
is closed before any query runs. Every other query runs on a connection that
DuckDB itself holds in (see docs/security.md "The query sandbox"):

- the database file is opened read-only: no CREATE, DROP, INSERT, ... on it,
  however the statement is spelt;
- `enable_external_access = false` with `allowed_directories` /
  `allowed_paths`: files are read only under the folders the sources' paths
  start from and queries/ (any local file with `allow_outside_paths: true`);
  no ATTACH, no INSTALL, no network;
- extensions are neither installed nor loaded on demand, and Python variables
  are not scanned as tables (`python_enable_replacements = false`);
- `lock_configuration = true` last, so no statement can change a setting back
  (SET, RESET, PRAGMA, or a function that changes one).

The statement is classified by DuckDB's parser before it runs
(`check_statement`): exactly one SELECT (or, for `pulse query`, EXPLAIN of
one), and no part of its parse tree that is not a query: DuckDB accepts
COPY ... TO and INSERT/UPDATE/DELETE inside a WITH clause of a SELECT, and the
folders a query may read from are writable to COPY. Functions that run SQL
given as text are refused too. The query then runs in a transaction that is
rolled back, so the one writable thing on the connection (the TEMP `periods`
table) is as before, and past its time limit it is interrupted
(`run_limited`).

Settings DuckDB takes only before the lock (`nested_loop_join_threshold`,
sized for the periods window) are given when the connection opens;
`Sandbox.configure` reopens it when they change. It opens with a threshold
that covers windows of up to `NESTED_LOOP_ROWS` periods, so a run's checks
and KPI queries share one connection and what it has read into memory.

KPI queries run two at a time (`Sandbox.cursors`): the extra connection is a
cursor of the same database, under the same lock and limits, with the time
zone set for the database as a whole. TEMP tables are each connection's own,
so what `Sandbox.prepare` was given (the `periods` table) is made on each.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .database import first_line
from .errors import QueryError, WorkdirError

SANDBOX_HINT = "queries run read-only in a sandbox; see docs/security.md 'The query sandbox'"
# query nodes of DuckDB's parse tree that only read (json_serialize_sql); COPY_QUERY_NODE,
# INSERT_QUERY_NODE, UPDATE_QUERY_NODE, DELETE_QUERY_NODE and anything new are refused
READING_NODES = {"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"}
# functions that run SQL given to them as text or as a serialized plan, out of the checker's sight
RUNS_SQL = {"query", "json_execute_serialized_sql"}
_WORD = re.compile(r"[A-Za-z]*")

_WHY = {
    "COPY": "it writes files",
    "EXPORT": "it writes the database to files",
    "COPY_DATABASE": "it copies a database",
    "ATTACH": "it opens another database",
    "DETACH": "it closes a database",
    "LOAD": "it installs or loads an extension",
    "EXTENSION": "it installs or loads an extension",
    "SET": "it changes a setting",
    "VARIABLE_SET": "it changes a setting",
    "PRAGMA": "it runs a pragma, which changes settings or the database",
    "CALL": "it calls a procedure, which changes settings or the database",
    "TRANSACTION": "it controls transactions",
    "PREPARE": "it prepares other statements",
    "EXECUTE": "it executes other statements",
    "EXPLAIN": "it explains a query instead of returning its rows",
    "MULTI": "it runs several statements (a PIVOT without an IN list creates a type first: "
             "list the values, PIVOT ... ON column IN (...))",
}
_CHANGES = "it changes the database"  # INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, VACUUM, ANALYZE, MERGE_INTO, ...


@dataclass(frozen=True)
class SandboxRules:
    """What SQL on the sandboxed connection may reach besides the database."""

    read_dirs: tuple[str, ...] = ()  # folders (and everything under them) a query may read
    read_files: tuple[str, ...] = ()  # single files a query may read
    outside: bool = False  # any local file may be read (project.allow_outside_paths)
    network: bool = False  # DuckDB's external access stays on (project.allow_network)


# joins to a table of up to this many rows (the periods of a window) compare every row with every row
# (DuckDB's nested_loop_join_threshold, default 5; see kpis.queries.register_periods)
NESTED_LOOP_ROWS = 64


class Sandbox:
    """The read-only, locked connection to the working database, opened when first used."""

    def __init__(self, path: Path, timezone: str, rules: SandboxRules, memory_limit: str | None = None,
                 threads: int | None = None) -> None:
        self.path = path
        self.timezone = timezone
        self.rules = rules
        self.memory_limit = memory_limit
        self.threads = threads
        self._options: dict[str, object] = {"nested_loop_join_threshold": NESTED_LOOP_ROWS}
        self._con: duckdb.DuckDBPyConnection | None = None
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self._open()
        return self._con

    def configure(self, **options: object) -> duckdb.DuckDBPyConnection:
        """The connection with these start-up settings (e.g. nested_loop_join_threshold); reopened
        when they differ from the open one's, as the configuration is locked."""
        if options != self._options:
            self.close()
            self._options = dict(options)
        return self.con

    def prepare(self, step: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
        """Run `step` (e.g. create the TEMP `periods` table) on the connection now and on every cursor
        `cursors` opens from now on; cursors opened before are closed."""
        self._close_cursors()
        self._prepare = step
        step(self.con)

    def cursors(self, count: int) -> list[duckdb.DuckDBPyConnection]:
        """`count` connections to run queries at once, each to be used by one thread at a time: the sandbox's
        own and cursors of it (same database, settings, lock and limits), prepared as `prepare` says."""
        connections = [self.con]
        while len(self._cursors) < count - 1:
            cursor = self.con.cursor()
            if self._prepare is not None:
                self._prepare(cursor)
            self._cursors.append(cursor)
        return connections + self._cursors[:count - 1]

    def _close_cursors(self) -> None:
        for cursor in self._cursors:
            cursor.close()
        self._cursors = []

    def close(self) -> None:
        self._close_cursors()
        self._prepare = None
        if self._con is not None:
            self._con.close()
            self._con = None

    def _open(self) -> duckdb.DuckDBPyConnection:
        config: dict[str, object] = {
            **self._options,  # Pulse's own start-up settings; the guards below come last
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": self.rules.network,
            "python_enable_replacements": False,
        }
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        if self.threads:
            config["threads"] = self.threads
        try:
            con = duckdb.connect(str(self.path), read_only=True, config=config)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            raise WorkdirError(
                f"{self.path}: cannot open the working database for queries: {first_line(exc)}",
                "another pulse command may be running on this project; wait for it",
            ) from None
        except duckdb.Error as exc:
            raise WorkdirError(f"config/pulse.yaml: project: memory_limit / threads: {first_line(exc)}",
                               "use a size such as 1.5GB and a whole number of threads") from None
        try:
            con.execute("SET GLOBAL TimeZone = $tz", {"tz": self.timezone})  # GLOBAL: its cursors' too
            if not self.rules.network:
                dirs = ["/"] if self.rules.outside else list(self.rules.read_dirs)
                if dirs:
                    con.execute("SET allowed_directories = $d", {"d": dirs})
                if self.rules.read_files and not self.rules.outside:
                    con.execute("SET allowed_paths = $p", {"p": list(self.rules.read_files)})
                con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        except BaseException:
            con.close()
            raise
        return con


def folder_rule(path: str | Path) -> list[str]:
    """A folder as `allowed_directories` entries: as written and resolved (symlinks), with a final '/'."""
    lexical = os.path.normpath(os.path.abspath(path))
    return sorted({os.path.join(lexical, ""), os.path.join(os.path.realpath(lexical), "")})


# -- the statement ---------------------------------------------------------------------------
def check_statement(con: duckdb.DuckDBPyConnection, sql: str, shown: str, rule: str,
                    explain: bool = False) -> None:
    """Refuse (QueryError) anything but exactly one read-only SELECT; with `explain`, also EXPLAIN
    [ANALYZE] of one. `rule` ends each refusal ("a KPI file holds exactly one SELECT")."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.ParserException as exc:
        line = re.search(r"LINE (\d+):", str(exc))
        raise QueryError(f"{shown}{':' + line.group(1) if line else ''}: {first_line(exc)}",
                         "fix the query; try it with 'pulse query' to iterate") from None
    if not statements:
        raise QueryError(f"{shown}: no SQL statement (empty, or only comments); {rule}",
                         "write the SELECT; see docs/security.md 'The query sandbox'")
    for number, statement in enumerate(statements, 1):
        where = f" (statement {number} of {len(statements)})" if len(statements) > 1 else ""
        try:
            kind = statement.type.name
        except ValueError:  # a type the Python API has no name for (e.g. UPDATE EXTENSIONS)
            raise QueryError(f"{shown}: refused{where}: '{first_words(statement.query)}' is a statement DuckDB does "
                             f"not classify as a query; {rule}", SANDBOX_HINT) from None
        if kind == "SELECT" or (kind == "EXPLAIN" and explain):
            continue
        raise refused_statement(shown, statement.query, kind, rule, where)
    if len(statements) > 1:
        raise several_statements(shown, len(statements), statements[1].query, rule)
    text = statements[0].query
    if statements[0].type.name == "EXPLAIN":
        text = _explained(con, text, shown, rule)
    _check_tree(con, text, shown)


def refused_statement(shown: str, text: str, kind: str, rule: str, where: str = "") -> QueryError:
    """The refusal of a statement that is not a SELECT: file, statement, why (DuckDB's statement
    kind, e.g. COPY, SET, INSERT); other engines word their refusals with it too."""
    return QueryError(f"{shown}: refused{where}: '{first_words(text)}' is a {kind} statement, and "
                      f"{_WHY.get(kind, _CHANGES)}; {rule}", SANDBOX_HINT)


def several_statements(shown: str, count: int, second: str, rule: str) -> QueryError:
    """The refusal of text holding more than one statement."""
    return QueryError(f"{shown}: refused: {count} statements (the second: '{first_words(second)}'); {rule}",
                      "remove the other statements (a ';' ends one); see docs/security.md 'The query sandbox'")


def _explained(con, text: str, shown: str, rule: str) -> str:
    """The statement an EXPLAIN [ANALYZE] explains, which must be one SELECT itself."""
    starts = [start for start, kind in duckdb.tokenize(text) if kind != duckdb.token_type.comment]
    words = [_WORD.match(text, start).group().upper() for start in starts]
    skip = 1 + (len(words) > 1 and words[1] in ("ANALYZE", "ANALYSE"))
    inner = text[starts[skip]:] if len(starts) > skip else ""
    try:
        statements = con.extract_statements(inner)
    except (duckdb.Error, ValueError):
        statements = []
    if len(statements) != 1 or statements[0].type.name != "SELECT":
        raise QueryError(f"{shown}: refused: '{first_words(text)}' does not explain a SELECT; {rule}",
                         SANDBOX_HINT)
    return statements[0].query


def _check_tree(con, text: str, shown: str) -> None:
    """DuckDB's parse tree of a SELECT: every query node reads, no function runs SQL from text."""
    found = con.execute("SELECT json_serialize_sql($q)", {"q": text}).fetchall()[0][0]
    tree = json.loads(found)
    if tree.get("error"):
        raise QueryError(f"{shown}: refused: DuckDB cannot list the parts of '{first_words(text)}' to check "
                         f"that it only reads ({tree.get('error_message', 'no reason given')})", SANDBOX_HINT)
    nodes, functions = set(), set()
    _walk(tree, nodes, functions)
    writing = sorted(n for n in nodes if n.endswith("_NODE") and n not in READING_NODES)
    if writing:
        kind = writing[0].removesuffix("_QUERY_NODE").removesuffix("_NODE")
        raise QueryError(f"{shown}: refused: '{first_words(text)}' holds a {kind} in a WITH clause, and "
                         f"{_WHY.get(kind, _CHANGES)}; a query may only read", SANDBOX_HINT)
    running = sorted(functions & RUNS_SQL)
    if running:
        raise QueryError(f"{shown}: refused: '{first_words(text)}' calls {running[0]}(), which runs SQL given "
                         "as text, out of the checker's sight", SANDBOX_HINT)


def _walk(node: object, nodes: set[str], functions: set[str]) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if isinstance(kind, str):
            nodes.add(kind)
        name = node.get("function_name")
        if isinstance(name, str):
            functions.add(name.lower())
        for value in node.values():
            _walk(value, nodes, functions)
    elif isinstance(node, list):
        for value in node:
            _walk(value, nodes, functions)


def first_words(text: str, limit: int = 60) -> str:
    """A statement as a message shows it: without comments, on one line, shortened."""
    tokens = [start for start, kind in duckdb.tokenize(text) if kind != duckdb.token_type.comment]
    start = tokens[0] if tokens else 0
    words = " ".join(re.sub(r"--[^\n]*|/\*.*?\*/", " ", text[start:], flags=re.S).split()).rstrip(";").strip()
    return words if len(words) <= limit else words[:limit - 1].rstrip() + "…"


# -- running it ------------------------------------------------------------------------------
class TimeLimitReached(Exception):
    """The query ran past its time limit and was interrupted."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"interrupted after {seconds:g} s")
        self.seconds = seconds


def run_limited(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object],
                seconds: float | None) -> tuple[list[str], list[tuple]]:
    """Run one checked statement and fetch its rows, in a transaction that is rolled back.

    Past `seconds` (None: no limit) DuckDB is interrupted from a timer thread
    and TimeLimitReached is raised; DuckDB's own errors pass through.
    """
    lock = threading.Lock()
    state = {"running": True, "fired": False}

    def stop() -> None:
        with lock:
            if state["running"]:
                state["fired"] = True
                con.interrupt()

    timer = threading.Timer(seconds, stop) if seconds else None
    con.execute("BEGIN TRANSACTION")
    try:
        if timer is not None:
            timer.daemon = True
            timer.start()
        cursor = con.execute(sql, params)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        rows = cursor.fetchall() if cursor.description else []
    except duckdb.InterruptException:
        if state["fired"]:
            raise TimeLimitReached(seconds or 0) from None
        raise
    finally:
        with lock:
            state["running"] = False
        if timer is not None:
            timer.cancel()
        con.execute("ROLLBACK")
    return columns, rows
