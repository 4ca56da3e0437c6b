"""config/delivery.yaml and the email:/schedule: blocks of reports.yaml.

Errors name the file, line and key, with a did-you-mean hint; secrets never
appear in them; subject templates accept only the fixed names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.app.validate import validate_project
from pipeline.config import load_project
from pipeline.config.delivery import collect_delivery_problems, load_delivery
from pipeline.config.reports import render_subject, subject_fields
from pipeline.core.errors import ConfigError


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def first_problem(project: Path) -> ConfigError:
    try:
        config = load_project(project)
    except ConfigError as exc:
        return exc
    _delivery, problems = collect_delivery_problems(config)
    assert problems, "expected a config problem"
    return problems[0]


def test_the_demo_delivery_config_loads(project):
    delivery = load_delivery(load_project(project))
    assert delivery is not None and delivery.outbox is True
    assert delivery.smtp is not None and delivery.smtp.effective_port == 587
    assert delivery.recipient_lists["management"].envelope() == [
        "ceo@nordlys.example", "cfo@nordlys.example", "controlling@nordlys.example", "archive@nordlys.example"]
    report = load_project(project).reports["monthly"]
    assert report.schedule is not None and report.schedule.cron == "0 7 2 * *"


def test_a_misspelt_key_names_file_line_and_suggests(project):
    path = project / "config" / "delivery.yaml"
    path.write_text(path.read_text().replace("  password_env:", "  pasword_env:"))
    problem = first_problem(project)
    assert "delivery.yaml:7: unknown key 'smtp.pasword_env'" in problem.message
    assert problem.hint == "did you mean 'password_env'?"


def test_a_password_in_the_config_file_is_refused_without_echoing_it(project):
    edit_yaml(project / "config" / "delivery.yaml", lambda d: d["smtp"].update(password="hunter2-secret"))
    problem = first_problem(project)
    assert "unknown key 'smtp.password'" in problem.message and "password_env" in (problem.hint or "")
    assert "hunter2-secret" not in problem.report()


def test_username_needs_password_env(project):
    edit_yaml(project / "config" / "delivery.yaml", lambda d: d["smtp"].pop("password_env"))
    assert "smtp.username needs smtp.password_env" in first_problem(project).message


def test_missing_from_is_named(project):
    edit_yaml(project / "config" / "delivery.yaml", lambda d: d.pop("from"))
    assert "missing key 'from'" in first_problem(project).message


def test_a_bad_address_is_named(project):
    edit_yaml(project / "config" / "delivery.yaml", lambda d: d["recipient_lists"]["sales_east"].update(to=["east at x"]))
    problem = first_problem(project)
    assert "recipient_lists.sales_east.to" in problem.message and "'east at x' is not an email address" in problem.message


def test_an_unknown_recipient_list_suggests_the_closest(project):
    edit_yaml(project / "config" / "reports.yaml", lambda d: d["reports"]["monthly"]["email"].update(send_to=["managment"]))
    problem = first_problem(project)
    assert "reports.yaml:" in problem.message and "unknown recipient list 'managment'" in problem.message
    assert problem.hint == "did you mean 'management'?"


@pytest.mark.parametrize("subject, shown", [
    ("{title} for {month}", "{month}"),
    ("{title.__class__}", "{title.__class__}"),
    ("{title!r}", "{title!r}"),
    ("{0}", "{0}"),
])
def test_subject_templates_take_only_the_fixed_names(project, subject, shown):
    edit_yaml(project / "config" / "reports.yaml", lambda d: d["reports"]["monthly"]["email"].update(subject=subject))
    problem = first_problem(project)
    assert "reports.yaml:" in problem.message and "reports.monthly.email.subject" in problem.message
    assert f"uses '{shown}'" in problem.message and "{period_name}" in problem.message


def test_subject_rendering():
    values = {"report": "regional", "title": "Regional sales review", "period": "2026-10",
              "period_name": "October 2026", "company": "Nordlys", "segment": "Sjælland"}
    assert render_subject("{company}: {title} — {segment}, {period_name}", values) == \
        "Nordlys: Regional sales review — Sjælland, October 2026"
    assert render_subject("{{braces}} {period}", values) == "{braces} 2026-10"
    assert subject_fields("{report} {report}") == ["report", "report"]
    with pytest.raises(ValueError, match="malformed"):
        subject_fields("{title")


def test_a_bad_cron_or_zone_is_named(project):
    edit_yaml(project / "config" / "reports.yaml",
              lambda d: d["reports"]["monthly"]["schedule"].update(cron="61 7 2 * *"))
    problem = first_problem(project)
    assert "reports.monthly.schedule.cron" in problem.message and "Bad minute" in problem.message
    edit_yaml(project / "config" / "reports.yaml",
              lambda d: d["reports"]["monthly"]["schedule"].update(cron="0 7 2 * *", timezone="Europe/Kopenhagen"))
    assert "unknown time zone 'Europe/Kopenhagen'" in first_problem(project).message


def test_a_misspelt_schedule_key_suggests(project):
    edit_yaml(project / "config" / "reports.yaml",
              lambda d: d["reports"]["monthly"]["schedule"].update(timzone=d["reports"]["monthly"]["schedule"].pop("timezone")))
    problem = first_problem(project)
    assert "unknown key 'reports.monthly.schedule.timzone'" in problem.message and problem.hint == "did you mean 'timezone'?"


def test_email_without_delivery_yaml_is_an_error(project):
    (project / "config" / "delivery.yaml").unlink()
    problem = first_problem(project)
    assert "reports.monthly.email" in problem.message and "delivery.yaml not found" in problem.message


def test_segments_need_burst_by_and_pdf_format(project):
    def change(d):
        d["reports"]["monthly"]["email"]["segments"] = {"Hovedstaden": ["sales_east"]}
        d["reports"]["monthly"]["formats"] = ["html"]
    edit_yaml(project / "config" / "reports.yaml", change)
    _delivery, problems = collect_delivery_problems(load_project(project))
    messages = " | ".join(p.message for p in problems)
    assert "formats has no 'pdf'" in messages and "the report has no burst_by" in messages


def test_validate_lists_delivery_problems(project, monkeypatch):
    edit_yaml(project / "config" / "reports.yaml", lambda d: d["reports"]["monthly"]["email"].update(send_to=["nobody"]))
    messages = [p.message for p in validate_project(project)]
    assert any("unknown recipient list 'nobody'" in m for m in messages)


def test_recipient_list_names_must_be_file_name_safe(project):
    edit_yaml(project / "config" / "delivery.yaml",
              lambda d: d["recipient_lists"].update({"../board": {"to": ["board@nordlys.example"]}}))
    assert "recipient list name '../board'" in first_problem(project).message


def test_plaintext_auth_is_refused_with_file_line_and_key(project):
    edit_yaml(project / "config" / "delivery.yaml", lambda d: d["smtp"].update(security="none"))
    problem = first_problem(project)
    assert "config/delivery.yaml:" in problem.message and "smtp" in problem.message
    assert "would send the password in clear text" in problem.message
    assert "allow_plaintext_auth: true" in problem.message


def test_allowed_plaintext_auth_to_a_remote_host_is_a_validate_warning(project):
    edit_yaml(project / "config" / "delivery.yaml",
              lambda d: d["smtp"].update(security="none", allow_plaintext_auth=True))
    delivery = load_delivery(load_project(project))
    assert delivery is not None and delivery.smtp is not None and delivery.smtp.plaintext_auth
    from pipeline.app.validate import _plaintext_auth

    warnings = _plaintext_auth(delivery)
    assert [w.severity for w in warnings] == ["warning"] and "smtp.example.com" in warnings[0].message
    edit_yaml(project / "config" / "delivery.yaml", lambda d: d["smtp"].update(host="127.0.0.1"))
    assert _plaintext_auth(load_delivery(load_project(project))) == []


def test_delivery_defaults_wait_ten_minutes_for_the_data_reply_and_hold_corrections(project):
    delivery = load_delivery(load_project(project))
    assert delivery is not None and delivery.smtp is not None
    assert delivery.smtp.data_timeout == 600 and delivery.smtp.reply_timeout == 600
    assert delivery.corrections == "hold"
    edit_yaml(project / "config" / "delivery.yaml", lambda d: d.update(corrections="sometimes"))
    problem = first_problem(project)
    assert "corrections" in problem.message
    report = load_project(project).reports["monthly"]
    assert report.schedule is not None and report.schedule.max_owed_hours == 24
