"""Segment reports (burst_by) get file names of their own, and each segment's email its own PDF.

Segment names are data: 'Sjælland' and 'Sjaelland' both read as "sjaelland",
Arabic names have no Latin letters of their own, and a name can be 300
characters long. A tiny burst project with such names is built (stand-in PDFs,
one per HTML); every segment must keep its own files, the manifest must map
segment -> files, and `pulse send --dry-run` must attach each segment's own PDF.
A run that fails while publishing leaves nothing in staging.
"""

from __future__ import annotations

import email
import errno
import json
from email import policy
from pathlib import Path

import pytest
import yaml

from pipeline.app import runner
from pipeline.outputs import publish
from pipeline.outputs.names import MAX_PART, segment_stems, slug
from pipeline.report import render
from support.project import NOW, run_pulse, stub_pdf

LONG = "Region " + "Nord" * 74 + "ø"  # 304 characters
SEGMENTS = ["Sjælland", "Sjaelland", "القاهرة", "الإسكندرية", LONG, "Fyn"]


def make_burst_project(root: Path) -> Path:
    for folder in ("config", "queries", "data"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    lists = {f"list_{i}": {"to": [f"seg{i}@example.com"]} for i in range(len(SEGMENTS))}
    config = {
        "pulse.yaml": {"project": {"company": "Segmenter ApS", "timezone": "Europe/Copenhagen"}},
        "sources.yaml": {"sources": {"sales": {
            "paths": "data/sales.csv", "primary_key": ["order_id"],
            "columns": {"order_id": {"type": "text"}, "day": {"type": "date"}, "region": {"type": "text"},
                        "amount": {"type": "number"}}}}},
        "kpis.yaml": {"kpis": {"revenue": {"title": "Revenue", "unit": "currency", "fill": "zero"}}},
        "reports.yaml": {"reports": {"regional": {
            "title": "Regional review", "kpis": ["revenue"], "burst_by": "region", "okrs": False,
            "email": {"send_to": ["everyone"],
                      "segments": {name: [f"list_{i}"] for i, name in enumerate(SEGMENTS)}}}}},
        "delivery.yaml": {"from": "reports@example.com", "outbox": True,
                          "recipient_lists": {"everyone": {"to": ["all@example.com"]}, **lists}},
    }
    for name, data in config.items():
        (root / "config" / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                            encoding="utf-8")
    (root / "queries" / "revenue.sql").write_text(
        "SELECT p.period_start AS period, s.region AS region, sum(s.amount) AS value\n"
        "FROM periods p JOIN sales s ON s.day >= p.period_start AND s.day < p.period_end\n"
        "GROUP BY GROUPING SETS ((p.period_start), (p.period_start, s.region))\n", encoding="utf-8")
    rows = ["order_id,day,region,amount"]
    for index, name in enumerate(SEGMENTS):
        quoted = '"' + name.replace('"', '""') + '"'
        rows += [f"a{index},2026-09-15,{quoted},{100 + index}", f"b{index},2026-10-31,{quoted},{200 + 10 * index}"]
    (root / "data" / "sales.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def built(tmp_path: Path, monkeypatch) -> tuple[Path, runner.RunResult, dict]:
    project = make_burst_project(tmp_path / "project")
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    result = runner.run_report(project, "regional", "2026-10", now=NOW)
    manifest = json.loads((result.folder / "manifest.json").read_text(encoding="utf-8"))
    return project, result, manifest


def test_stems_are_unique_bounded_and_readable_where_possible() -> None:
    stems = segment_stems("regional", SEGMENTS)
    assert len(set(stems.values())) == len(SEGMENTS)
    assert stems["Fyn"] == "regional-fyn"  # nothing to tell apart: plain
    assert stems["Sjælland"].startswith("regional-sjaelland-") and stems["Sjaelland"].startswith("regional-sjaelland-")
    assert stems["القاهرة"] == "regional-lqhrh"  # transliterated, readable
    assert stems["الإسكندرية"].startswith("regional-l-skndryh")
    assert len(stems[LONG]) <= len("regional-") + MAX_PART + 1 + 8
    assert stems[LONG].startswith("regional-region-nordnord")
    assert all(len(s.encode()) < 100 for s in stems.values())
    assert segment_stems("regional", list(reversed(SEGMENTS))) == stems  # the order of segments plays no part
    assert segment_stems("r", ["North", "north"])["North"] != segment_stems("r", ["North", "north"])["north"]
    # names with nothing to transliterate still differ, by their hash
    assert len(set(segment_stems("r", ["\u200b", "\u200c", "!"]).values())) == 3
    assert slug("Ærø / Ålborg") == "aeroe-aalborg" and slug("../../etc") == "etc"


def test_every_segment_keeps_its_own_files(built) -> None:
    project, result, manifest = built
    assert sorted(manifest["segments"]) == sorted(SEGMENTS)
    files = [f for name in SEGMENTS for f in manifest["segments"][name]["files"]]
    assert len(files) == len(set(files)) == 2 * len(SEGMENTS)
    on_disk = {p.name for p in result.folder.iterdir()}
    assert on_disk == {*files, "regional.html", "regional.pdf", "manifest.json"}
    pdfs = set()
    for name in SEGMENTS:
        html_name, pdf_name = sorted(manifest["segments"][name]["files"])
        assert html_name.endswith(".html") and pdf_name == html_name.replace(".html", ".pdf")
        html = (result.folder / html_name).read_text(encoding="utf-8")
        assert name in html, name
        pdf = (result.folder / pdf_name).read_bytes()
        assert pdf == stub_pdf(html, None)  # the PDF of this very HTML, not of another segment
        pdfs.add(pdf)
        assert manifest["outputs"][pdf_name]
    assert len(pdfs) == len(SEGMENTS)
    assert not (project / ".pulse" / "staging").exists()


def test_each_segment_email_carries_its_own_pdf(built, monkeypatch, capsys) -> None:
    project, result, manifest = built
    code, out, err = run_pulse(["send", "regional", "--period", "2026-10", "--dry-run", "--now", NOW.isoformat()],
                               project, monkeypatch, capsys)
    assert code == 0, err
    outbox = sorted((result.folder / "outbox").glob("*.eml"))
    assert len(outbox) == len(SEGMENTS) + 1
    lists = {f"list_{i}": name for i, name in enumerate(SEGMENTS)}
    for path in outbox:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        list_name = path.stem.rsplit("__", 1)[1]
        attachment = next(message.iter_attachments())
        if list_name == "everyone":
            assert attachment.get_content() == (result.folder / "regional.pdf").read_bytes()
            continue
        segment = lists[list_name]
        pdf_name = next(f for f in manifest["segments"][segment]["files"] if f.endswith(".pdf"))
        assert attachment.get_content() == (result.folder / pdf_name).read_bytes(), segment
        assert segment in message["Subject"]
        assert attachment.get_filename() == pdf_name.replace(".pdf", "-2026-10.pdf")
        assert len(path.name.encode()) < 255


def test_a_run_that_fails_while_publishing_leaves_no_staging(tmp_path: Path, monkeypatch) -> None:
    project = make_burst_project(tmp_path / "project")
    monkeypatch.setattr(render, "render_pdf", stub_pdf)
    written = []
    original = publish.write_file

    def failing(target: Path, content: bytes) -> None:
        if len(written) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        written.append(target)
        original(target, content)

    monkeypatch.setattr(publish, "write_file", failing)
    with pytest.raises(OSError):
        runner.run_report(project, "regional", "2026-10", now=NOW)
    staging = project / ".pulse" / "staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert not (project / "reports" / "regional" / "2026-10").exists()
