"""`pulse validate`: config, exports, SQL and SMART checks, every problem at once.

Runs as far as it can, and one problem never hides another: config problems
of every file (then the valid rest of the config is used for what follows, see
`config.project.check_project`); every source's path patterns and exports (a
source that cannot be loaded is left out, the others load); every KPI query
over a window, in the query sandbox as in a run (a source that could not be
loaded is an empty table of its column contract, so the query's own errors
still show; a refused query is listed like any other); then the SMART lint of
every key result. Errors make the exit code 1; warnings alone 0; a folder that
is not a project is exit code 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from pipeline.config import ProjectConfig, SourceConfig
from pipeline.config.delivery import DeliveryFile, collect_delivery_problems
from pipeline.config.okrs import cycle_dates
from pipeline.config.project import check_project
from pipeline.config.yaml_doc import load_yaml
from pipeline.core import database
from pipeline.core.database import quote_ident
from pipeline.core.engine import Engine, SourceRange
from pipeline.core.errors import ConfigError, PulseError
from pipeline.core.paths import display_path
from pipeline.core.periods import Calendar, Grain, Period, today_in
from pipeline.core.result_cache import sources_read
from pipeline.kpis import queries as kpis
from pipeline.kpis.segments import burst_problems
from pipeline.okrs.checkins import load_checkins
from pipeline.okrs.cycles import kr_ids
from pipeline.okrs.smart_lint import Finding, lint_cycle_dates, lint_key_result
from pipeline.sources import ingest as sources

from .workspace import open_engine, open_sandbox

HISTORY_PERIODS = 60  # how far back the Achievable check looks


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" or "warning"
    message: str
    hint: str = ""

    def line(self) -> str:
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.severity}: {self.message}{hint}"


def validate_project(root: Path, now: datetime | None = None) -> list[Problem]:
    _require_project(root)
    config, config_problems = check_project(root)
    problems = [Problem("error", p.message, p.hint or "") for p in config_problems]
    if config is None:
        return problems + [Problem("warning", "exports and queries were not checked: the config above could not "
                                              "be read far enough", "fix the errors above and run pulse validate again")]
    delivery, delivery_problems = collect_delivery_problems(config)
    problems += [Problem("error", p.message, p.hint or "") for p in delivery_problems]
    problems += _plaintext_auth(delivery)
    unchecked = _broken_sources(config)
    loadable = replace(config, sources={n: s for n, s in config.sources.items() if n not in unchecked})
    try:
        sandbox = open_sandbox(loadable)
        engine = open_engine(loadable, sandbox)  # DuckDB or Spark, as config/pulse.yaml says
    except PulseError as exc:
        return problems + [Problem("error", exc.message, exc.hint or "")]
    try:
        try:  # ingest, the only writer, on its own connection
            con = database.connect_project(loadable)
        except PulseError as exc:
            return problems + [Problem("error", exc.message, exc.hint or "")]
        try:
            if engine.kind == "duckdb":  # every source that can load, loads; every source's problems at once
                ingested, failed = sources.ingest_each(con, loadable)
                problems += [Problem("error", p.message, p.hint or "") for found in failed.values() for p in found]
            else:  # Spark reads every source on each run: its first problem stops the queries
                ingested = engine.load_sources(con, lambda _message: None)
        except PulseError as exc:
            return problems + [Problem("error", exc.message, exc.hint or "")]
        finally:
            con.close()
        # every KPI query runs under the sandbox's rules, as in a run (see pipeline.core.sandbox)
        calendar = Calendar(Grain.MONTH, config.project.fiscal_year_start)
        last = calendar.shift(calendar.containing(today_in(config.project.timezone, now)), -1)
        window = calendar.window(last, HISTORY_PERIODS - 1)
        history: dict[str, list[float | None]] = {}
        returned: dict[str, kpis.KpiSeries] = {}
        try:
            engine.register_periods(window)
        except PulseError as exc:
            return problems + [Problem("error", exc.message, exc.hint or "")]
        if engine.kind == "duckdb":
            _empty_tables(sandbox.con, loadable)
        runnable: dict[Path, list[str]] = {}  # the KPIs of each query file, run together
        for kpi_id in config.kpis:
            skipped = _skipped(config, kpi_id, unchecked)
            if skipped is not None:
                problems.append(skipped)
            else:
                runnable.setdefault(config.query_path(kpi_id), []).append(kpi_id)
        for ids in runnable.values():
            found, errors = _run_query_kpis(engine, config, ids, window, last, ingested.coverage)
            problems += errors
            for kpi_id, series in found.items():
                history[kpi_id] = [series.values[p.start] for p in window]
                returned[kpi_id] = series
        for report_name, report in config.reports.items():  # a burst report's KPIs return its burst_by column
            problems += [Problem("error", p.message, p.hint or "")
                         for p in burst_problems(returned, report_name, report, config)]
        problems.extend(_okr_problems(config, calendar, window, history))
    finally:
        try:
            engine.close()
        finally:
            sandbox.close()
    return problems


LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _plaintext_auth(delivery: DeliveryFile | None) -> list[Problem]:
    """smtp.allow_plaintext_auth for a server that is not on this machine: the password crosses the network."""
    smtp = delivery.smtp if delivery is not None else None
    if smtp is None or not smtp.plaintext_auth or smtp.host in LOOPBACK or smtp.host.startswith("127."):
        return []
    return [Problem("warning", f"config/delivery.yaml: smtp.allow_plaintext_auth: the password for {smtp.username} "
                               f"goes to {smtp.host} over an unencrypted connection",
                    "allow it only for a relay on this machine; use security: starttls or ssl for a remote server")]


def _require_project(root: Path) -> None:
    """A folder that is not a project cannot be validated: exit code 2, not a list of problems."""
    if not root.is_dir():
        raise ConfigError(f"{display_path(root)}: no such folder", "pass the project folder with --project DIR")
    if not (root / "config").is_dir():
        raise ConfigError(f"{display_path(root)}: not a Pulse project (it has no config/ folder)",
                          "run pulse validate inside a project folder or pass --project DIR")


def _empty_tables(con, config: ProjectConfig) -> None:
    """A source never loaded (its exports have problems) as an empty temporary table of its column
    contract, so KPI queries reading it still show their own errors; nothing is written to the database."""
    present = {row[0].lower() for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    for name, source in config.sources.items():
        if name.lower() in present:
            continue
        columns = ", ".join(f"{quote_ident(c)} {sources.SQL_TYPES[spec.type]}" for c, spec in source.columns.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} ({columns})")


def _broken_sources(config: ProjectConfig) -> set[str]:
    """Sources of sources.yaml with config errors (listed above): left out, or salvaged with a contract that
    is not the one written. They are not loaded (a load would rebuild the table to the wrong contract)."""
    try:
        declared = load_yaml(config.root / "config" / "sources.yaml").data.get("sources") or {}
    except (ConfigError, AttributeError):
        return set()
    if not isinstance(declared, dict):
        return set()
    broken = set()
    for name, entry in declared.items():
        try:
            SourceConfig.model_validate(entry)
        except ValidationError:
            broken.add(str(name))
    return broken | ({str(name) for name in declared} - set(config.sources))


def _run_query_kpis(engine: Engine, config: ProjectConfig, ids: list[str], window: list[Period], last: Period,
                    ranges: Mapping[str, SourceRange]) -> tuple[dict[str, kpis.KpiSeries], list[Problem]]:
    """The series of the KPIs reading one query file, executed once, and the problems found: the query's
    own once, not once per KPI sharing it, and each KPI's own (a parameter, a column), each message once."""
    errors: dict[str, PulseError] = {}
    try:
        found = kpis.run_kpis(engine, config, ids, window, last, ranges=ranges, errors=errors)
    except PulseError as exc:
        return {}, [Problem("error", exc.message, exc.hint or "")]
    problems: dict[str, Problem] = {}
    for exc in errors.values():
        problems.setdefault(exc.message, Problem("error", exc.message, exc.hint or ""))
    return found, list(problems.values())


def _skipped(config: ProjectConfig, kpi_id: str, broken: set[str]) -> Problem | None:
    """A warning for a KPI query that reads a source left out for its config errors (not run)."""
    if not broken:
        return None
    path = config.query_path(kpi_id)
    try:
        sql = path.read_text(encoding="utf-8")
    except OSError:
        return None
    read = set(sources_read(sql, [*config.sources, *broken]) or [])
    if not read & broken:
        return None
    return Problem("warning", f"{display_path(path)}: not run: it reads source '{sorted(read & broken)[0]}', "
                              f"which has config errors above", "fix them and run pulse validate again")


def _okr_problems(config: ProjectConfig, calendar: Calendar, window, history) -> list[Problem]:
    okrs = config.okrs
    if okrs is None:
        return []
    findings: list[Finding] = []
    checked_krs: set[str] = set()
    if okrs.checkins:
        all_ids = set().union(*(kr_ids(c) for c in okrs.cycles.values()))
        try:
            checked_krs = {c.kr_id for c in load_checkins(config.root / okrs.checkins, all_ids)}
        except PulseError as exc:
            findings.append(Finding("error", "checkins", exc.message, exc.hint or ""))
    starts = [p.start for p in window]
    for cycle_name, cycle in okrs.cycles.items():
        findings.extend(lint_cycle_dates(cycle_name, cycle))
        dates = cycle_dates(cycle_name, cycle, config.project.fiscal_year_start)
        length = None
        baseline_index = None
        if dates is not None:
            first = calendar.containing(dates[0])
            length = 0
            current = first
            while current.start < dates[1]:
                length += 1
                current = calendar.shift(current, 1)
            before = calendar.shift(first, -1).start
            baseline_index = starts.index(before) if before in starts else None
        for objective_id, objective in cycle.objectives.items():
            for kr_id, kr in objective.key_results.items():
                key = f"cycles.{cycle_name}.objectives.{objective_id}.key_results.{kr_id}"
                values = history.get(kr.kpi, []) if kr.kpi else []
                if isinstance(kr.baseline, (int, float)):
                    baseline = float(kr.baseline)
                elif baseline_index is not None and values:
                    baseline = values[baseline_index]
                else:
                    baseline = None
                # history up to the cycle's start only: the cycle's own periods are not "history"
                past = values[:baseline_index + 1] if baseline_index is not None else values
                findings.extend(lint_key_result(key, kr, config, past, length, baseline, kr_id in checked_krs))
    doc = load_yaml(config.root / "config" / "okrs.yaml")
    return [Problem(f.severity, f"{doc.where(f.key)}: {f.key}: {f.message}" if f.key != "checkins" else f.message,
                    f.hint) for f in findings]
