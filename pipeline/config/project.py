"""The whole project's configuration: config/*.yaml loaded, validated and cross-checked.

A project folder holds `config/pulse.yaml` (project settings), `sources.yaml`,
`kpis.yaml`, `reports.yaml` and optionally `okrs.yaml` and `delivery.yaml`.
Each is validated by pydantic models that forbid unknown keys; every error
names the file, line and dotted key, with a did-you-mean suggestion for
misspelt keys and names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.core.errors import ConfigError
from pipeline.core.paths import OUTSIDE_HINT, pattern_problem

from .kpis import IDENTIFIER, KpiConfig, KpisFile
from .okrs import OkrsFile
from .reports import ReportConfig, ReportsFile
from .settings import EngineSettings, ProjectFile, ProjectSettings
from .sources import SourceConfig, SourcesFile
from .validation import FILE_MODELS, did_you_mean, parse_doc, salvage
from .yaml_doc import YamlDoc, load_yaml


@dataclass(frozen=True)
class ProjectConfig:
    """Everything under config/, validated and cross-checked."""

    root: Path
    project: ProjectSettings
    sources: dict[str, SourceConfig]
    kpis: dict[str, KpiConfig]
    reports: dict[str, ReportConfig]
    okrs: OkrsFile | None = None
    engine: EngineSettings = EngineSettings()  # which database runs sources, checks and KPI queries

    @property
    def workdir(self) -> Path:
        return self.root / self.project.workdir

    @property
    def output_dir(self) -> Path:
        return self.root / self.project.output_dir

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def templates_dir(self) -> Path:
        return self.root / "report_templates"

    def query_path(self, kpi_id: str) -> Path:
        return self.queries_dir / f"{self.kpis[kpi_id].query or kpi_id}.sql"

    def report(self, name: str | None) -> tuple[str, ReportConfig]:
        """The named report, or the default one; unknown names suggest the closest."""
        if name is None:
            name = self.project.default_report or next(iter(self.reports))
        if name not in self.reports:
            raise ConfigError(f"no report named '{name}' in config/reports.yaml", did_you_mean(name, self.reports))
        return name, self.reports[name]


FILE_MODELS.update(
    {"pulse.yaml": ProjectFile, "sources.yaml": SourcesFile, "kpis.yaml": KpisFile, "reports.yaml": ReportsFile,
     "okrs.yaml": OkrsFile}
)


def load_project(root: Path) -> ProjectConfig:
    """Load and validate every config file of the project at `root`.

    Raises the first problem found; `collect_problems` lists all of them.
    """
    config, problems = collect_problems(root)
    if problems:
        raise problems[0]
    assert config is not None
    return config


def collect_problems(root: Path) -> tuple[ProjectConfig | None, list[ConfigError]]:
    """Every config problem of the project at once, and the config if there are none."""
    config, problems = check_project(root)
    return (None if problems else config), problems


def check_project(root: Path) -> tuple[ProjectConfig | None, list[ConfigError]]:
    """Every config problem of the project at once, and its config as far as it is valid.

    With problems, the config returned is salvaged (see `validation.salvage`: what
    has an error is left out) so `pulse validate` can go on to check the exports
    and queries the rest of the config describes; it is None when a required
    file cannot be read at all. Nothing but `pulse validate` uses a salvaged config.
    """
    config_dir = root / "config"
    if not config_dir.is_dir():
        return None, [ConfigError(f"{config_dir}: no config folder here",
                                  "run pulse inside a project folder or pass --project DIR")]
    problems: list[ConfigError] = []
    docs: dict[str, YamlDoc] = {}
    parsed: dict[str, Any] = {}
    files = [("pulse.yaml", ProjectFile), ("sources.yaml", SourcesFile), ("kpis.yaml", KpisFile),
             ("reports.yaml", ReportsFile)]
    if (config_dir / "okrs.yaml").is_file():
        files.append(("okrs.yaml", OkrsFile))
    for name, model in files:
        try:
            docs[name] = load_yaml(config_dir / name)
        except ConfigError as exc:
            problems.append(exc)
            continue
        value = parse_doc(docs[name], model, problems)
        if value is None:
            value = salvage(docs[name], model)
        if value is not None:
            parsed[name] = value
    if any(name not in parsed for name, _model in files[:4]):
        return None, problems
    kpis = parsed["kpis.yaml"].kpis
    declared = _declared(docs["kpis.yaml"], "kpis") | set(kpis)  # KPIs left out by salvage still exist
    okrs = parsed.get("okrs.yaml")
    if okrs is not None:
        problems.extend(_check_okrs(okrs, docs["okrs.yaml"], declared))
    config = ProjectConfig(root=root, project=parsed["pulse.yaml"].project, sources=parsed["sources.yaml"].sources,
                           kpis=kpis, reports=parsed["reports.yaml"].reports, okrs=okrs,
                           engine=parsed["pulse.yaml"].engine)
    problems.extend(_cross_check(config, docs, declared, _declared(docs["reports.yaml"], "reports") | set(config.reports)))
    return config, problems


def _declared(doc: YamlDoc, key: str) -> set[str]:
    """The names a file declares under `key`, valid or not."""
    entries = doc.data.get(key) if isinstance(doc.data, dict) else None
    return {str(name) for name in entries} if isinstance(entries, dict) else set()


def _check_okrs(okrs: OkrsFile, doc: YamlDoc, kpis: set[str]) -> Iterator[ConfigError]:
    """KR KPIs must exist; KR ids must be unique within a cycle."""
    for cycle_name, cycle in okrs.cycles.items():
        seen: dict[str, str] = {}
        for objective_id, objective in cycle.objectives.items():
            for kr_id, kr in objective.key_results.items():
                key = f"cycles.{cycle_name}.objectives.{objective_id}.key_results.{kr_id}"
                if kr.kpi is not None and kr.kpi not in kpis:
                    yield ConfigError(
                        f"{doc.where(key + '.kpi')}: {key}.kpi: unknown KPI '{kr.kpi}'",
                        did_you_mean(kr.kpi, sorted(kpis)),
                    )
                if kr_id in seen:
                    yield ConfigError(
                        f"{doc.where(key)}: key result id '{kr_id}' is used twice in cycle {cycle_name} "
                        f"(also under objective '{seen[kr_id]}')",
                        "give each key result of a cycle its own id; check-ins refer to it",
                    )
                seen[kr_id] = objective_id


def _event_time_problems(name: str, source: SourceConfig, doc: YamlDoc) -> Iterator[ConfigError]:
    """event_time names a date/timestamp column; without it, a source may have at most one such column."""
    candidates = source.time_columns()
    key = f"sources.{name}.event_time"
    if source.event_time is None:
        if len(candidates) > 1:
            yield ConfigError(
                f"{doc.where(f'sources.{name}')}: sources.{name}: {len(candidates)} date/timestamp columns "
                f"({', '.join(candidates)}) and no event_time: which one says when a row happened?",
                f"add 'event_time: {candidates[0]}' (or another of {', '.join(candidates)}) to the source; "
                "see docs/configuration.md 'Event time, coverage and data as of'",
            )
        return
    if source.event_time not in source.columns:
        yield ConfigError(f"{doc.where(key)}: {key}: '{source.event_time}' is not among the columns",
                          did_you_mean(source.event_time, candidates or source.columns))
    elif source.event_time not in candidates:
        kind = source.columns[source.event_time].type.value
        yield ConfigError(f"{doc.where(key)}: {key}: column '{source.event_time}' is {kind}, not a date or timestamp",
                          f"declare it as type date or timestamp, or choose one of: {', '.join(candidates) or 'none'}")


def _cross_check(config: ProjectConfig, docs: dict[str, YamlDoc], kpi_ids: set[str],
                 report_names: set[str]) -> Iterator[ConfigError]:
    sources_doc, kpis_doc, reports_doc = docs["sources.yaml"], docs["kpis.yaml"], docs["reports.yaml"]
    for name, source in config.sources.items():
        if not re.match(IDENTIFIER, name):
            yield ConfigError(f"{sources_doc.where('sources.' + name)}: source name '{name}' must be a plain identifier",
                              "use letters, digits and underscores; it becomes the table name")
        yield from _event_time_problems(name, source, sources_doc)
        for key in source.primary_key:
            if key not in source.columns:
                yield ConfigError(
                    f"{sources_doc.where(f'sources.{name}.primary_key')}: primary key column '{key}' is not among the columns",
                    did_you_mean(key, source.columns),
                )
        for index, pattern in enumerate(source.paths):
            problem = None if config.project.allow_outside_paths else pattern_problem(config.root, pattern)
            if problem:
                yield ConfigError(f"{sources_doc.where(f'sources.{name}.paths.{index}')}: sources.{name}.paths: {problem}",
                                  OUTSIDE_HINT)
    for kpi_id in config.kpis:
        if not re.match(IDENTIFIER, kpi_id):
            yield ConfigError(f"{kpis_doc.where('kpis.' + kpi_id)}: KPI id '{kpi_id}' must be a plain identifier",
                              "use letters, digits and underscores")
        path = config.query_path(kpi_id)
        if not path.is_file():
            yield ConfigError(
                f"{kpis_doc.where(f'kpis.{kpi_id}')}: kpis.{kpi_id}: query file {path.relative_to(config.root)} not found",
                "create it, or set 'query:' to the path under queries/ without .sql",
            )
    for report_name, report in config.reports.items():
        listed: dict[str, int] = {}
        for index, kpi_id in enumerate(report.kpis):
            key = f"reports.{report_name}.kpis"
            if kpi_id not in kpi_ids:
                yield ConfigError(
                    f"{reports_doc.where(f'{key}.{index}')}: {key}: unknown KPI '{kpi_id}'",
                    did_you_mean(kpi_id, sorted(kpi_ids)),
                )
            elif kpi_id in listed:
                yield ConfigError(
                    f"{reports_doc.where(f'{key}.{index}')}: {key}: KPI '{kpi_id}' is listed twice "
                    f"(also as item {listed[kpi_id] + 1})",
                    "list each KPI once; the report would show it twice",
                )
            listed.setdefault(kpi_id, index)
    if config.project.default_report and config.project.default_report not in report_names:
        yield ConfigError(
            f"{docs['pulse.yaml'].where('project.default_report')}: project.default_report: "
            f"unknown report '{config.project.default_report}'",
            did_you_mean(config.project.default_report, sorted(report_names)),
        )
