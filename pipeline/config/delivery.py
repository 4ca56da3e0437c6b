"""Typed config for email delivery and schedules.

`ReportEmail` and `ReportSchedule` are the `email:` and `schedule:` blocks of a
report in `config/reports.yaml`; `DeliveryFile` is `config/delivery.yaml`
(SMTP server, sender, recipient lists, outbox switch, retries). Pure models
without I/O; `delivery_config` loads and cross-checks them.

Subject templates are str.format-style with a fixed set of names (see
`SUBJECT_NAMES`); anything else (unknown names, attribute or index access,
conversions, format specs) is a config error, so a subject can never reach
into Python objects.
"""

from __future__ import annotations

import re
import string
from datetime import datetime
from email.utils import parseaddr
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import Field, field_validator, model_validator

from .base import Strict

SUBJECT_NAMES = ("report", "title", "period", "period_name", "company", "segment")
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$|^[^@\s<>\"',;]+@localhost$")


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


def bare_address(text: str) -> str:
    """`Name <a@b.dk>` -> `a@b.dk` (lower-cased: the ledger's recipient key)."""
    return parseaddr(text)[1].strip().lower()


def check_address(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise ValueError("an address must be on one line")
    address = parseaddr(text)[1]
    if not address or not _ADDRESS.match(address):
        raise ValueError(f"'{text}' is not an email address (write a@example.com or 'Name <a@example.com>')")
    return text


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


# -- delivery.yaml ----------------------------------------------------------------
class SmtpSettings(Strict):
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)  # default: 587 starttls, 465 ssl, 25 none
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = Field(default=None, pattern=ENV_NAME)  # NAME of the environment variable
    timeout: float = Field(default=30.0, gt=0)  # seconds per connection and command
    ca_file: str | None = None  # PEM file of a private CA (relative to the project); default: system CAs

    @model_validator(mode="after")
    def _credentials(self) -> SmtpSettings:
        if self.username and not self.password_env:
            raise ValueError("smtp.username needs smtp.password_env (the NAME of the environment variable "
                             "holding the password; the password itself never goes in a config file)")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "ssl": 465, "none": 25}[self.security]


class RetrySettings(Strict):
    attempts: int = Field(default=4, ge=1, le=20)  # per recipient, for transient failures
    base_delay: float = Field(default=2.0, ge=0)  # seconds before the 2nd attempt; doubled each time


class RecipientList(Strict):
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)

    @field_validator("to", "cc", "bcc")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for text in value:
            check_address(text)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> RecipientList:
        if not (self.to or self.cc or self.bcc):
            raise ValueError("a recipient list needs at least one address in to, cc or bcc")
        return self

    def envelope(self) -> list[str]:
        """Every address of the list once, bare, in to, cc, bcc order."""
        return list(dict.fromkeys(bare_address(a) for a in [*self.to, *self.cc, *self.bcc]))


class DeliveryFile(Strict):
    """config/delivery.yaml."""

    smtp: SmtpSettings | None = None
    sender: str = Field(alias="from")  # "Pulse reports <reports@example.com>"
    reply_to: str | None = None
    outbox: bool = False  # true: write .eml files under reports/<report>/<period>/outbox/ instead of sending
    retry: RetrySettings = RetrySettings()
    recipient_lists: dict[str, RecipientList] = Field(min_length=1)

    @field_validator("sender", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return value if value is None else check_address(value)

    @field_validator("recipient_lists")
    @classmethod
    def _list_names(cls, value: dict[str, RecipientList]) -> dict[str, RecipientList]:
        for name in value:
            if not re.match(r"^[A-Za-z0-9_-]+$", name):
                raise ValueError(f"recipient list name '{name}' must be letters, digits, '_' or '-' "
                                 f"(it names the outbox files)")
        return value

    @model_validator(mode="after")
    def _server(self) -> DeliveryFile:
        if self.smtp is None and not self.outbox:
            raise ValueError("smtp: missing; configure the SMTP server, or set outbox: true to only write .eml files")
        return self
