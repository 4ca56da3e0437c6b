"""config/reports.yaml: each report's KPIs, grain, layout, segments, email block and schedule.

Subject templates are str.format-style with a fixed set of names (see
`SUBJECT_NAMES`); anything else (unknown names, attribute or index access,
conversions, format specs) is a config error, so a subject can never reach
into Python objects.
"""

from __future__ import annotations

import string
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import Field, field_validator, model_validator

from pipeline.core.periods import Grain

from .addresses import check_address
from .base import Strict

SUBJECT_NAMES = ("report", "title", "period", "period_name", "company", "segment")


def subject_fields(template: str) -> list[str]:
    """The names a subject template uses; ValueError when it is not allowed."""
    names = []
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"subject template '{template}' is malformed: {exc} (write braces as {{{{ and }}}})") from None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in SUBJECT_NAMES or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise ValueError(f"subject template uses '{shown}'; allowed are plain "
                             + ", ".join("{" + n + "}" for n in SUBJECT_NAMES))
        names.append(name)
    return names


def render_subject(template: str, values: dict[str, str]) -> str:
    """The subject with the names filled in; one line, whitespace collapsed."""
    subject_fields(template)
    out = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return " ".join("".join(out).split())


# -- reports.yaml: email: and schedule: ------------------------------------------
class ReportEmail(Strict):
    """Who gets a report by email, and its subject."""

    subject: str = "{title} — {period_name}"
    segment_subject: str = "{title} — {segment} — {period_name}"  # for burst_by reports' segment emails
    send_to: list[str] = Field(default_factory=list)  # recipient lists (config/delivery.yaml) of the company-wide report
    segments: dict[str, list[str]] = Field(default_factory=dict)  # segment value -> recipient lists
    reply_to: str | None = None  # overrides delivery.yaml's reply_to

    @field_validator("subject", "segment_subject")
    @classmethod
    def _template(cls, value: str) -> str:
        subject_fields(value)
        if "\n" in value or "\r" in value:
            raise ValueError("a subject must be on one line")
        return value

    @field_validator("reply_to")
    @classmethod
    def _reply_to(cls, value: str | None) -> str | None:
        return value if value is None else check_address(value)

    @model_validator(mode="after")
    def _someone(self) -> ReportEmail:
        if not self.send_to and not self.segments:
            raise ValueError("email: name at least one recipient list in send_to (or per segment in segments)")
        return self


class ReportSchedule(Strict):
    """When `pulse due` builds the report: a cron expression in a time zone."""

    cron: str  # minute hour day-of-month month day-of-week, e.g. "0 7 2 * *"
    timezone: str | None = None  # default: the project's time zone
    email: bool = True  # email it when built by `pulse due` (if the report has an email: block)
    catch_up: int = Field(default=12, ge=1, le=1000)  # at most this many missed periods are built at once
    # `pulse due` exits 7 while a scheduled build or delivery has been owed longer than this
    max_owed_hours: float = Field(default=24.0, ge=0)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"cron '{value}' must have five fields: minute hour day-of-month month day-of-week")
        try:
            CronSim(value, datetime(2000, 1, 1))
        except CronSimError as exc:
            raise ValueError(f"cron '{value}': {exc}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name like Europe/Copenhagen)") from None
        return value



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
    # KPIs of a burst report shown with company-wide figures in every segment's report (their queries
    # need not return the burst_by column); every other KPI's query must return it
    company_wide: list[str] = Field(default_factory=list)
    # a segment without activity in the period: skip (no report), brief (one page saying so) or full
    inactive_segments: Literal["skip", "brief", "full"] = "brief"
    email: ReportEmail | None = None  # who gets it by email (recipient lists in config/delivery.yaml)
    schedule: ReportSchedule | None = None  # when `pulse due` builds it (cron expression, time zone)


    @model_validator(mode="after")
    def _company_wide_listed(self) -> ReportConfig:
        stray = [k for k in self.company_wide if k not in self.kpis]
        if stray:
            raise ValueError(f"company_wide: KPI '{stray[0]}' is not among the report's kpis")
        if self.company_wide and not self.burst_by:
            raise ValueError("company_wide: the report has no burst_by, so every figure is company-wide already")
        return self


class ReportsFile(Strict):
    reports: dict[str, ReportConfig] = Field(min_length=1)
