"""Corrections: figures that changed after a report was sent reach its recipients as a correction.

October is built and emailed (real SMTP server on loopback), then a late
re-export marks a quarter of October's completed lines as returned: the return
rate rises. The next `pulse run --email` holds the correction (exit code 6, the
changed figures named); `--send-correction` (or `corrections: send`) sends it:
"Correction" in subject and body, old -> new values, In-Reply-To/References
naming the original message. The restatement stays on record in later builds.
"""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.report import render
from support.project import NOW, make_project, restate_october_returns, run_pulse, stub_pdf
from support.smtp import MANAGEMENT, smtp_server, write_delivery

PERIOD = "2026-10"
NOW_ARG = ["--now", NOW.isoformat()]
RUN_EMAIL = ["run", "--period", PERIOD, "--email", *NOW_ARG]
SEND = ["send", "monthly", "--period", PERIOD, *NOW_ARG]


@pytest.fixture
def project(tmp_path, demo_exports, monkeypatch) -> Path:
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    return make_project(tmp_path / "project", demo_exports)


def manifest(project: Path) -> dict:
    return json.loads((project / "reports" / "monthly" / PERIOD / "manifest.json").read_text(encoding="utf-8"))


def percent(value: float) -> str:
    """As the demo project writes a percentage (locale en_DK: decimal comma)."""
    return f"{value * 100:.1f} %".replace(".", ",")


def ledger(project: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(project / ".pulse" / "pulse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_restatement_after_sending_is_held_then_sent_as_a_correction(project, monkeypatch, capsys):
    with smtp_server() as server:
        write_delivery(project, server.port)
        code, out, err = run_pulse(RUN_EMAIL, project, monkeypatch, capsys)
        assert code == 0, err
        originals = {r.rcpt_tos[0]: r.message["Message-ID"] for r in server.handler.received}
        old = manifest(project)["kpis"]["return_rate"]["value"]

        restate_october_returns(project)
        code, out, err = run_pulse(RUN_EMAIL, project, monkeypatch, capsys)
        new = manifest(project)["kpis"]["return_rate"]["value"]
        assert new > old + 0.03, (old, new)
        change = f"Return rate: {percent(old)} → {percent(new)}"
        assert code == 6, err  # held: nothing sent, the changed figures named
        assert "figures changed after the report was sent to 4 recipient(s)" in err
        assert change in err.replace("\u00a0", " ") and "--send-correction" in err
        assert len(server.handler.received) == 4

        code, out, err = run_pulse([*SEND, "--send-correction"], project, monkeypatch, capsys)
        assert code == 0, err
        assert out.count("correction sent: monthly 2026-10") == 4 and change in out.replace("\u00a0", " ")
        corrections = server.handler.received[4:]
        assert sorted(r.rcpt_tos[0] for r in corrections) == sorted(MANAGEMENT)
        for received in corrections:
            message = received.message
            assert message["Subject"] == "Correction: Nordlys Kaffe ApS: Monthly business review — October 2026"
            original = originals[received.rcpt_tos[0]]
            assert message["In-Reply-To"] == original and original in message["References"]
            text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
            assert text.startswith("CORRECTION\nThis replaces the report sent on 25 November 2026.")
            assert change in text
            html = unescape(message.get_body(("html",)).get_content()).replace("\u00a0", " ")
            assert "Correction" in html and percent(old) in html and percent(new) in html
            pdf = next(message.iter_attachments()).get_content()
            assert pdf == (project / "reports" / "monthly" / PERIOD / "monthly.pdf").read_bytes()

        code, out, err = run_pulse(SEND, project, monkeypatch, capsys)
        assert code == 0 and out.count("already sent, not again") == 4
        assert len(server.handler.received) == 8, "the correction goes out once"

    kinds = ledger(project, "SELECT DISTINCT delivered_kind, status FROM _pulse_deliveries")
    assert kinds == [("correction", "sent")]
    # what was mailed is on record: both versions, hash-addressed, the ledger pointing at the latest
    sent = project / "reports" / "monthly" / PERIOD / "sent"
    pdfs = {p.stem for p in sent.glob("*.pdf")}
    delivered = {r[0] for r in ledger(project, "SELECT delivered_pdf_sha256 FROM _pulse_deliveries")}
    attempted = {r[0] for r in ledger(project, "SELECT pdf_sha256 FROM _pulse_delivery_attempts")}
    assert len(pdfs) == 2 and delivered <= pdfs and attempted == pdfs

    # the restatement stays on record when the period is built again from the same data
    code, out, err = run_pulse(["run", "--period", PERIOD, *NOW_ARG], project, monkeypatch, capsys)
    assert code == 0, err
    restated = {r["kpi"]: r for r in manifest(project)["restated"]}
    assert restated["return_rate"]["old"] == pytest.approx(old) and restated["return_rate"]["new"] == pytest.approx(new)
    html = (project / "reports" / "monthly" / PERIOD / "monthly.html").read_text(encoding="utf-8")
    assert 'id="restatements"' in html and "Figures restated since they were first reported" in html
    assert sorted(p.stem for p in sent.glob("*.pdf")) == sorted(pdfs), "sent/ survives the rebuild"


def test_corrections_send_sends_the_correction_at_once(project, monkeypatch, capsys):
    with smtp_server() as server:
        write_delivery(project, server.port)
        assert run_pulse(RUN_EMAIL, project, monkeypatch, capsys)[0] == 0
        path = project / "config" / "delivery.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        path.write_text(yaml.safe_dump({**config, "corrections": "send"}), encoding="utf-8")
        restate_october_returns(project)
        code, out, err = run_pulse(RUN_EMAIL, project, monkeypatch, capsys)
        assert code == 0, err
    subjects = [r.message["Subject"] for r in server.handler.received]
    assert len(subjects) == 8 and all(s.startswith("Correction: ") for s in subjects[4:])


def test_a_rebuild_with_unchanged_figures_is_not_a_correction(project, monkeypatch, capsys):
    with smtp_server() as server:
        write_delivery(project, server.port)
        assert run_pulse(RUN_EMAIL, project, monkeypatch, capsys)[0] == 0
        css = project / "report_templates" / "report.css"
        css.write_text(css.read_text(encoding="utf-8") + "\nh1 { letter-spacing: 0.01em; }\n", encoding="utf-8")
        # a different layout, so a different PDF, with the same figures
        before = (project / "reports" / "monthly" / PERIOD / "monthly.pdf").read_bytes()
        code, out, err = run_pulse(RUN_EMAIL, project, monkeypatch, capsys)
        assert code == 0, err
        assert (project / "reports" / "monthly" / PERIOD / "monthly.pdf").read_bytes() != before
        assert out.count("already sent, not again") == 4
    assert len(server.handler.received) == 4


def test_a_segment_correction_names_the_segment_figures(tmp_path, demo_exports, monkeypatch, capsys):
    project = make_project(tmp_path / "project", demo_exports)
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    regional = ["run", "regional", "--period", PERIOD, "--email", *NOW_ARG]
    with smtp_server() as server:
        write_delivery(project, server.port)
        assert run_pulse(regional, project, monkeypatch, capsys)[0] == 0
        first = len(server.handler.received)
        restate_october_returns(project)
        code, out, err = run_pulse([*regional, "--send-correction"], project, monkeypatch, capsys)
        assert code == 0, err
    corrections = server.handler.received[first:]
    assert corrections and all(r.message["Subject"].startswith("Correction: Regional sales review") for r in corrections)
    text = {r.message["Subject"]: r.message.get_body(("plain",)).get_content() for r in corrections}
    assert any("Return rate: " in body for body in text.values())
