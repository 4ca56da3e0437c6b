"""config/pulse.yaml: the project's settings (company, time zone, locale, theme, engine limits)."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator

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


class ProjectFile(Strict):
    project: ProjectSettings
