"""The report theme from config/pulse.yaml: colours, fonts and logo as CSS.

Everything is inlined (data URIs) so the HTML renders identically offline and
WeasyPrint needs no file access. Colours are validated hex values and font
family names plain words, so nothing from the config can break out of CSS.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from pipeline.config import ProjectConfig
from pipeline.core.errors import ConfigError

FONT_TYPES = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2"}
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


@dataclass(frozen=True)
class ThemeAssets:
    css: Markup  # custom properties and @font-face rules
    logo: str  # a data: URI, or "" without a logo


def data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _asset(config: ProjectConfig, relative: str, key: str, types: dict[str, str]) -> tuple[Path, str]:
    path = (config.root / relative).resolve()
    if not path.is_file():
        raise ConfigError(f"config/pulse.yaml: {key}: file {relative} not found", "give a path relative to the project folder")
    mime = types.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    if mime is None or path.suffix.lower() not in types:
        raise ConfigError(f"config/pulse.yaml: {key}: unsupported file type '{path.suffix}'",
                          "use " + ", ".join(sorted(types)))
    return path, mime


def theme_assets(config: ProjectConfig) -> ThemeAssets:
    theme = config.project.theme
    rules = []
    for index, font in enumerate(theme.fonts):
        path, mime = _asset(config, font.file, f"project.theme.fonts.{index}.file", FONT_TYPES)
        rules.append(
            f'@font-face {{ font-family: "{font.family}"; src: url("{data_uri(path, mime)}"); '
            f"font-weight: {font.weight}; font-style: {font.style}; }}"
        )
    properties = [f"--{name}: {colour};" for name, colour in sorted(theme.colors.items())]
    if theme.font_family:
        properties.append(f'--font: "{theme.font_family}", "DejaVu Sans", sans-serif;')
    if properties:
        rules.append(":root { " + " ".join(properties) + " }")
    logo = ""
    if theme.logo:
        path, mime = _asset(config, theme.logo, "project.theme.logo", IMAGE_TYPES)
        logo = data_uri(path, mime)
    return ThemeAssets(css=Markup("\n".join(rules)), logo=logo)
