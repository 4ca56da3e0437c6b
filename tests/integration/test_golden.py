"""Golden files: the demo period's report HTML, its email and its manifest, as committed files.

A change in what Pulse writes shows up as a diff of tests/golden/ in review. The
demo project (this repository's config/, queries/ and templates with the test
exports, "now" fixed at support.project.NOW) is built for 2026-10 with its
email written to the outbox; the PDF is a stand-in (its bytes are tested
elsewhere), so the files here are byte-for-byte the same on every machine.

What changes from run to run is written as a placeholder: the PDF's hash, the
timings, the tool versions, the Message-ID and the MIME boundaries.

Regenerate after an intended change, then read the diff before committing:

    make golden        # = PULSE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/integration/test_golden.py
    git diff tests/golden/
"""

from __future__ import annotations

import difflib
import email
import json
import os
import re
from email import policy
from pathlib import Path

import pytest

from pipeline.app import runner
from pipeline.report import render
from support.project import NOW, make_project, restate_october_returns, stub_pdf
from support.smtp import smtp_server, write_delivery

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("PULSE_UPDATE_GOLDEN") == "1"
PERIOD = "2026-10"


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_exports) -> Path:
    project = make_project(tmp_path_factory.mktemp("golden") / "project", demo_exports)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "render_pdf", stub_pdf)
        result = runner.run_report(project, "monthly", PERIOD, now=NOW)
        runner.send_report(project, now=NOW, dry_run=True, built=result)
    return result.folder


def manifest_text(folder: Path) -> str:
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    data["timings_seconds"] = "<timings>"
    data["versions"] = "<versions>"
    data["outputs"] = {name: ("<sha256 of the stand-in PDF>" if name.endswith(".pdf") else digest)
                       for name, digest in data["outputs"].items()}
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def email_text(path: Path) -> str:
    """The message as a reader sees it: headers, the text part, the HTML part, the attachment's name."""
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    lines = [f"{name}: {message[name]}" for name in ("Subject", "From", "To", "Cc", "Reply-To", "Date")
             if message[name] is not None]
    lines.append("Message-ID: <placeholder>" if message["Message-ID"] else "Message-ID: (none)")
    lines += [f"{name}: <placeholder: the original's Message-ID>" for name in ("In-Reply-To", "References")
              if message[name] is not None]
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        if part.get_filename():
            lines += ["", f"--- attachment {part.get_filename()} ({kind})"]
        else:
            lines += ["", f"--- {kind}", part.get_content().replace("\r\n", "\n").rstrip("\n")]
    return "\n".join(lines) + "\n"


def _compare(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), f"tests/golden/{name} is missing: run `make golden` and commit it"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"tests/golden/{name}", "this build", n=2))
        pytest.fail(f"{name} differs from the golden file (if intended: `make golden`, review `git diff`):\n"
                    + diff[:6000])


def test_report_html(built):
    _compare("monthly-2026-10.html", (built / "monthly.html").read_text(encoding="utf-8"))


def test_manifest(built):
    _compare("monthly-2026-10.manifest.json", manifest_text(built))


def test_email(built):
    (eml,) = sorted((built / "outbox").glob("*.eml"))
    _compare(f"monthly-2026-10.{eml.stem}.email.txt", email_text(eml))


@pytest.fixture(scope="module")
def corrected(tmp_path_factory, demo_exports) -> Path:
    """The demo period sent to a real SMTP server, then restated: the correction, written to the outbox."""
    project = make_project(tmp_path_factory.mktemp("golden-correction") / "project", demo_exports)
    with pytest.MonkeyPatch.context() as patch, smtp_server() as server:
        patch.setattr(render, "render_pdf", stub_pdf)
        write_delivery(project, server.port)
        result = runner.run_report(project, "monthly", PERIOD, now=NOW)
        runner.send_report(project, now=NOW, built=result).raise_for_failures()
        restate_october_returns(project)
        result = runner.run_report(project, "monthly", PERIOD, now=NOW)
        runner.send_report(project, now=NOW, built=result, dry_run=True, send_correction=True)  # preview it
    return result.folder


def test_correction_email(corrected):
    eml = corrected / "outbox" / "company__management__correction.eml"
    _compare(f"monthly-2026-10.{eml.stem}.email.txt", email_text(eml))


def test_the_placeholders_cover_only_what_changes_between_runs(built):
    text = manifest_text(built)
    assert re.search(r'"built_at": "2026-11-25T09:00:00\+00:00"', text)
    assert "<sha256 of the stand-in PDF>" in text and '"monthly.html": "' in text
