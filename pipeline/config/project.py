"""Project configuration: typed models for config/*.yaml.

A project folder holds `config/pulse.yaml` (project settings), `sources.yaml`,
`kpis.yaml` and `reports.yaml`. Each is validated by pydantic models that
forbid unknown keys; every error names the file, line and dotted key, with a
did-you-mean suggestion for misspelt keys and names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator

from .delivery import ReportEmail, ReportSchedule
from pipeline.core.errors import ConfigError
from .okrs import OkrsFile
from pipeline.core.periods import Grain
from pipeline.sources.paths import OUTSIDE_HINT, pattern_problem
# source models live in source_config; re-exported here, the one place config models are imported from
from .sources import (
    ColumnSpec as ColumnSpec,
    ColumnType as ColumnType,
    FreshnessCheck as FreshnessCheck,
    PlausibleDatesCheck as PlausibleDatesCheck,
    ReaderOptions as ReaderOptions,
    RowCountCheck as RowCountCheck,
    Severity as Severity,
    SourceChecks as SourceChecks,
    SourceConfig as SourceConfig,
    SourcesFile as SourcesFile,
    VolumeCheck as VolumeCheck,
)
from .base import Strict
from .yaml_doc import YamlDoc, load_yaml

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


# -- project -----------------------------------------------------------------
HEX_COLOUR = r"^#[0-9A-Fa-f]{3}([0-9A-Fa-f]{3})?$"
ColourName = Literal["ink", "muted", "line", "accent", "green", "amber", "red", "achieved"]


class ThemeFont(Strict):
    family: str = Field(pattern=r"^[\w \-]+$")
    file: str  # a .ttf/.otf/.woff file under the project
    weight: Literal["normal", "bold"] = "normal"
    style: Literal["normal", "italic"] = "normal"


class Theme(Strict):
    """Look of the reports without Python: logo, colours, fonts."""

    logo: str | None = None  # an image file under the project (svg, png, jpg)
    colors: dict[ColourName, str] = Field(default_factory=dict)
    font_family: str | None = Field(default=None, pattern=r"^[\w \-]+$")
    fonts: list[ThemeFont] = Field(default_factory=list)

    @field_validator("colors")
    @classmethod
    def _hex(cls, value: dict[str, str]) -> dict[str, str]:
        for name, colour in value.items():
            if not re.match(HEX_COLOUR, colour):
                raise ValueError(f"colour {name} must be a hex colour like #1d4ed8, not '{colour}'")
        return value


class ProjectSettings(Strict):
    company: str
    timezone: str = "UTC"
    fiscal_year_start: int = Field(default=1, ge=1, le=12)
    locale: str = "en"
    currency: str = "DKK"
    workdir: str = ".pulse"
    output_dir: str = "reports"
    default_report: str | None = None
    allow_outside_paths: bool = False  # may source paths leave the project folder?
    theme: Theme = Theme()
    memory_limit: str | None = Field(default=None, pattern=r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$")
    threads: int | None = Field(default=None, ge=1)  # DuckDB's threads (default: one per core)
    render_workers: int | None = Field(default=None, ge=1)  # processes rendering segment reports; 1 = in-process

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name like Europe/Copenhagen)") from None
        return value


class ProjectFile(Strict):
    project: ProjectSettings


# -- KPIs --------------------------------------------------------------------
class Unit(str, Enum):
    COUNT = "count"
    NUMBER = "number"
    CURRENCY = "currency"
    PERCENT = "percent"
    DURATION = "duration"


class Direction(str, Enum):
    UP = "up"
    DOWN = "down"
    NEUTRAL = "neutral"


class Thresholds(Strict):
    good: float
    warn: float


class KpiConfig(Strict):
    title: str
    description: str = ""
    query: str | None = None
    unit: Unit = Unit.NUMBER
    decimals: int = Field(default=0, ge=0, le=6)
    direction: Direction = Direction.UP
    fill: Literal["zero", "null"] = "null"
    target: float | dict[str, float] | None = None
    thresholds: Thresholds | None = None
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    anomaly_sigma: float | None = Field(default=3.0, gt=0)  # flag values this many std devs off their history


class KpisFile(Strict):
    kpis: dict[str, KpiConfig] = Field(min_length=1)


# -- reports -----------------------------------------------------------------
class ReportConfig(Strict):
    title: str
    template: str = "report.html.j2"
    grain: Grain = Grain.MONTH
    kpis: list[str] = Field(min_length=1)
    formats: list[Literal["html", "pdf"]] = Field(default_factory=lambda: ["html", "pdf"])
    page_size: Literal["A4", "Letter"] = "A4"
    orientation: Literal["portrait", "landscape"] = "portrait"
    pdf_variant: Literal["pdf/ua-1", "pdf/a-3b", "none"] = "pdf/ua-1"  # tagged, accessible PDF by default
    okrs: bool = True  # show the OKR cycle (when config/okrs.yaml exists)
    burst_by: str | None = None  # a dimension column KPI queries return: one report per segment
    email: ReportEmail | None = None  # who gets it by email (recipient lists in config/delivery.yaml)
    schedule: ReportSchedule | None = None  # when `pulse due` builds it (cron expression, time zone)


class ReportsFile(Strict):
    reports: dict[str, ReportConfig] = Field(min_length=1)


_FILE_MODELS: dict[str, type[BaseModel]] = {}


# -- the whole project --------------------------------------------------------
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


_FILE_MODELS.update(
    {"pulse.yaml": ProjectFile, "sources.yaml": SourcesFile, "kpis.yaml": KpisFile, "reports.yaml": ReportsFile,
     "okrs.yaml": OkrsFile}
)


def did_you_mean(word: str, choices: Any) -> str:
    """A hint naming the closest choice, or listing what exists."""
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "known: " + ", ".join(options) if options else "none are configured"


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
        value = _parse(docs[name], model, problems)
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


def _parse(doc: YamlDoc, model: type[BaseModel], problems: list[ConfigError]) -> Any:
    try:
        return model.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        problems.extend(_config_error(doc, error) for error in exc.errors())
        return None


def _config_error(doc: YamlDoc, error: Any) -> ConfigError:
    loc = [str(part) for part in error["loc"]]
    dotted = ".".join(loc)
    where = doc.where(dotted)
    if error["type"] == "extra_forbidden":
        parent = loc[:-1]
        allowed = _allowed_keys(doc, parent)
        return ConfigError(f"{where}: unknown key '{dotted}'", did_you_mean(loc[-1], allowed))
    if error["type"] == "missing":
        return ConfigError(f"{where}: missing key '{dotted}'", "add it; see README 'Configuration'")
    message = error["msg"].removeprefix("Value error, ")
    return ConfigError(f"{where}: {dotted}: {message}", "see README 'Configuration' for the allowed values")


def _allowed_keys(doc: YamlDoc, parent: list[str]) -> list[str]:
    """The keys the model at `parent` accepts (for did-you-mean suggestions)."""
    model: Any = _FILE_MODELS.get(doc.path.name)
    parts = list(parent)
    while parts and model is not None:
        part = parts.pop(0)
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        if getattr(annotation, "__origin__", None) is dict:
            if not parts:  # the user's own names (source, KPI, report ids)
                return []
            parts.pop(0)
            annotation = annotation.__args__[1]
        model = _optional_model(annotation)
    return [f.alias or name for name, f in getattr(model, "model_fields", {}).items()]


def _optional_model(annotation: Any) -> Any:
    """`Model | None` -> `Model` (so keys of optional blocks get did-you-mean hints too)."""
    members = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
    if len(members) == 1 and hasattr(members[0], "model_fields"):
        return members[0]
    return annotation


def _cross_check(config: ProjectConfig, sources_doc: YamlDoc, kpis_doc: YamlDoc, reports_doc: YamlDoc) -> Iterator[ConfigError]:
    for name, source in config.sources.items():
        if not re.match(IDENTIFIER, name):
            yield ConfigError(f"{sources_doc.where('sources.' + name)}: source name '{name}' must be a plain identifier",
                              "use letters, digits and underscores; it becomes the table name")
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
