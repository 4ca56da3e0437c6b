"""config/pulse.yaml: the project's settings (company, time zone, locale, theme, engine limits) and the engine."""

from __future__ import annotations

import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .base import Strict

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
    allow_outside_paths: bool = False  # may source paths, and files read from SQL, leave the project folder?
    allow_network: bool = False  # may SQL reach the network (needs allow_outside_paths; see docs/security.md)
    query_timeout: float = Field(default=300, gt=0)  # seconds a KPI query may run before it is stopped
    theme: Theme = Theme()
    memory_limit: str | None = Field(default=None, pattern=r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$")
    threads: int | None = Field(default=None, ge=1)  # DuckDB's threads (default: one per core)
    render_workers: int | None = Field(default=None, ge=1)  # processes rendering segment reports; 1 = in-process

    @field_validator("allow_network")
    @classmethod
    def _network_opens_files_too(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not info.data.get("allow_outside_paths"):
            raise ValueError("allow_network: true also lets SQL read any local file (DuckDB has one switch for "
                             "both), so it needs allow_outside_paths: true as well; see docs/security.md "
                             "'Switches for trusted projects'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name like Europe/Copenhagen)") from None
        return value


# Spark settings that make a session download code at run time (nothing may download then)
DOWNLOADING_CONF = ("spark.jars.packages", "spark.jars.repositories", "spark.jars.ivy", "spark.jars.ivySettings")


class EngineSettings(Strict):
    """Which database runs the sources, checks and KPI queries (see docs/spark.md).

    `engine: spark` (or `name: spark`) with `master:` (a local session, e.g.
    `local[*]`) or `remote:` (Spark Connect, `sc://host:15002`); `conf:` holds
    Spark settings for the session.
    """

    name: Literal["duckdb", "spark"] = "duckdb"
    master: str | None = None  # e.g. local[*], local[2]
    remote: str | None = Field(default=None, pattern=r"^sc://\S+$")  # Spark Connect: sc://host:15002
    app_name: str = "pulse"
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_way_to_connect(self) -> EngineSettings:
        if self.master and self.remote:
            raise ValueError("give either master (a local Spark session) or remote (Spark Connect), not both")
        if self.name == "duckdb" and (self.master or self.remote or self.conf):
            raise ValueError("master, remote and conf are Spark settings; set name: spark to use them")
        for key in self.conf:
            if key in DOWNLOADING_CONF:
                raise ValueError(f"conf {key} would download packages when the session starts; install the jars "
                                 "on the cluster (or in spark.jars as local files) instead")
        return self


class ProjectFile(Strict):
    project: ProjectSettings
    engine: EngineSettings = EngineSettings()
