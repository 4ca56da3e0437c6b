"""OKR check-ins: dated confidence, comments and milestone progress per KR.

A YAML file (a list under `checkins:`) or a CSV file with the columns
kr, date, confidence, comment, done, share. The latest entry per KR dated
before the end of the report period is used; later entries are ignored.
An entry for an unknown KR is an error naming it.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.config import did_you_mean
from pipeline.config.yaml_doc import load_yaml
from pipeline.core.errors import ConfigError
from pipeline.core.paths import display_path

from .scoring import CheckIn

CONFIDENCE_WORDS = {"low", "medium", "high"}


class CheckInEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kr: str
    date: date
    confidence: str | None = None
    comment: str = ""
    done: bool | None = None
    share: float | None = Field(default=None, ge=0, le=1)

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, value: object) -> object:
        if value is None or value == "":
            return None
        text = str(value).strip().lower()
        if text in CONFIDENCE_WORDS:
            return text
        if text.isdigit() and 1 <= int(text) <= 10:
            return text
        raise ValueError("confidence must be 1-10 or low / medium / high")

    @field_validator("done", "share", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value


def load_checkins(path: Path, known_krs: set[str]) -> list[CheckIn]:
    """Read every check-in; errors name the file, the entry's line and the key."""
    if not path.is_file():
        raise ConfigError(f"{display_path(path)}: check-in file not found", "fix 'checkins:' in config/okrs.yaml")
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [(index + 2, row) for index, row in enumerate(csv.DictReader(handle))]
    else:
        doc = load_yaml(path)
        if doc.duplicates:  # a key given twice in one entry: YAML would keep only the last
            raise doc.duplicates[0]
        data = doc.data.get("checkins") if isinstance(doc.data, dict) else None
        if not isinstance(data, list):
            raise ConfigError(f"{display_path(path)}: expected a list under 'checkins:'", "see docs/configuration.md 'Check-ins'")
        rows = [(doc.line_of(f"checkins.{i}") or 0, row) for i, row in enumerate(data)]
    entries: list[CheckIn] = []
    for line, row in rows:
        try:
            entry = CheckInEntry.model_validate(row)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(p) for p in error["loc"])
            raise ConfigError(
                f"{display_path(path)}:{line}: {key}: {error['msg'].removeprefix('Value error, ')}",
                "each check-in has kr, date (YYYY-MM-DD) and optionally confidence, comment, done, share",
            ) from None
        if entry.kr not in known_krs:
            raise ConfigError(
                f"{display_path(path)}:{line}: check-in for unknown key result '{entry.kr}'",
                did_you_mean(entry.kr, sorted(known_krs)),
            )
        entries.append(CheckIn(entry.kr, entry.date, entry.confidence, entry.comment, entry.done, entry.share))
    return entries


def latest_by_kr(entries: list[CheckIn], before: date) -> dict[str, CheckIn]:
    """The latest check-in per KR dated before `before` (the period's exclusive end)."""
    latest: dict[str, CheckIn] = {}
    for entry in sorted(entries, key=lambda e: e.day):
        if entry.day < before:
            latest[entry.kr_id] = entry
    return latest
