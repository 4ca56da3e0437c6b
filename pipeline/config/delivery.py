"""config/delivery.yaml: SMTP server, sender, recipient lists, outbox, retries; loaded and
cross-checked with the reports' email blocks.

The file is optional until a report has an `email:` block. Errors name the
file, line and key like every other config file, with did-you-mean hints for
unknown keys and recipient-list names. The SMTP password is never read from
the file: only the name of the environment variable that holds it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipeline.core.errors import ConfigError
from pipeline.core.paths import display_path

from .addresses import bare_address, check_address
from .base import Strict
from .project import ProjectConfig
from .reports import ReportConfig
from .validation import FILE_MODELS, did_you_mean, parse_doc
from .yaml_doc import YamlDoc, load_yaml

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
DELIVERY_FILE = "delivery.yaml"


# -- delivery.yaml ----------------------------------------------------------------
class SmtpSettings(Strict):
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)  # default: 587 starttls, 465 ssl, 25 none
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = Field(default=None, pattern=ENV_NAME)  # NAME of the environment variable
    timeout: float = Field(default=30.0, gt=0)  # seconds per connection and command
    # seconds to wait for the reply to the end of the message data (RFC 5321 4.5.3.2.6: 10 minutes);
    # a reply lost after that leaves the delivery uncertain, never retried blindly
    data_timeout: float = Field(default=600.0, gt=0)
    ca_file: str | None = None  # PEM file of a private CA (relative to the project); default: system CAs
    # security: none with a username sends the password in clear text: refused unless allowed here
    # (for a relay on the same machine, e.g. 127.0.0.1)
    allow_plaintext_auth: bool = False

    @model_validator(mode="after")
    def _credentials(self) -> SmtpSettings:
        if self.username and not self.password_env:
            raise ValueError("smtp.username needs smtp.password_env (the NAME of the environment variable "
                             "holding the password; the password itself never goes in a config file)")
        if self.username and self.security == "none" and not self.allow_plaintext_auth:
            raise ValueError("smtp.security: none with smtp.username would send the password in clear text; "
                             "use security: starttls or ssl, or (for a relay on this machine only) set "
                             "smtp.allow_plaintext_auth: true")
        return self

    @property
    def plaintext_auth(self) -> bool:
        """The password goes over an unencrypted connection (allowed by allow_plaintext_auth)."""
        return bool(self.username) and self.security == "none"

    @property
    def reply_timeout(self) -> float:
        """Seconds to wait for the reply to the end of the message data (never shorter than `timeout`)."""
        return max(self.timeout, self.data_timeout)

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
    # figures changed after a report was sent: send the correction at once, or hold it (exit code 6)
    # until `pulse send --send-correction`
    corrections: Literal["hold", "send"] = "hold"
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


FILE_MODELS[DELIVERY_FILE] = DeliveryFile


def delivery_path(root: Path) -> Path:
    return root / "config" / DELIVERY_FILE


def collect_delivery_problems(config: ProjectConfig) -> tuple[DeliveryFile | None, list[ConfigError]]:
    """delivery.yaml parsed and cross-checked with reports.yaml; every problem at once."""
    path = delivery_path(config.root)
    reports_doc = load_yaml(config.root / "config" / "reports.yaml")
    emailing = [name for name, report in config.reports.items() if report.email is not None]
    if not path.is_file():
        if not emailing:
            return None, []
        first = emailing[0]
        return None, [ConfigError(
            f"{reports_doc.where(f'reports.{first}.email')}: reports.{first}.email: {display_path(path)} not found",
            "create it with smtp:, from: and recipient_lists: (see docs/email-and-scheduling.md 'delivery.yaml')",
        )]
    try:
        doc = load_yaml(path)
    except ConfigError as exc:
        return None, [exc]
    problems: list[ConfigError] = []
    delivery = parse_doc(doc, DeliveryFile, problems)
    if delivery is None:
        return None, problems
    problems.extend(_check_ca_file(config.root, doc, delivery))
    for name in emailing:
        problems.extend(_check_report(name, config.reports[name], delivery, reports_doc))
    return (None if problems else delivery), problems


def load_delivery(config: ProjectConfig) -> DeliveryFile | None:
    """The delivery settings (None without delivery.yaml); the first problem is raised."""
    delivery, problems = collect_delivery_problems(config)
    if problems:
        raise problems[0]
    return delivery


def _check_ca_file(root: Path, doc: YamlDoc, delivery: DeliveryFile) -> Iterator[ConfigError]:
    smtp = delivery.smtp
    if smtp is not None and smtp.ca_file and not (root / smtp.ca_file).is_file():
        yield ConfigError(f"{doc.where('smtp.ca_file')}: smtp.ca_file: {smtp.ca_file} not found",
                          "give the PEM file of your private CA, relative to the project folder, or remove the key")


def _check_report(name: str, report: ReportConfig, delivery: DeliveryFile, doc: YamlDoc) -> Iterator[ConfigError]:
    email = report.email
    assert email is not None
    key = f"reports.{name}.email"
    if "pdf" not in report.formats:
        yield ConfigError(f"{doc.where(f'reports.{name}.formats')}: {key}: the email attaches the PDF, "
                          f"but formats has no 'pdf'", "add pdf to formats, or remove the email block")
    for index, list_name in enumerate(email.send_to):
        if list_name not in delivery.recipient_lists:
            yield ConfigError(f"{doc.where(f'{key}.send_to.{index}')}: {key}.send_to: unknown recipient list "
                              f"'{list_name}' (lists are defined in config/delivery.yaml)",
                              did_you_mean(list_name, delivery.recipient_lists))
    if email.segments and not report.burst_by:
        yield ConfigError(f"{doc.where(f'{key}.segments')}: {key}.segments: the report has no burst_by, so no segments",
                          "set burst_by: on the report, or move the lists to send_to")
    for segment, lists in email.segments.items():
        for index, list_name in enumerate(lists):
            if list_name not in delivery.recipient_lists:
                yield ConfigError(f"{doc.where(f'{key}.segments.{segment}.{index}')}: {key}.segments.{segment}: "
                                  f"unknown recipient list '{list_name}'",
                                  did_you_mean(list_name, delivery.recipient_lists))


def smtp_password(delivery: DeliveryFile) -> str | None:
    """The SMTP password from the environment variable named in config (never logged)."""
    smtp = delivery.smtp
    if smtp is None or not smtp.username:
        return None
    assert smtp.password_env is not None
    value = os.environ.get(smtp.password_env)
    if not value:
        raise ConfigError(
            f"config/delivery.yaml: smtp.password_env: the environment variable {smtp.password_env} is not set",
            f"set {smtp.password_env} in the environment that runs pulse: an environment file readable only by "
            f"that user (systemd EnvironmentFile, or sourced by the cron job), never in the crontab itself; see "
            f"docs/email-and-scheduling.md 'Credentials'",
        )
    return value
