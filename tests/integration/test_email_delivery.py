"""Email delivery against a real SMTP server on loopback (aiosmtpd).

One module-scoped project is built for 2026-10 (monthly and regional) with a
small stand-in PDF per file; every test works on its own copy, so ledgers and
outboxes never leak between tests. `test_real_pdf_sent_by_the_cli` builds and
sends the real PDF through the `pulse` entry point.
"""

from __future__ import annotations

import email
import hashlib
import json
import shutil
import ssl
from datetime import datetime
from email import policy
from html import unescape
from pathlib import Path

import duckdb
import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from pipeline.app import runner
from pipeline.core.errors import ConfigError, PulseError, RunFailed
from pipeline.delivery import smtp as smtp_delivery
from pipeline.outputs.names import slug
from pipeline.report import render
from support.project import NOW, make_project, pulse, run_pulse, stub_pdf
from support.smtp import MANAGEMENT, Handler, free_port, smtp_server, write_delivery

PERIOD = "2026-10"
SUBJECT = "Nordlys Kaffe ApS: Monthly business review — October 2026"


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_exports) -> Path:
    project = make_project(tmp_path_factory.mktemp("email") / "project", demo_exports)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "render_pdf", stub_pdf)
        runner.run_report(project, "monthly", PERIOD, now=NOW)
        runner.run_report(project, "regional", PERIOD, now=NOW)
    return project


@pytest.fixture
def project(built, tmp_path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "project", symlinks=True))


def send(project: Path, report: str = "monthly", **options):
    return runner.send_report(project, report, PERIOD, now=NOW, sleep=lambda _s: None, **options)


def ledger_rows(project: Path) -> list[tuple]:
    con = duckdb.connect(str(project / ".pulse" / "pulse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT segment, recipient, status, attempts, pdf_sha256, last_error FROM _pulse_deliveries "
                           "ORDER BY segment, recipient").fetchall()
    finally:
        con.close()


def attempts_of(project: Path, recipient: str) -> list[str]:
    con = duckdb.connect(str(project / ".pulse" / "pulse.duckdb"), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT outcome FROM _pulse_delivery_attempts WHERE recipient = $a "
                                          "ORDER BY attempt", {"a": recipient}).fetchall()]
    finally:
        con.close()


def test_message_structure_headers_and_recipients(project):
    with smtp_server() as server:
        write_delivery(project, server.port)
        report = send(project)
    report.raise_for_failures()
    received = server.handler.received
    assert sorted(server.handler.recipients()) == sorted(MANAGEMENT)
    assert all(len(r.rcpt_tos) == 1 for r in received), "one SMTP transaction per recipient"
    assert {r.mail_from for r in received} == {"reports@nordlys.example"}
    assert len({r.content for r in received}) == 1, "every recipient gets the same bytes"
    message = received[0].message
    assert message["Subject"] == SUBJECT
    assert message["From"] == "Nordlys reports <reports@nordlys.example>"
    assert message["To"] == "Mette Holm <ceo@nordlys.example>, cfo@nordlys.example"
    assert message["Cc"] == "controlling@nordlys.example"
    assert message["Reply-To"] == "Controlling <controlling@nordlys.example>"
    assert message["Message-ID"] and message["Date"]
    assert "Bcc" not in message and b"archive@" not in received[0].content
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "monthly-2026-10.pdf"
    pdf = (project / "reports" / "monthly" / PERIOD / "monthly.pdf").read_bytes()
    assert attachment.get_content() == pdf
    text = message.get_body(("plain",)).get_content()
    html = unescape(message.get_body(("html",)).get_content())
    manifest = json.loads((project / "reports" / "monthly" / PERIOD / "manifest.json").read_text())
    summary = manifest["summary"]["company"]
    assert "Data as of 31 October 2026" in text and summary["movers"][0].replace("\u00a0", " ") in text
    assert "Data as of" in html and "31 October 2026" in html and summary["movers"][0] in html
    for body in (text, html):
        assert "Revenue" in body and "Objectives and key results (2026-Q4)" in body
    assert "<style" not in html and 'style="' in html, "CSS inlined into style attributes"
    digest = hashlib.sha256(pdf).hexdigest()
    assert [(r[1], r[2], r[3], r[4]) for r in ledger_rows(project)] == [(a, "sent", 1, digest) for a in sorted(MANAGEMENT)]


def test_each_segment_gets_its_own_pdf_and_lists(project):
    with smtp_server() as server:
        write_delivery(project, server.port)
        send(project, "regional").raise_for_failures()
    by_subject = {}
    for r in server.handler.received:
        by_subject.setdefault(r.message["Subject"], []).extend(r.rcpt_tos)
    assert by_subject == {
        "Regional sales review — October 2026": ["sales@nordlys.example"],
        "Regional sales review — Hovedstaden — October 2026": ["east@nordlys.example"],
        "Regional sales review — Sjælland — October 2026": ["east@nordlys.example"],
        "Regional sales review — Midtjylland — October 2026": ["west@nordlys.example"],
        "Regional sales review — Nordjylland — October 2026": ["west@nordlys.example"],
        "Regional sales review — Syddanmark — October 2026": ["west@nordlys.example"],
    }
    folder = project / "reports" / "regional" / PERIOD
    for r in server.handler.received:
        message = r.message
        attachment = next(message.iter_attachments())
        segment = message["Subject"].split(" — ")[1] if message["Subject"].count(" — ") == 2 else None
        name = "regional.pdf" if segment is None else f"regional-{slug(segment)}.pdf"
        assert attachment.get_content() == (folder / name).read_bytes()
        assert (segment or "Regional sales review") in message.get_body(("html",)).get_content()


def test_a_second_send_sends_nothing_and_resend_sends_again(project):
    with smtp_server() as server:
        write_delivery(project, server.port)
        send(project).raise_for_failures()
        again = send(project)
        assert len(server.handler.received) == 4
        assert {o.status for o in again.outcomes} == {"already_sent"}
        send(project, resend=True).raise_for_failures()
    assert sorted(server.handler.recipients()) == sorted(MANAGEMENT * 2)
    assert all(r[3] == 2 for r in ledger_rows(project))


def test_a_4xx_reply_is_retried_then_sent(project):
    handler = Handler(data_replies=["451 4.3.0 try again later"])
    with smtp_server(handler) as server:
        write_delivery(project, server.port)
        send(project).raise_for_failures()
    assert sorted(handler.recipients()) == sorted(MANAGEMENT)
    first = MANAGEMENT[0]
    assert attempts_of(project, first) == ["failed", "sent"]
    assert {r[1]: r[3] for r in ledger_rows(project)}[first] == 2


def test_a_connection_dropped_before_the_data_is_retried_then_sent(project):
    handler = Handler(rcpt_replies={MANAGEMENT[0]: "drop"})
    with smtp_server(handler) as server:
        write_delivery(project, server.port)
        first = send(project)
        assert [o.status for o in first.outcomes] == ["failed"] + ["skipped"] * 3  # dropped at RCPT, every attempt
        handler.rcpt_replies.clear()
        send(project).raise_for_failures()
    assert sorted(handler.recipients()) == sorted(MANAGEMENT)
    assert attempts_of(project, MANAGEMENT[0]) == ["failed", "failed", "failed", "sent"]


def test_a_5xx_refusal_is_not_retried_and_fails_the_command(project):
    handler = Handler(rcpt_replies={"cfo@nordlys.example": "550 5.1.1 no such user"})
    with smtp_server(handler) as server:
        write_delivery(project, server.port)
        report = send(project)
        with pytest.raises(RunFailed) as failed:
            report.raise_for_failures()
        assert failed.value.exit_code == 4  # a delivery failed
        assert "cfo@nordlys.example" in failed.value.report() and "550 5.1.1 no such user" in failed.value.report()
        assert sorted(handler.recipients()) == sorted(set(MANAGEMENT) - {"cfo@nordlys.example"})
        assert attempts_of(project, "cfo@nordlys.example") == ["rejected"]
        handler.rcpt_replies.clear()  # the mailbox was fixed: the next send delivers only what is owed
        send(project).raise_for_failures()
    assert sorted(handler.recipients()) == sorted(MANAGEMENT)


def test_refused_connection_fails_then_the_next_run_sends_only_what_is_owed(project):
    port = free_port()  # nothing listens here
    write_delivery(project, port)
    report = send(project)
    with pytest.raises(RunFailed) as failed:
        report.raise_for_failures()
    assert "refused" in failed.value.report() and len(failed.value.details) == 4
    statuses = {r[1]: (r[2], r[3]) for r in ledger_rows(project)}
    assert statuses[MANAGEMENT[0]] == ("failed", 3)  # retried up to retry.attempts
    assert sorted(s for a, s in statuses.items() if a != MANAGEMENT[0]) == [("skipped", 0)] * 3
    with smtp_server(port=port) as server:
        send(project).raise_for_failures()
        send(project).raise_for_failures()
    assert sorted(server.handler.recipients()) == sorted(MANAGEMENT)


def test_a_crash_between_two_recipients_never_sends_twice(project, monkeypatch):
    original = smtp_delivery.SmtpTransport.send
    calls = []

    class Crash(Exception):
        pass

    def crashing(self, data, sender, recipient, on_data):
        calls.append(recipient)
        if len(calls) == 2:
            raise Crash("killed between two recipients")
        return original(self, data, sender, recipient, on_data)

    with smtp_server() as server:
        write_delivery(project, server.port)
        monkeypatch.setattr(smtp_delivery.SmtpTransport, "send", crashing)
        with pytest.raises(Crash):
            send(project)
        assert server.handler.recipients() == [calls[0]]
        monkeypatch.setattr(smtp_delivery.SmtpTransport, "send", original)
        send(project).raise_for_failures()
    got = server.handler.recipients()
    assert sorted(got) == sorted(MANAGEMENT) and len(got) == len(set(got))


def test_dry_run_writes_eml_files_that_parse_back(project):
    with smtp_server() as server:
        write_delivery(project, server.port)
        report = send(project, "regional", dry_run=True)
    assert server.handler.received == []
    outbox = project / "reports" / "regional" / PERIOD / "outbox"
    assert sorted(p.name for p in outbox.iterdir()) == sorted(
        ["company__sales_leads.eml", "hovedstaden__sales_east.eml", "sjaelland__sales_east.eml",
         "midtjylland__sales_west.eml", "nordjylland__sales_west.eml", "syddanmark__sales_west.eml"])
    assert sorted(report.outbox_files) == sorted(outbox.iterdir())
    message = email.message_from_bytes((outbox / "sjaelland__sales_east.eml").read_bytes(), policy=policy.default)
    assert message["Subject"] == "Regional sales review — Sjælland — October 2026"
    assert message["To"] == "east@nordlys.example"
    assert next(message.iter_attachments()).get_content() == (outbox.parent / "regional-sjaelland.pdf").read_bytes()
    assert ledger_rows(project) == []


def test_outbox_switch_in_config_writes_instead_of_sending(project):
    with smtp_server() as server:
        write_delivery(project, server.port, outbox=True)
        send(project)
    assert server.handler.received == []
    assert (project / "reports" / "monthly" / PERIOD / "outbox" / "company__management.eml").is_file()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    return folder / "ca.pem", context


def authenticator(user: bytes, password: bytes):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
        return AuthResult(success=ok, handled=False)
    return check


TLS_SMTP = {"security": "starttls", "username": "pulse", "password_env": "PULSE_TEST_SMTP_PASSWORD",
            "ca_file": "config/ca.pem"}


def test_starttls_and_auth_with_a_verified_certificate(project, certificates, monkeypatch):
    ca_file, context = certificates
    shutil.copy(ca_file, project / "config" / "ca.pem")
    monkeypatch.setenv("PULSE_TEST_SMTP_PASSWORD", "s3cret-pa55")
    with smtp_server(tls_context=context, require_starttls=True, auth_required=True,
                     authenticator=authenticator(b"pulse", b"s3cret-pa55")) as server:
        write_delivery(project, server.port, smtp=TLS_SMTP)
        send(project).raise_for_failures()
    assert sorted(server.handler.recipients()) == sorted(MANAGEMENT)


def test_an_untrusted_certificate_stops_delivery(project, certificates, monkeypatch):
    _ca_file, context = certificates
    monkeypatch.setenv("PULSE_TEST_SMTP_PASSWORD", "s3cret-pa55")
    with smtp_server(tls_context=context, require_starttls=True) as server:
        write_delivery(project, server.port, smtp={**TLS_SMTP, "ca_file": None})
        report = send(project)
    assert server.handler.received == []
    with pytest.raises(RunFailed) as failed:
        report.raise_for_failures()
    assert "not trusted" in failed.value.report() and "ca_file" in failed.value.report()
    assert [o.attempts for o in report.outcomes] == [1, 0, 0, 0], "a fatal failure is not retried nor repeated"


def test_the_password_never_appears_in_errors_ledger_or_manifest(project, certificates, monkeypatch):
    ca_file, context = certificates
    shutil.copy(ca_file, project / "config" / "ca.pem")
    monkeypatch.setenv("PULSE_TEST_SMTP_PASSWORD", "wrong-pa55word")
    with smtp_server(tls_context=context, require_starttls=True, auth_required=True,
                     authenticator=authenticator(b"pulse", b"s3cret-pa55")) as server:
        write_delivery(project, server.port, smtp=TLS_SMTP)
        report = send(project)
    assert server.handler.received == []
    with pytest.raises(RunFailed) as failed:
        report.raise_for_failures()
    assert "authentication" in failed.value.report()
    assert "wrong-pa55word" not in failed.value.report()
    assert all("wrong-pa55word" not in str(row) for row in ledger_rows(project))
    assert "wrong-pa55word" not in (project / "reports" / "monthly" / PERIOD / "manifest.json").read_text()
    monkeypatch.delenv("PULSE_TEST_SMTP_PASSWORD")
    with pytest.raises(ConfigError, match="PULSE_TEST_SMTP_PASSWORD is not set"):
        send(project)


def test_outputs_built_from_older_exports_are_refused(project):
    sales = sorted((project / "data" / "sales").glob("sales_2026-10.*"))[0]
    shutil.copy(sales, sales.with_name("sales_2026-10b" + sales.suffix))
    with smtp_server() as server:
        write_delivery(project, server.port)
        with pytest.raises(RunFailed) as refused:
            send(project)
    assert server.handler.received == []
    message = refused.value.report()
    assert "built from older exports (data as of 2026-10-31)" in message and "re-run" in message
    assert "new: data/sales/sales_2026-10b" in message


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_password_over_a_plaintext_connection_is_refused_unless_allowed(project, monkeypatch, capsys):
    monkeypatch.setenv("PULSE_TEST_SMTP_PASSWORD", "s3cret-pa55")
    logins: list[bytes] = []

    def check(server, session, envelope, mechanism, auth_data):
        logins.append(auth_data.password)
        return AuthResult(success=auth_data.password == b"s3cret-pa55", handled=False)

    plain = {"security": "none", "username": "pulse", "password_env": "PULSE_TEST_SMTP_PASSWORD"}
    with smtp_server(auth_required=True, auth_require_tls=False, authenticator=check) as server:
        write_delivery(project, server.port, smtp=plain)
        code, out, err = run_pulse(["validate", "--now", NOW.isoformat()], project, monkeypatch, capsys)
        assert code == 1
        assert "config/delivery.yaml:" in err and "would send the password in clear text" in err
        assert "allow_plaintext_auth" in err
        code, out, err = run_pulse(["send", "monthly", "--period", PERIOD, "--now", NOW.isoformat()], project,
                                   monkeypatch, capsys)
        assert code == 2 and "would send the password in clear text" in err
        assert logins == [] and server.handler.received == [], "nothing reached the server"

        write_delivery(project, server.port, smtp={**plain, "allow_plaintext_auth": True})  # a loopback relay
        code, out, err = run_pulse(["send", "monthly", "--period", PERIOD, "--now", NOW.isoformat()], project,
                                   monkeypatch, capsys)
        assert code == 0, err
    assert logins == [b"s3cret-pa55"] and sorted(server.handler.recipients()) == sorted(MANAGEMENT)


def test_sending_a_period_that_was_never_built_is_an_error(project):
    with smtp_server() as server:
        write_delivery(project, server.port)
        with pytest.raises(PulseError) as missing:
            runner.send_report(project, "monthly", "2026-08", now=NOW)
    assert missing.value.exit_code == 2 and "no built report for monthly 2026-08" in missing.value.message
    assert server.handler.received == []


def test_nothing_is_sent_when_the_quality_gate_fails(tmp_path, demo_exports):
    project = make_project(tmp_path / "project", demo_exports)
    for path in (project / "data" / "sales").glob("sales_2026-10.*"):
        path.unlink()  # October's sales are missing: the freshness check fails
    with smtp_server() as server:
        write_delivery(project, server.port)
        result = pulse(["run", "--period", PERIOD, "--email", "--now", NOW.isoformat()], cwd=project)
    assert result.returncode == 3, result.stderr  # the data-quality gate failed
    assert "data-quality gate failed" in result.stderr and "sales: freshness:" in result.stderr
    assert server.handler.received == []


def test_real_pdf_sent_by_the_cli_is_reproduced_byte_for_byte_and_archived(tmp_path, demo_exports):
    from datetime import timezone
    from io import BytesIO

    from pypdf import PdfReader

    project = make_project(tmp_path / "project", demo_exports)
    with smtp_server() as server:
        write_delivery(project, server.port)
        result = pulse(["run", "--period", PERIOD, "--email", "--now", NOW.isoformat()], cwd=project)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert sum(line.startswith("sent: monthly 2026-10") for line in result.stdout.splitlines()) == 4
        again = pulse(["send", "monthly", "--period", PERIOD, "--now", NOW.isoformat()], cwd=project)
        assert again.returncode == 0, again.stderr
        assert "already sent, not again" in again.stdout
    assert len(server.handler.received) == 4
    folder = project / "reports" / "monthly" / PERIOD
    pdf = (folder / "monthly.pdf").read_bytes()
    attachment = next(server.handler.received[0].message.iter_attachments()).get_content()
    assert attachment == pdf
    reader = PdfReader(BytesIO(attachment))
    assert len(reader.pages) >= 2 and "Monthly business review" in reader.pages[0].extract_text()
    # dated from the data (data as of 31 October), not the clock; a stable document identifier
    october_31 = datetime(2026, 10, 31, tzinfo=timezone.utc)
    assert reader.metadata.creation_date == october_31 and reader.metadata.modification_date == october_31
    identifier = reader.trailer["/ID"][0]

    # a rebuild from the same data, in another process on another day, gives the same bytes
    rebuilt = pulse(["run", "--period", PERIOD, "--now", "2026-11-28T15:30:00+01:00"], cwd=project)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (folder / "monthly.pdf").read_bytes() == pdf
    assert PdfReader(BytesIO(pdf)).trailer["/ID"][0] == identifier
    # and what was mailed is archived under the hash the ledger records
    digest = hashlib.sha256(pdf).hexdigest()
    assert {r[4] for r in ledger_rows(project)} == {digest}
    assert (folder / "sent" / f"{digest}.pdf").read_bytes() == pdf


def test_a_server_that_never_answers_times_out_and_is_retried(project):
    import socket

    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        write_delivery(project, silent.getsockname()[1], smtp={"timeout": 0.2}, attempts=2)
        report = send(project)
    with pytest.raises(RunFailed) as failed:
        report.raise_for_failures()
    assert "timed out" in failed.value.report()
    assert [(o.status, o.attempts) for o in report.outcomes] == [("failed", 2)] + [("skipped", 0)] * 3


def test_implicit_tls_with_a_private_ca(project, certificates):
    ca_file, context = certificates
    shutil.copy(ca_file, project / "config" / "ca.pem")
    with smtp_server(ssl_context=context) as server:
        write_delivery(project, server.port, smtp={"security": "ssl", "ca_file": "config/ca.pem"})
        send(project).raise_for_failures()
    assert sorted(server.handler.recipients()) == sorted(MANAGEMENT)


def test_a_configured_segment_without_a_report_is_reported(project):
    path = project / "config" / "reports.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Sjælland: [sales_east]", "Sjaelland: [sales_east]"),
                    encoding="utf-8")
    with smtp_server() as server:
        write_delivery(project, server.port)
        report = send(project, "regional")
    with pytest.raises(RunFailed) as failed:
        report.raise_for_failures()
    assert "segment 'Sjaelland'" in failed.value.report() and "did you mean 'Sjælland'?" in failed.value.report()
    assert len(server.handler.received) == 5  # everyone else got theirs
