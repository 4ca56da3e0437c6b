"""The warm start: skip bringing the sources up to date when nothing they depend on has changed.

Opening a project normally opens the working database read-write and asks
ingest to compare every export with what it loaded (see
`pipeline.sources.ingest`). When that finds nothing to do, its report is
saved here (`<workdir>/warm.json`) with a key over everything the answer
depends on:

- the content of every file under config/ (sources, settings, time zone);
- every export file the sources' paths match now: path, size, mtime_ns and inode
  (a new, removed, renamed or rewritten export changes it);
- the working database and its write-ahead log: size, mtime_ns and inode
  (any write to it since, by any command, changes it);
- Pulse's own code (size and mtime_ns of every module of the `pipeline` package: another
  version may keep its tables differently) and this file's format.

The next command whose key is the same takes the saved report (each source's
files, fingerprint and first and last event) instead of opening the database
read-write. Anything else
(a missing, unreadable or different file) is the normal path, which writes a
new state when it again finds nothing to do. Never a stale answer: a changed
input always means the key differs.

Beside the report, the state keeps what a warm `pulse query` needs from the
config as plain values (`ProjectFacts`: settings, the sandbox's rules, each
KPI's query file and parameters, each source's paths, checks and contract),
written from the validated config. Since the key covers every file under
config/, the facts are current whenever the key is: `load_facts` reads them
back without importing the config models (pydantic), which is most of a quick
command's start (see `pipeline.app.query`). It looks in the default working
folder (`.pulse/`) only: it cannot know another `workdir` without the config.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.engine import FileLoad, IngestReport, SourceRange, SourceSummary
from pipeline.core.sandbox import SandboxRules
from pipeline.core.tables import STORAGE_LAYOUT
from pipeline.sources.paths import match_paths, sandbox_rules

if TYPE_CHECKING:
    from pipeline.config import ProjectConfig

FORMAT = 3
FILE_NAME = "warm.json"
DEFAULT_WORKDIR = ".pulse"  # where `load_facts` looks (the default of project.workdir)
PACKAGE = Path(__file__).resolve().parents[1]  # the pipeline package


@dataclass(frozen=True)
class WarmState:
    """What an ingest that found nothing to do reported."""

    ingest: IngestReport
    cache_ready: bool  # the result cache's tables were prepared on that run


@dataclass(frozen=True)
class SourceFacts:
    """A source as a warm command needs it."""

    paths: tuple[str, ...]
    contract: object  # the source's config as JSON values (what the result cache keys on)
    checks: object  # its checks' config as JSON values
    event_column: str | None
    grace_days: int  # freshness.grace_days: how much of a period's edge may be missing


@dataclass(frozen=True)
class ProjectFacts:
    """What a warm command needs from config/, as plain values; paths relative to the project folder
    (`root`: where the project is found this time)."""

    root: str
    workdir: str  # project.workdir
    timezone: str
    fiscal_year_start: int
    memory_limit: str | None
    threads: int | None
    allow_outside_paths: bool
    sandbox: SandboxRules
    kpi_queries: dict[str, str]  # KPI id -> its query file, under queries/
    kpi_params: dict[str, dict[str, str | int | float | bool]]
    kpi_columns: dict[str, tuple[str, str]]  # KPI id -> its value and sample columns
    sources: dict[str, SourceFacts]  # in config order

    @property
    def workdir_path(self) -> Path:
        return Path(self.root) / self.workdir

    @property
    def queries_dir(self) -> Path:
        return Path(self.root) / "queries"

    @property
    def database(self) -> Path:
        return self.workdir_path / "pulse.duckdb"


def facts_of(config: ProjectConfig) -> ProjectFacts:
    """The facts of a validated config."""
    settings = config.project
    sources = {name: SourceFacts(tuple(s.paths), s.model_dump(mode="json"), s.checks.model_dump(mode="json"),
                                 s.event_column, s.checks.freshness.grace_days)
               for name, s in config.sources.items()}
    return ProjectFacts(
        root=str(config.root), workdir=settings.workdir, timezone=settings.timezone,
        fiscal_year_start=settings.fiscal_year_start, memory_limit=settings.memory_limit, threads=settings.threads,
        allow_outside_paths=settings.allow_outside_paths, sandbox=sandbox_rules(config),
        kpi_queries={k: str(config.query_path(k).relative_to(config.queries_dir)) for k in config.kpis},
        kpi_params={k: dict(kpi.params) for k, kpi in config.kpis.items()},
        kpi_columns={k: (kpi.value, kpi.sample) for k, kpi in config.kpis.items()}, sources=sources)


def _facts_from(saved: dict, root: Path) -> ProjectFacts:
    """The saved facts, for the project found at `root`."""
    saved = {**saved, "root": str(root)}
    sources = {name: SourceFacts(**{**s, "paths": tuple(s["paths"])}) for name, s in saved["sources"].items()}
    rules = SandboxRules(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved["sandbox"].items()})
    return ProjectFacts(**{**saved, "sources": sources, "sandbox": rules})


def _stat(path: Path) -> list[int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_size, found.st_mtime_ns, found.st_ino]


def state_key(facts: ProjectFacts) -> str | None:
    """The key over every input of ingest (see the module docstring); None if a source's paths have a
    problem (the normal path reports it)."""
    root = Path(facts.root)
    config_dir = root / "config"
    parts: dict[str, object] = {"format": FORMAT, "layout": STORAGE_LAYOUT, "root": str(root.resolve())}
    parts["config"] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                       for p in sorted(config_dir.iterdir()) if p.is_file()}
    exports: dict[str, list] = {}
    for name, source in facts.sources.items():
        files, problems = match_paths(root, name, list(source.paths), facts.allow_outside_paths)
        if problems:
            return None
        exports[name] = [[str(f), _stat(f)] for f in files]
    parts["exports"] = exports
    parts["code"] = hashlib.sha256(json.dumps(
        [[str(p.relative_to(PACKAGE)), _stat(p)] for p in sorted(PACKAGE.rglob("*.py"))]).encode()).hexdigest()
    database = facts.database
    parts["database"] = [_stat(database), _stat(database.with_name(database.name + ".wal"))]
    if parts["database"][0] is None:
        return None
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _read(workdir: Path, use_cache: bool) -> tuple[dict, WarmState] | None:
    """The saved payload and state, if the file is this format (and prepared the cache when it is used)."""
    saved = json.loads((workdir / FILE_NAME).read_text(encoding="utf-8"))
    if saved.get("format") != FORMAT or (use_cache and not saved["cache_ready"]):
        return None
    report = IngestReport(files=tuple(FileLoad(**f) for f in saved["files"]),
                          sources=tuple(_summary(s) for s in saved["sources"]))
    return saved, WarmState(report, bool(saved["cache_ready"]))


def load(config: ProjectConfig, use_cache: bool) -> WarmState | None:
    """The saved state if its key is still the project's key, else None."""
    try:
        found = _read(config.workdir, use_cache)
        if found is None or found[0]["key"] != state_key(facts_of(config)):
            return None
        return found[1]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_facts(root: Path) -> tuple[ProjectFacts, WarmState] | None:
    """The saved facts and state of the project at `root`, read without the config models, if its key is
    still the project's key (with the result cache prepared), it is kept in the default working folder and
    every KPI's query file is there (the one check of the config's that reads outside config/)."""
    workdir = root / DEFAULT_WORKDIR
    try:
        found = _read(workdir, use_cache=True)
        if found is None:
            return None
        saved, state = found
        facts = _facts_from(saved["facts"], root)
        if facts.workdir_path != workdir or saved["key"] != state_key(facts):
            return None
        if not all((facts.queries_dir / file).is_file() for file in facts.kpi_queries.values()):
            return None
        return facts, state
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _summary(saved: dict) -> SourceSummary:
    """A source's summary read back; its coverage's days from their ISO text."""
    coverage = saved.pop("coverage", None)
    found = SourceRange(coverage["source"], coverage["column"], _day(coverage["first"]), _day(coverage["last"])) \
        if coverage else None
    return SourceSummary(**saved, coverage=found)


def save(config: ProjectConfig, state: WarmState) -> None:
    """Keep `state` for the next command, if ingest found nothing to do (else remove any saved state)."""
    path = config.workdir / FILE_NAME
    unchanged = (all(f.status == "unchanged" for f in state.ingest.files)
                 and all(s.path == "unchanged" for s in state.ingest.sources))
    facts = facts_of(config) if unchanged else None
    key = state_key(facts) if facts is not None else None
    if key is None or facts is None:
        path.unlink(missing_ok=True)
        return
    payload = {"format": FORMAT, "key": key, "cache_ready": state.cache_ready,
               "files": [asdict(f) for f in state.ingest.files],
               "sources": [asdict(s) for s in state.ingest.sources],  # dates as ISO text (default=str)
               "facts": asdict(facts)}
    partial = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    try:
        partial.write_text(json.dumps(payload, default=str), encoding="utf-8")
        os.replace(partial, path)
    except OSError:  # a read-only working folder: no warm start, nothing else changes
        partial.unlink(missing_ok=True)
