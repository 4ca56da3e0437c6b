"""What an operator sees: distinct exit codes, `pulse log`, `--quiet`, `--format json`, `--now` in the help.

Every command runs through the real entry point (in-process, `run_pulse`),
against a real SMTP server on loopback; PDFs are stand-ins.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.app.lock import project_lock
from pipeline.report import render
from support.project import NOW, run_pulse, stub_pdf
from support.smtp import MANAGEMENT, Handler, smtp_server, write_delivery

PERIOD = "2026-10"
NOW_ARG = ["--now", NOW.isoformat()]


@pytest.fixture
def stubbed(project, monkeypatch) -> Path:
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    return project


def test_exit_codes_tell_failures_apart(stubbed, monkeypatch, capsys):
    def code(*args: str) -> int:
        return run_pulse([*args], stubbed, monkeypatch, capsys)[0]

    handler = Handler(rcpt_replies={"cfo@nordlys.example": "550 5.1.1 no such user"})
    with smtp_server(handler) as server:
        write_delivery(stubbed, server.port)
        assert code("run", "--period", PERIOD, *NOW_ARG) == 0
        assert code("send", "monthly", "--period", PERIOD, *NOW_ARG) == 4  # a delivery failed
        assert code("send", "monthly", "--period", "2026-13", *NOW_ARG) == 2  # could not run: a bad period
        with project_lock(stubbed / ".pulse", "due"):
            assert code("send", "monthly", "--period", PERIOD, *NOW_ARG) == 8  # busy
    for path in (stubbed / "data" / "sales").glob("sales_2026-10.*"):
        path.unlink()
    assert code("run", "--period", PERIOD, *NOW_ARG) == 3  # the data-quality gate failed


def test_pulse_log_shows_runs_deliveries_and_attempts_with_filters(stubbed, monkeypatch, capsys):
    handler = Handler(data_replies=["451 4.3.0 try again later"])
    with smtp_server(handler) as server:
        write_delivery(stubbed, server.port)
        code, out, err = run_pulse(["run", "--period", PERIOD, "--email", "--format", "json", *NOW_ARG], stubbed,
                                   monkeypatch, capsys)
        assert code == 0, err
        run_id = json.loads(out)["run_id"]
        assert run_pulse(["send", "monthly", "--period", PERIOD, *NOW_ARG], stubbed, monkeypatch, capsys)[0] == 0

    code, out, err = run_pulse(["log", "--format", "json"], stubbed, monkeypatch, capsys)
    assert code == 0, err
    runs = json.loads(out)
    assert [(r["trigger"], r["report"], r["period"], r["status"], r["exit_code"]) for r in runs] == [
        ("send", "monthly", PERIOD, "succeeded", 0), ("run", "monthly", PERIOD, "succeeded", 0)]
    code, out, err = run_pulse(["log"], stubbed, monkeypatch, capsys)
    assert "pulse log runs" in out and run_id in out and "succeeded" in out

    code, out, err = run_pulse(["log", "deliveries", "--status", "sent", "--format", "json"], stubbed, monkeypatch,
                               capsys)
    deliveries = json.loads(out)
    assert sorted(d["recipient"] for d in deliveries) == sorted(MANAGEMENT)
    assert all(d["delivered_message_id"] and d["sent_at"].startswith("2026-11-25T10:00:00+01:00") for d in deliveries)

    first = MANAGEMENT[0]
    code, out, err = run_pulse(["log", "attempts", "--recipient", first.upper(), "--format", "json"], stubbed,
                               monkeypatch, capsys)
    attempts = json.loads(out)
    assert [(a["attempt"], a["outcome"], a["run_id"]) for a in attempts] == [(2, "sent", run_id), (1, "failed", run_id)]
    assert "451 4.3.0" in attempts[1]["error"]
    code, out, err = run_pulse(["log", "attempts", "--run", run_id, "--status", "sent", "--format", "json"], stubbed,
                               monkeypatch, capsys)
    assert len(json.loads(out)) == 4
    code, out, err = run_pulse(["log", "deliveries", "--period", "2026-09"], stubbed, monkeypatch, capsys)
    assert code == 0 and out.startswith("no deliveries recorded")
    code, out, err = run_pulse(["log", "attempts", "--since", "2026-11-26T00:00:00+00:00", "--format", "json"],
                               stubbed, monkeypatch, capsys)
    assert json.loads(out) == []


def test_quiet_prints_only_errors_and_json_reports_failures_too(stubbed, monkeypatch, capsys):
    handler = Handler(rcpt_replies={"cfo@nordlys.example": "550 5.1.1 no such user"})
    with smtp_server(handler) as server:
        write_delivery(stubbed, server.port)
        code, out, err = run_pulse(["run", "--period", PERIOD, "--quiet", *NOW_ARG], stubbed, monkeypatch, capsys)
        assert (code, out, err) == (0, "", "")
        code, out, err = run_pulse(["send", "monthly", "--period", PERIOD, "--quiet", *NOW_ARG], stubbed,
                                   monkeypatch, capsys)
        assert code == 4 and out == "" and err.startswith("error: email delivery of monthly 2026-10 failed for 1 of 4")
        code, out, err = run_pulse(["send", "monthly", "--period", PERIOD, "--format", "json", *NOW_ARG], stubbed,
                                   monkeypatch, capsys)
    assert code == 4 and err.startswith("error: ")
    document = json.loads(out)
    assert document["command"] == "send" and document["status"] == "failed" and document["exit_code"] == 4
    assert document["report"] == "monthly" and document["period"] == PERIOD
    statuses = {o["recipient"]: o["status"] for o in document["delivery"]["outcomes"]}
    assert statuses == {"cfo@nordlys.example": "rejected", **{a: "already_sent" for a in MANAGEMENT if "cfo" not in a}}
    assert any("550 5.1.1 no such user" in d for d in document["error"]["details"])


def test_due_json_and_busy_json(stubbed, monkeypatch, capsys):
    code, out, err = run_pulse(["due", "--format", "json", "--now", "2026-11-02T07:00:00+00:00"], stubbed,
                               monkeypatch, capsys)
    assert code == 0, err
    document = json.loads(out)
    assert [(r["period"], r["status"], r["scheduled_for"]) for r in document["runs"]] == [
        ("2026-10", "succeeded", "2026-11-02T07:00:00+01:00")]
    assert document["runs"][0]["delivery"]["outcomes"][0]["status"] == "outbox" and document["owed"] == []
    with project_lock(stubbed / ".pulse", "run"):
        code, out, err = run_pulse(["due", "--format", "json", "--now", "2026-11-02T08:00:00+00:00"], stubbed,
                                   monkeypatch, capsys)
    assert code == 8 and json.loads(out)["error"]["message"].startswith("another pulse command is running")


def test_now_is_documented_in_the_help(stubbed, monkeypatch, capsys):
    for command in ("run", "send", "due", "validate"):
        code, out, err = run_pulse([command, "--help"], stubbed, monkeypatch, capsys)
        assert code == 0 and "--now TIME" in out and "testing schedules" in " ".join(out.split())
