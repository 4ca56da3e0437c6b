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
from .settings import ProjectFile, ProjectSettings
from .sources import SourceConfig, SourcesFile
from .validation import FILE_MODELS, did_you_mean, parse_doc
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
        if value is not None:
            parsed[name] = value
    if problems or len(parsed) != len(files):
        return None, problems
    kpis = parsed["kpis.yaml"].kpis
    okrs = parsed.get("okrs.yaml")
    if okrs is not None:
        problems.extend(_check_okrs(okrs, docs["okrs.yaml"], kpis))
    config = ProjectConfig(root=root, project=parsed["pulse.yaml"].project, sources=parsed["sources.yaml"].sources,
                           kpis=kpis, reports=parsed["reports.yaml"].reports, okrs=okrs)
    problems.extend(_cross_check(config, docs["sources.yaml"], docs["kpis.yaml"], docs["reports.yaml"]))
    return (None if problems else config), problems


def _check_okrs(okrs: OkrsFile, doc: YamlDoc, kpis: dict[str, KpiConfig]) -> Iterator[ConfigError]:
    """KR KPIs must exist; KR ids must be unique within a cycle."""
    for cycle_name, cycle in okrs.cycles.items():
        seen: dict[str, str] = {}
        for objective_id, objective in cycle.objectives.items():
            for kr_id, kr in objective.key_results.items():
                key = f"cycles.{cycle_name}.objectives.{objective_id}.key_results.{kr_id}"
                if kr.kpi is not None and kr.kpi not in kpis:
                    yield ConfigError(
                        f"{doc.where(key + '.kpi')}: {key}.kpi: unknown KPI '{kr.kpi}'",
                        did_you_mean(kr.kpi, kpis),
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


def _cross_check(config: ProjectConfig, sources_doc: YamlDoc, kpis_doc: YamlDoc, reports_doc: YamlDoc) -> Iterator[ConfigError]:
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
        for index, kpi_id in enumerate(report.kpis):
            if kpi_id not in config.kpis:
                yield ConfigError(
                    f"{reports_doc.where(f'reports.{report_name}.kpis.{index}')}: reports.{report_name}.kpis: unknown KPI '{kpi_id}'",
                    did_you_mean(kpi_id, config.kpis),
                )
    if config.project.default_report and config.project.default_report not in config.reports:
        yield ConfigError(
            f"config/pulse.yaml: project.default_report: unknown report '{config.project.default_report}'",
            did_you_mean(config.project.default_report, config.reports),
        )
