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
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from pipeline.config import ProjectConfig
from pipeline.core.engine import FileLoad, IngestReport, SourceRange, SourceSummary
from pipeline.sources.ingest import STORAGE_LAYOUT
from pipeline.sources.paths import match_paths

FORMAT = 2
FILE_NAME = "warm.json"
PACKAGE = Path(__file__).resolve().parents[1]  # the pipeline package


@dataclass(frozen=True)
class WarmState:
    """What an ingest that found nothing to do reported."""

    ingest: IngestReport
    cache_ready: bool  # the result cache's tables were prepared on that run


def _stat(path: Path) -> list[int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_size, found.st_mtime_ns, found.st_ino]


def state_key(config: ProjectConfig) -> str | None:
    """The key over every input of ingest (see the module docstring); None if a source's paths have a
    problem (the normal path reports it)."""
    config_dir = config.root / "config"
    parts: dict[str, object] = {"format": FORMAT, "layout": STORAGE_LAYOUT, "root": str(config.root.resolve())}
    parts["config"] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                       for p in sorted(config_dir.iterdir()) if p.is_file()}
    exports: dict[str, list] = {}
    for name, source in config.sources.items():
        files, problems = match_paths(config.root, name, source.paths, config.project.allow_outside_paths)
        if problems:
            return None
        exports[name] = [[str(f), _stat(f)] for f in files]
    parts["exports"] = exports
    parts["code"] = hashlib.sha256(json.dumps(
        [[str(p.relative_to(PACKAGE)), _stat(p)] for p in sorted(PACKAGE.rglob("*.py"))]).encode()).hexdigest()
    database = config.workdir / "pulse.duckdb"
    parts["database"] = [_stat(database), _stat(database.with_name(database.name + ".wal"))]
    if parts["database"][0] is None:
        return None
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def load(config: ProjectConfig, use_cache: bool) -> WarmState | None:
    """The saved state if its key is still the project's key, else None."""
    try:
        saved = json.loads((config.workdir / FILE_NAME).read_text(encoding="utf-8"))
        if saved.get("format") != FORMAT or (use_cache and not saved["cache_ready"]):
            return None
        if saved["key"] != state_key(config):
            return None
        report = IngestReport(files=tuple(FileLoad(**f) for f in saved["files"]),
                              sources=tuple(_summary(s) for s in saved["sources"]))
        return WarmState(report, bool(saved["cache_ready"]))
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
    key = state_key(config) if unchanged else None
    if key is None:
        path.unlink(missing_ok=True)
        return
    payload = {"format": FORMAT, "key": key, "cache_ready": state.cache_ready,
               "files": [asdict(f) for f in state.ingest.files],
               "sources": [asdict(s) for s in state.ingest.sources]}  # dates as ISO text (default=str)
    partial = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    try:
        partial.write_text(json.dumps(payload, default=str), encoding="utf-8")
        os.replace(partial, path)
    except OSError:  # a read-only working folder: no warm start, nothing else changes
        partial.unlink(missing_ok=True)
