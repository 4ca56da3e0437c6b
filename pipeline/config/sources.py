"""Source configuration (config/sources.yaml): exports, reader options, column
contracts and data-quality checks. Re-exported by `pipeline.config`."""

from __future__ import annotations

import codecs
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from .base import Invalid, Strict


# -- sources -----------------------------------------------------------------
class ColumnType(str, Enum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOLEAN = "boolean"


def _off_word(value: Any) -> Any:
    """`severity: off` unquoted: YAML reads it as false, and false can only mean off."""
    return "off" if value is False else value


Severity = Annotated[Literal["warn", "fail", "off"], BeforeValidator(_off_word)]


class ColumnSpec(Strict):
    type: ColumnType = ColumnType.TEXT
    required: bool = True  # the column must be in every file
    not_null: bool | None = None  # default: true for primary-key columns
    accepted: list[str | int | float | bool] | None = None  # allowed values

    @field_validator("accepted")
    @classmethod
    def _no_yaml_booleans(cls, value: list | None, info: ValidationInfo) -> list | None:
        """`accepted: [yes, no]` unquoted is [true, false] to YAML: no text value would ever match."""
        kind = info.data.get("type", ColumnType.TEXT)
        if value and kind is not ColumnType.BOOLEAN and any(isinstance(v, bool) for v in value):
            shown = ", ".join(str(v).lower() if isinstance(v, bool) else repr(v) for v in value)
            raise Invalid(f"[{shown}] holds true/false, but the column is {kind.value}: YAML reads unquoted "
                          f"yes, no, on, off, true and false as booleans",
                          "quote the values, e.g. accepted: ['yes', 'no']")
        return value


EVENT_TIME_MOVED = ("a check has no column of its own: freshness, volume and coverage measure the source's event "
                    "time; set sources.<name>.event_time: <column> instead")


class _MeasuredByEventTime(Strict):
    """A check measured by the source's event-time column (no column of its own, so the two cannot disagree)."""

    @model_validator(mode="before")
    @classmethod
    def _no_column(cls, value: Any) -> Any:
        if isinstance(value, dict) and "column" in value:
            raise ValueError(EVENT_TIME_MOVED)
        return value


class FreshnessCheck(_MeasuredByEventTime):
    """The event time reaches the report period's last day, allowing `grace_days` days without events."""

    grace_days: int = Field(default=3, ge=0)
    severity: Severity = "fail"


class VolumeCheck(_MeasuredByEventTime):
    periods: int = Field(default=6, ge=1)  # trailing periods to average
    low: float = Field(default=0.5, ge=0)  # warn below 50 % of the trailing average
    high: float = Field(default=2.0, ge=1)  # ... or above 200 %
    severity: Severity = "warn"


class RowCountCheck(Strict):
    min: int = Field(default=1, ge=0)
    max: int | None = None
    severity: Severity = "fail"


class PlausibleDatesCheck(Strict):
    earliest: date = date(1990, 1, 1)
    max_days_ahead: int = Field(default=366, ge=0)  # after today
    severity: Severity = "fail"


class SourceChecks(Strict):
    freshness: FreshnessCheck = FreshnessCheck()
    volume: VolumeCheck = VolumeCheck()
    rows: RowCountCheck = RowCountCheck()
    plausible_dates: PlausibleDatesCheck = PlausibleDatesCheck()
    primary_key: Severity = "fail"  # unique within each file
    not_null: Severity = "fail"
    accepted_values: Severity = "fail"
    coverage: Severity = "fail"  # a report period entirely before the first or after the last event


class ReaderOptions(Strict):
    """How to read a source's files; unset options are detected (see `pipeline.sources.csv_reader`)."""

    delimiter: str | None = None  # None: sniffed by DuckDB; "tab" or "\t" for tabs
    decimal: Literal[".", ",", "auto"] | None = None  # None: auto when the delimiter is sniffed, else "."
    thousands: Literal["auto", "none", ".", ",", " ", "'"] = "auto"  # auto: only groups of three digits
    encoding: str | None = None  # None: UTF-8 (BOM or not), else Windows-1252; any Python codec name
    quote: str = '"'  # "" for none
    escape: str | None = None  # None: a doubled quote ("")
    header: bool = True
    skip_rows: int = Field(default=0, ge=0)
    date_format: str | None = None
    timestamp_format: str | None = None
    sheet: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _chosen(cls, value: Any) -> Any:
        if value == "CHOOSE":  # written by `pulse init --from` where the exports read either way
            raise ValueError("replace CHOOSE with one of the values listed in the comment above it: "
                             "the exports read either way, and Pulse never guesses")
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and value.lower() == "tab":
            return "\t"
        if value is not None and (len(value) != 1 or value in "\r\n\"'"):
            raise ValueError(f"delimiter must be one character such as ';' or 'tab', not {value!r}")
        return value

    @field_validator("quote", "escape")
    @classmethod
    def _at_most_one(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 1 or value in ("\r", "\n")):
            raise ValueError(f"must be a single character (or empty), not {value!r}")
        return value

    @field_validator("thousands")
    @classmethod
    def _not_the_decimal(cls, value: str, info: Any) -> str:
        if value == info.data.get("decimal"):
            raise ValueError(f"thousands separator '{value}' is also the decimal separator")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding '{value}' (use utf-8, cp1252, latin-1, utf-16, ...)") from None
        return value

    @field_validator("date_format", "timestamp_format")
    @classmethod
    def _strftime(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            raise ValueError(f"'{value}' is not a strftime pattern (e.g. '%d-%m-%Y')")
        return value


class SourceConfig(Strict):
    paths: list[str] = Field(min_length=1)
    format: Literal["auto", "csv", "parquet", "json", "xlsx"] = "auto"
    options: ReaderOptions = ReaderOptions()
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    primary_key: list[str] = Field(default_factory=list)
    # when a row happened (order time, ticket creation); default: the only date/timestamp column
    event_time: str | None = None
    description: str = ""
    checks: SourceChecks = SourceChecks()
    on_bad_rows: Literal["fail", "quarantine"] = "fail"  # quarantine: keep bad rows out, list them in _pulse_rejects

    @field_validator("paths", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def time_columns(self) -> list[str]:
        """The date and timestamp columns, in contract order (the candidates for `event_time`)."""
        return [c for c, spec in self.columns.items() if spec.type in (ColumnType.DATE, ColumnType.TIMESTAMP)]

    @property
    def event_column(self) -> str | None:
        """The event-time column: declared, else the only date/timestamp column; None when there is none
        (several candidates and none declared is a config error, see `config.project`)."""
        if self.event_time is not None:
            return self.event_time
        candidates = self.time_columns()
        return candidates[0] if len(candidates) == 1 else None


class SourcesFile(Strict):
    sources: dict[str, SourceConfig] = Field(min_length=1)
