"""Load `config/delivery.yaml` and check it against the reports' email blocks.

The file is optional until a report has an `email:` block. Errors name the
file, line and key like every other config file (the same `_parse` and
`_config_error` helpers), with did-you-mean hints for unknown keys and
recipient-list names. The SMTP password is never read here: only the name of
the environment variable that holds it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from .project import _FILE_MODELS, ProjectConfig, ReportConfig, _parse, did_you_mean
from .delivery import DeliveryFile
from pipeline.core.errors import ConfigError
from .yaml_doc import YamlDoc, display_path, load_yaml

DELIVERY_FILE = "delivery.yaml"
_FILE_MODELS[DELIVERY_FILE] = DeliveryFile


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
            "create it with smtp:, from: and recipient_lists: (see README 'Email delivery')",
        )]
    try:
        doc = load_yaml(path)
    except ConfigError as exc:
        return None, [exc]
    problems: list[ConfigError] = []
    delivery = _parse(doc, DeliveryFile, problems)
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
            f"export {smtp.password_env}=... in the environment that runs pulse (cron: in the crontab or a "
            f"systemd EnvironmentFile)",
        )
    return value
