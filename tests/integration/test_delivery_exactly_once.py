"""Each report reaches each recipient exactly once, against a real SMTP server on loopback.

The cases where a message may have arrived without Pulse knowing: a slow
end-of-data reply, a server killed between the message data and its reply (a
real server process, killed), the pulse process killed with SIGKILL at that
moment; and a failed --resend, which must not undo what was delivered.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.app import runner
from pipeline.core.errors import DeliveryFailed, DeliveryUncertain
from pipeline.report import render
from support.project import NOW, REPO, make_project, run_pulse, stub_pdf
from support.smtp import MANAGEMENT, Handler, free_port, smtp_server, write_delivery

PERIOD = "2026-10"
SEND = ["send", "monthly", "--period", PERIOD, "--now", NOW.isoformat()]


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_exports) -> Path:
    project = make_project(tmp_path_factory.mktemp("once") / "project", demo_exports)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "render_pdf", stub_pdf)
        runner.run_report(project, "monthly", PERIOD, now=NOW)
    return project


@pytest.fixture
def project(built, tmp_path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "project", symlinks=True))


def send(project: Path, **options):
    return runner.send_report(project, "monthly", PERIOD, now=NOW, sleep=lambda _s: None, **options)


def rows(project: Path, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(project / ".pulse" / "pulse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def statuses(project: Path) -> dict[str, str]:
    return dict(rows(project, "SELECT recipient, status FROM _pulse_deliveries"))


def outcomes_of(project: Path, recipient: str) -> list[str]:
    return [r[0] for r in rows(project, "SELECT outcome FROM _pulse_delivery_attempts WHERE recipient = $a "
                                        "ORDER BY attempt", {"a": recipient})]


def message_ids(handler: Handler) -> list[str]:
    return [r.message["Message-ID"] for r in handler.received]


# -- a slow end-of-data reply ------------------------------------------------------------------
def test_a_reply_slower_than_the_command_timeout_is_awaited(project):
    """timeout: 0.5 s, but the server answers the end of the data after 1.5 s: RFC 5321 allows it (10 min)."""
    handler = Handler(data_delay=1.5)
    with smtp_server(handler) as server:
        write_delivery(project, server.port, smtp={"timeout": 0.5})
        send(project).raise_for_failures()
    assert sorted(handler.recipients()) == sorted(MANAGEMENT), "each recipient once"
    assert set(statuses(project).values()) == {"sent"}
    assert outcomes_of(project, MANAGEMENT[0]) == ["sent"]


def test_a_lost_end_of_data_reply_is_uncertain_never_retried_blindly(project, monkeypatch, capsys):
    handler = Handler(data_delay=2.0)
    with smtp_server(handler) as server:
        write_delivery(project, server.port, smtp={"timeout": 0.5, "data_timeout": 0.5}, attempts=4)
        report = send(project)
        with pytest.raises(DeliveryFailed) as failed:  # the others were not attempted: 4 wins over 5
            report.raise_for_failures()
        assert "uncertain" in failed.value.report() and "--uncertain" in failed.value.hint
        first = MANAGEMENT[0]
        assert handler.recipients() == [first], "stored once, not retried"
        assert outcomes_of(project, first) == ["uncertain"]
        assert statuses(project)[first] == "uncertain"
        uncertain_id = message_ids(handler)[0]
        assert rows(project, "SELECT message_id FROM _pulse_deliveries WHERE recipient = $a", {"a": first}) == [
            (uncertain_id,)]

        handler.data_delay = 0  # the server is quick again: the next send mails the others, not the uncertain one
        code, out, err = run_pulse(SEND, project, monkeypatch, capsys)
        assert code == 5, err
        assert "uncertain" in err and first in err and "--uncertain delivered" in err
        assert sorted(handler.recipients()) == sorted(MANAGEMENT), "every recipient exactly once"

        again = run_pulse(SEND, project, monkeypatch, capsys)  # still uncertain: still not sent, still said
        assert again[0] == 5 and len(handler.received) == 4

        code, out, err = run_pulse([*SEND, "--uncertain", "resend"], project, monkeypatch, capsys)
        assert code == 0, err
        assert f"sent: monthly {PERIOD} company-wide → {first}" in out
    assert len(handler.received) == 5
    resent = handler.received[-1]
    assert resent.rcpt_tos == (first,) and resent.message["Message-ID"] == uncertain_id, "the same Message-ID"
    assert statuses(project)[first] == "sent"
    assert outcomes_of(project, first) == ["uncertain", "sent"]


def test_an_uncertain_delivery_the_operator_confirms_is_not_sent_again(project, monkeypatch, capsys):
    handler = Handler(data_delay=1.5)
    with smtp_server(handler) as server:
        write_delivery(project, server.port, smtp={"timeout": 0.3, "data_timeout": 0.3})
        send(project)
        handler.data_delay = 0
        code, out, err = run_pulse([*SEND, "--uncertain", "delivered"], project, monkeypatch, capsys)
        assert code == 0, err
        assert "marked delivered (uncertain message" in out
        assert run_pulse(SEND, project, monkeypatch, capsys)[0] == 0
    assert sorted(handler.recipients()) == sorted(MANAGEMENT)
    assert set(statuses(project).values()) == {"sent"}
    assert outcomes_of(project, MANAGEMENT[0]) == ["uncertain", "marked_delivered"]


# -- a server killed between the message data and its reply -----------------------------------
def test_a_server_killed_after_the_data_leaves_the_delivery_uncertain(project, tmp_path):
    port, spool = free_port(), tmp_path / "spool"
    spool.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
    server = subprocess.Popen([sys.executable, "-m", "support.smtp", str(port), str(spool)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"

        def kill_once_stored() -> None:
            deadline = time.monotonic() + 120
            while not list(spool.glob("*.eml")) and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(server.pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_once_stored)
        killer.start()
        write_delivery(project, port)
        report = send(project)
        killer.join()
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGKILL)
        server.wait()
    assert len(list(spool.glob("*.eml"))) == 1, "the server had stored the message when it died"
    first = MANAGEMENT[0]
    assert [(o.recipient, o.status) for o in report.outcomes][0] == (first, "uncertain")
    assert outcomes_of(project, first) == ["uncertain"]
    with smtp_server(port=port) as restarted:
        with pytest.raises(DeliveryUncertain):
            send(project).raise_for_failures()
    assert sorted(restarted.handler.recipients()) == sorted(set(MANAGEMENT) - {first}), "the uncertain one not again"


# -- the pulse process killed with SIGKILL between the data and the reply -------------------------
def test_pulse_killed_between_data_and_reply_is_resolved_as_uncertain_on_restart(project, monkeypatch, capsys):
    handler = Handler(hold=True)
    with smtp_server(handler) as server:
        write_delivery(project, server.port)
        env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
        sender = subprocess.Popen([sys.executable, "-m", "pipeline", *SEND], cwd=project, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert handler.data_stored.wait(180), "the message never reached the server"
            os.kill(sender.pid, signal.SIGKILL)  # after DATA, before the server's reply
            sender.wait()
        finally:
            handler.release.set()
            if sender.poll() is None:
                sender.kill()
        assert sender.returncode == -signal.SIGKILL
        first = MANAGEMENT[0]
        assert handler.recipients() == [first]
        in_flight = rows(project, "SELECT recipient, outcome, message_id FROM _pulse_delivery_attempts")
        assert [(r[0], r[1]) for r in in_flight] == [(first, "in_flight")], "recorded before the data went out"
        assert in_flight[0][2] == handler.received[0].message["Message-ID"]

        handler.hold = False
        code, out, err = run_pulse(SEND, project, monkeypatch, capsys)
        assert code == 5, err
        assert "ended after handing the message to the server" in err and "--uncertain" in err
        assert sorted(handler.recipients()) == sorted(MANAGEMENT), "each recipient once, none twice"
        assert outcomes_of(project, first) == ["uncertain"]
        code, out, err = run_pulse(["log", "attempts", "--recipient", first, "--format", "json"], project,
                                   monkeypatch, capsys)
        assert code == 0 and '"outcome": "uncertain"' in out


# -- a failed resend never undoes a delivery ----------------------------------------------------------
def test_a_failed_resend_keeps_what_was_delivered(project, monkeypatch, capsys):
    handler = Handler()
    with smtp_server(handler) as server:
        write_delivery(project, server.port)
        send(project).raise_for_failures()
        delivered = rows(project, "SELECT recipient, status, delivered_message_id, sent_at FROM _pulse_deliveries "
                                  "ORDER BY recipient")
        handler.rcpt_replies = {a: "550 5.7.1 resends not welcome" for a in MANAGEMENT}
        code, out, err = run_pulse([*SEND, "--resend"], project, monkeypatch, capsys)
        assert code == 4 and "550 5.7.1" in err
        assert rows(project, "SELECT recipient, status, delivered_message_id, sent_at FROM _pulse_deliveries "
                             "ORDER BY recipient") == delivered, "the resend's failures did not rewrite the deliveries"
        assert outcomes_of(project, MANAGEMENT[0]) == ["sent", "rejected"]
        kinds = rows(project, "SELECT DISTINCT kind FROM _pulse_delivery_attempts WHERE outcome = 'rejected'")
        assert kinds == [("resend",)]
        handler.rcpt_replies = {}
        code, out, err = run_pulse(SEND, project, monkeypatch, capsys)
        assert code == 0 and out.count("already sent, not again") == 4
    assert sorted(handler.recipients()) == sorted(MANAGEMENT), "the plain send after it mailed nobody again"
