"""`pulse due` with an injected clock: month ends, catch-up, DST, delivery, the lock.

Reports are built for real (with a stand-in PDF) unless a test only counts
runs, where `runner.run_report` is replaced by a recorder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from pipeline.app import due
from pipeline.app.lock import project_lock
from pipeline.app.runner import RunResult
from pipeline.core.errors import ProjectBusy, RunFailed
from pipeline.delivery import ledger
from pipeline.report import render
from support.project import pulse, run_pulse, stub_pdf
from support.smtp import MANAGEMENT, Handler, free_port, smtp_server, write_delivery

UTC = timezone.utc


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def scheduled(project, monkeypatch) -> Path:
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    return project


def set_schedule(project: Path, **schedule) -> None:
    path = project / "config" / "reports.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["reports"]["monthly"]["schedule"] = schedule
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def built(outcome) -> list[str]:
    return [f"{r.occurrence.period.label}@{r.occurrence.at.isoformat()}" for r in outcome.runs]


@pytest.fixture
def recorded(project, monkeypatch) -> list[str]:
    """Replace the build by a recorder (for tests that only count runs)."""
    calls: list[str] = []

    def fake_run(root, name, period, now=None, progress=None):
        calls.append(period)
        return RunResult(name, None, root, (), ())  # type: ignore[arg-type]

    monkeypatch.setattr(due.runner, "run_report", fake_run)
    return calls


def test_month_end_builds_the_month_that_ended_once(scheduled):
    first = due.run_due(scheduled, utc(2026, 11, 2, 5, 59))  # 06:59 in Copenhagen: not yet
    assert built(first) == ["2026-09@2026-10-02T07:00:00+02:00"]  # a new schedule owes its latest time
    second = due.run_due(scheduled, utc(2026, 11, 2, 6, 0))  # 07:00
    assert built(second) == ["2026-10@2026-11-02T07:00:00+01:00"]
    second.raise_for_failures()
    assert (scheduled / "reports" / "monthly" / "2026-10" / "monthly.pdf").is_file()
    assert (scheduled / "reports" / "monthly" / "2026-10" / "outbox" / "company__management.eml").is_file()
    assert built(due.run_due(scheduled, utc(2026, 11, 2, 7, 30))) == []
    assert built(due.run_due(scheduled, utc(2026, 11, 28))) == []


def test_a_machine_off_for_weeks_catches_up_each_owed_period_once(scheduled):
    assert built(due.run_due(scheduled, utc(2026, 9, 2, 6))) == ["2026-08@2026-09-02T07:00:00+02:00"]
    outcome = due.run_due(scheduled, utc(2026, 11, 3, 10))  # off from 2 September to 3 November
    outcome.raise_for_failures()
    assert built(outcome) == ["2026-09@2026-10-02T07:00:00+02:00", "2026-10@2026-11-02T07:00:00+01:00"]
    assert built(due.run_due(scheduled, utc(2026, 11, 3, 11))) == []
    for period in ("2026-08", "2026-09", "2026-10"):
        assert (scheduled / "reports" / "monthly" / period / "manifest.json").is_file()


def test_a_missed_week_of_daily_runs_builds_the_new_period_once(project, recorded):
    set_schedule(project, cron="0 7 * * *", email=False)
    assert built(due.run_due(project, utc(2026, 10, 27, 8))) == ["2026-09@2026-10-27T07:00:00+01:00"]
    assert built(due.run_due(project, utc(2026, 10, 28, 8))) == []  # same period: not again
    outcome = due.run_due(project, utc(2026, 11, 4, 12))  # off from 28 October to 4 November
    assert built(outcome) == ["2026-10@2026-11-01T07:00:00+01:00"]
    for day in range(5, 9):
        assert built(due.run_due(project, utc(2026, 11, day, 12))) == []
    assert recorded == ["2026-09", "2026-10"]


def test_a_failed_run_is_retried_by_the_next_due(project, monkeypatch):
    set_schedule(project, cron="0 7 2 * *", email=False)
    attempts = []

    def failing_then_ok(root, name, period, now=None, progress=None):
        attempts.append(period)
        if len(attempts) == 1:
            raise RunFailed("data-quality gate failed for 2026-10", "fix the exports")
        return RunResult(name, None, root, (), ())  # type: ignore[arg-type]

    monkeypatch.setattr(due.runner, "run_report", failing_then_ok)
    first = due.run_due(project, utc(2026, 11, 2, 7))
    with pytest.raises(RunFailed, match="1 scheduled run"):
        first.raise_for_failures()
    assert built(due.run_due(project, utc(2026, 11, 2, 8))) == ["2026-10@2026-11-02T07:00:00+01:00"]
    assert built(due.run_due(project, utc(2026, 11, 2, 9))) == []
    assert attempts == ["2026-10", "2026-10"]


def hourly(project: Path, start: datetime, hours: float, step_minutes: int = 30) -> list[str]:
    runs, moment = [], start
    while moment <= start + timedelta(hours=hours):
        runs += built(due.run_due(project, moment))
        moment += timedelta(minutes=step_minutes)
    return runs


def test_a_time_missing_on_the_spring_forward_day_runs_once_just_after(project, recorded):
    set_schedule(project, cron="30 2 29 3 *", timezone="Europe/Copenhagen", email=False)
    assert built(due.run_due(project, utc(2026, 3, 1))) == ["2025-02@2025-03-29T02:30:00+01:00"]
    # 29 March 2026: clocks jump from 02:00 to 03:00, so 02:30 never happens
    assert hourly(project, utc(2026, 3, 28, 22), 8) == ["2026-02@2026-03-29T03:00:00+02:00"]
    assert recorded == ["2025-02", "2026-02"]


def test_a_time_repeated_on_the_fall_back_day_runs_once(project, recorded):
    set_schedule(project, cron="30 2 25 10 *", timezone="Europe/Copenhagen", email=False)
    due.run_due(project, utc(2026, 10, 1))
    # 25 October 2026: 02:00-03:00 happens twice; the run happens at the first 02:30
    assert hourly(project, utc(2026, 10, 24, 22), 6, step_minutes=15) == ["2026-09@2026-10-25T02:30:00+02:00"]


def test_due_emails_once_and_retries_an_owed_delivery_on_the_next_run(scheduled):
    port = free_port()
    write_delivery(scheduled, port)  # nothing listens yet
    due.run_due(scheduled, utc(2026, 10, 20))  # the first run builds 2026-09, delivery fails
    failed = due.run_due(scheduled, utc(2026, 11, 2, 7))
    with pytest.raises(RunFailed) as error:
        failed.raise_for_failures()
    assert "refused" in error.value.report() and [r.status for r in failed.runs] == ["failed", "failed"]
    with smtp_server(port=port) as server:
        retried = due.run_due(scheduled, utc(2026, 11, 2, 8))
        retried.raise_for_failures()
        assert [r.occurrence.period.label for r in retried.runs] == ["2026-09", "2026-10"]
        assert built(due.run_due(scheduled, utc(2026, 11, 2, 9))) == []
    october = [r for r in server.handler.received if "October 2026" in r.message["Subject"]]
    assert sorted(x for r in october for x in r.rcpt_tos) == sorted(MANAGEMENT)


def test_due_list_shows_next_due_and_last_success(scheduled):
    due.run_due(scheduled, utc(2026, 11, 2, 7))
    statuses = due.list_schedules(scheduled, utc(2026, 11, 20))
    assert len(statuses) == 1
    status = statuses[0]
    assert status.report == "monthly" and status.owed == ()
    assert status.next_due is not None and status.next_due.at.isoformat() == "2026-12-02T07:00:00+01:00"
    assert status.last_success is not None and status.last_success.period == "2026-10"
    result = pulse(["due", "--list", "--now", "2026-11-20T09:00:00+00:00"], cwd=scheduled)
    assert result.returncode == 0, result.stderr
    assert "monthly" in result.stdout and "2026-12-02 07:00" in result.stdout and "2026-10, finished" in result.stdout


def test_a_second_due_while_the_first_holds_the_lock_stops_at_once(project):
    workdir = project / ".pulse"
    with project_lock(workdir, "due"):
        result = pulse(["due", "--now", "2026-11-02T07:00:00+00:00"], cwd=project)
        assert result.returncode == 8  # busy
        assert "another pulse command is running on this project" in result.stderr
        assert f"pid {os.getpid()}: pulse due" in result.stderr
        with pytest.raises(ProjectBusy):
            with project_lock(workdir, "run"):
                pass
    assert not (project / "reports" / "monthly").exists()


def test_the_lock_of_a_killed_process_does_not_block(project, recorded):
    set_schedule(project, cron="0 7 2 * *", email=False)
    workdir = project / ".pulse"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from pipeline.app.lock import project_lock
            with project_lock(Path({str(workdir)!r}), "due"):
                print("locked", flush=True)
                time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ProjectBusy):
            with project_lock(workdir, "due"):
                pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert "pulse due" in (workdir / "pulse.lock").read_text()  # the stale file is still there
    with project_lock(workdir, "due"):
        outcome = due.run_due(project, utc(2026, 11, 2, 7))
    assert built(outcome) == ["2026-10@2026-11-02T07:00:00+01:00"]


def test_runs_are_recorded_in_the_ledger(project, recorded):
    set_schedule(project, cron="0 7 2 * *", email=False)
    due.run_due(project, utc(2026, 11, 2, 7))
    con = ledger.open_ledger(project / ".pulse", "Europe/Copenhagen")
    try:
        rows = con.execute("SELECT report, period, trigger, status FROM _pulse_runs").fetchall()
    finally:
        con.close()
    assert rows == [("monthly", "2026-10", "schedule", "succeeded")]


def test_due_through_the_cli_builds_once_and_stays_quiet_after(project):
    now = ["--now", "2026-11-02T07:00:00+00:00"]
    first = pulse(["due", *now], cwd=project)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "built: monthly 2026-10 (scheduled 2026-11-02 07:00 CET)", first.stdout
    assert "outbox: reports/monthly/2026-10/outbox/company__management.eml" in first.stdout
    again = pulse(["due", *now], cwd=project)
    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""


def test_a_failed_period_stays_owed_after_a_later_one_was_sent(scheduled):
    """August fails (451 at the end of the data), September is sent: August is still owed, retried, sent once."""
    handler = Handler(data_replies=["451 4.3.0 try again later"] * 6)  # 3 attempts per due, for August's first address
    with smtp_server(handler) as server:
        write_delivery(scheduled, server.port)
        first = due.run_due(scheduled, utc(2026, 9, 2, 6))
        assert [(r.occurrence.period.label, r.status) for r in first.runs] == [("2026-08", "failed")]
        second = due.run_due(scheduled, utc(2026, 10, 2, 6))
        assert [(r.occurrence.period.label, r.status) for r in second.runs] == [("2026-08", "failed"),
                                                                               ("2026-09", "succeeded")]
        with pytest.raises(RunFailed) as error:
            second.raise_for_failures()
        assert error.value.exit_code == 4 and "451 4.3.0" in error.value.report()
        status = due.list_schedules(scheduled, utc(2026, 10, 2, 7))[0]
        assert status.owed == ("2026-08",), "a later success does not drop the failed period"
        assert status.owed_deliveries == 4
        third = due.run_due(scheduled, utc(2026, 10, 2, 7))
        third.raise_for_failures()
        assert [(r.occurrence.period.label, r.status) for r in third.runs] == [("2026-08", "succeeded")]
        assert third.owed == ()
        assert due.run_due(scheduled, utc(2026, 10, 2, 8)).runs == ()
    by_period: dict[str, list[str]] = {}
    for received in handler.received:
        by_period.setdefault(received.message["Subject"].rsplit("— ", 1)[1], []).extend(received.rcpt_tos)
    assert {p: sorted(r) for p, r in by_period.items()} == {"August 2026": sorted(MANAGEMENT),
                                                          "September 2026": sorted(MANAGEMENT)}


def test_something_owed_too_long_makes_due_exit_7_until_sent_or_abandoned(scheduled, monkeypatch, capsys):
    handler = Handler(rcpt_replies={"cfo@nordlys.example": "550 5.1.1 no such user"})
    with smtp_server(handler) as server:
        write_delivery(scheduled, server.port)
        now = ["--now", "2026-11-02T06:00:00+00:00"]
        code, out, err = run_pulse(["due", *now], scheduled, monkeypatch, capsys)
        assert code == 4 and "550 5.1.1" in err  # reported once, not retried every hour
        assert "owed: monthly 2026-10 cfo@nordlys.example: rejected since 2026-11-02 07:00 CET" in out
        code, out, err = run_pulse(["due", "--now", "2026-11-02T12:00:00+00:00"], scheduled, monkeypatch, capsys)
        assert code == 0 and "owed: monthly 2026-10 cfo@nordlys.example: rejected" in out and "overdue" not in out
        code, out, err = run_pulse(["due", "--now", "2026-11-03T07:00:00+00:00"], scheduled, monkeypatch, capsys)
        assert code == 7, err  # owed longer than schedule.max_owed_hours (24)
        assert "owed longer than allowed" in err and "owed (overdue): monthly 2026-10 cfo@nordlys.example" in err
        code, out, err = run_pulse(["send", "monthly", "--period", "2026-10", "--abandon",
                                    "--now", "2026-11-03T07:30:00+00:00"], scheduled, monkeypatch, capsys)
        assert code == 0, err
        assert "abandoned: monthly 2026-10 company-wide → cfo@nordlys.example" in out
        assert out.count("already sent, not again") == 3
        code, out, err = run_pulse(["due", "--now", "2026-11-03T08:00:00+00:00"], scheduled, monkeypatch, capsys)
        assert (code, out, err) == (0, "", "")
    assert sorted(handler.recipients()) == sorted(set(MANAGEMENT) - {"cfo@nordlys.example"})


def test_a_failed_build_can_be_abandoned(scheduled, monkeypatch, capsys):
    for path in (scheduled / "data" / "sales").glob("sales_2026-10.*"):
        path.unlink()  # October's sales are missing: the gate fails
    now = ["--now", "2026-11-02T06:00:00+00:00"]
    code, out, err = run_pulse(["due", *now], scheduled, monkeypatch, capsys)
    assert code == 3, err  # the data-quality gate failed, and the failed check is named everywhere
    assert "failed: monthly 2026-10 (scheduled 2026-11-02 07:00 CET): data-quality gate failed" in out
    assert "sales: freshness: order_ts reaches 2026-09-30, 31 days before 2026-10-31" in out
    assert "sales: freshness: order_ts reaches 2026-09-30" in err
    code, out, err = run_pulse(["log", "--format", "json"], scheduled, monkeypatch, capsys)
    assert "sales: freshness: order_ts reaches 2026-09-30, 31 days before 2026-10-31" in out
    code, out, err = run_pulse(["due", "--dry-run", "--now", "2026-11-02T09:00:00+00:00"], scheduled, monkeypatch,
                               capsys)
    assert code == 0 and "would build: monthly 2026-10 (scheduled 2026-11-02 07:00 CET) and email it (lists " \
                         "management)" in out
    code, out, err = run_pulse(["send", "monthly", "--period", "2026-10", "--abandon", *now], scheduled, monkeypatch,
                               capsys)
    assert code == 0 and "abandoned: monthly 2026-10: 'pulse due' does not owe it" in out, err
    code, out, err = run_pulse(["due", "--dry-run", "--now", "2026-11-05T09:00:00+00:00"], scheduled, monkeypatch,
                               capsys)
    assert (code, out) == (0, "nothing due\n")


def test_due_dry_run_builds_and_sends_nothing(scheduled, monkeypatch, capsys):
    port = free_port()
    write_delivery(scheduled, port)  # nothing listens: a real run would fail
    code, out, err = run_pulse(["due", "--dry-run", "--now", "2026-11-02T07:00:00+00:00"], scheduled, monkeypatch,
                               capsys)
    assert (code, err) == (0, "")
    assert out == "would build: monthly 2026-10 (scheduled 2026-11-02 07:00 CET) and email it (lists management)\n"
    assert not (scheduled / "reports").exists()
    con = ledger.open_ledger(scheduled / ".pulse", "Europe/Copenhagen")
    try:
        assert con.execute("SELECT count(*) FROM _pulse_runs").fetchall() == [(0,)]
    finally:
        con.close()
