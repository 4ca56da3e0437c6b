"""What a delivery would send: built outputs, checked, turned into messages.

Reads `reports/<report>/<period>/manifest.json` and the PDFs it lists (each
checked against its sha256 in the manifest), refuses outputs built from other
exports than the current ones (`check_fresh`), and plans one message per
recipient list: the company-wide report to the report's `send_to` lists, each
segment's report (burst_by) to its lists in `email.segments`. A recipient in
two lists of the same report file gets it once (from the first list).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import ReportConfig, did_you_mean
from pipeline.config.delivery import DeliveryFile
from pipeline.core.errors import DeliveryError, DeliveryFailed
from pipeline.core.paths import display_path
from pipeline.outputs.manifest import MANIFEST, Manifest, ManifestError
from pipeline.report.summary import EmailSummary
from pipeline.sources.ingest import IngestReport

from .message import Attachment, Envelope, subject_for


@dataclass(frozen=True)
class BuiltReport:
    """A report and period as archived: its manifest (and the manifest file's bytes and sha256) and folder."""

    report: str
    period: str
    folder: Path
    manifest: Manifest
    manifest_bytes: bytes = b""

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_bytes).hexdigest()


@dataclass(frozen=True)
class PlannedMessage:
    segment: str | None  # None: the company-wide report
    file_key: str  # "company" or the segment's file-name part ("sjaelland")
    list_name: str
    summary: EmailSummary
    subject: str
    envelope: Envelope
    recipients: tuple[str, ...]  # bare addresses, one SMTP transaction each
    attachment: Attachment
    pdf_sha256: str
    subject_template: str = ""  # to write the subject of an archived version's summary


def read_built(folder: Path, report: str, period: str) -> BuiltReport:
    """The archived report; a DeliveryError when there is none or its manifest cannot be read."""
    path = folder / MANIFEST
    if not path.is_file():
        raise DeliveryError(f"{display_path(folder)}: no built report for {report} {period}",
                            f"run 'pulse run {report} --period {period}' first")
    try:
        manifest = Manifest.read(path)
        content = path.read_bytes()
    except (ManifestError, OSError) as exc:
        raise DeliveryError(f"{display_path(path)}: {exc}", f"re-run: pulse run {report} --period {period}") from None
    return BuiltReport(report, period, folder, manifest, content)


def check_fresh(built: BuiltReport, ingest: IngestReport) -> None:
    """Refuse outputs built from other exports than those loaded now."""
    then = {(i.source, i.path): i.sha256 for i in built.manifest.inputs}
    now = {(f.source, f.path): f.sha256 for f in ingest.files if f.status != "removed"}
    changed = [f"changed: {p}" for (s, p), h in sorted(now.items()) if (s, p) in then and then[(s, p)] != h]
    added = [f"new: {p}" for (s, p) in sorted(set(now) - set(then))]
    removed = [f"removed: {p}" for (s, p) in sorted(set(then) - set(now))]
    details = changed + added + removed
    if details:
        as_of = built.manifest.data_as_of or "unknown"
        raise DeliveryFailed(
            f"{display_path(built.folder)} was built from older exports (data as of {as_of}); "
            f"{len(details)} export file(s) changed since, so nothing was sent",
            f"re-run: pulse run {built.report} --period {built.period} --email",
            details=details[:20] + ([f"... and {len(details) - 20} more"] if len(details) > 20 else []),
        )


def _pdf(built: BuiltReport, name: str) -> tuple[bytes, str]:
    path = built.folder / name
    expected = built.manifest.outputs.get(name)
    hint = f"re-run: pulse run {built.report} --period {built.period}"
    if not path.is_file() or expected is None:
        raise DeliveryError(f"{display_path(path)}: the PDF to attach is missing", hint)
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    if digest != expected:
        raise DeliveryError(f"{display_path(path)}: the PDF differs from what the run recorded in manifest.json", hint)
    return content, digest


def plan_messages(built: BuiltReport, report: ReportConfig, delivery: DeliveryFile) -> tuple[list[PlannedMessage], list[str]]:
    """Every message to send, and problems (configured segments without a report)."""
    email = report.email
    if email is None:
        raise DeliveryError(f"config/reports.yaml: reports.{built.report} has no email: block",
                         "add email: with send_to: [a recipient list of config/delivery.yaml]")
    messages: list[PlannedMessage] = []
    targets: list[tuple[str | None, list[str]]] = [(None, email.send_to)]
    built_segments = built.manifest.segments
    problems = []
    for segment, lists in email.segments.items():
        if segment in built.manifest.skipped_segments:
            continue  # no activity in the period and inactive_segments: skip; the run said so and the manifest says why
        if segment not in built_segments:
            problems.append(f"segment '{segment}' (reports.{built.report}.email.segments) has no report for "
                            f"{built.period}; {did_you_mean(segment, built_segments)}")
            continue
        targets.append((segment, lists))
    for segment, lists in targets:
        if not lists:
            continue
        messages.extend(_messages_for(built, report, delivery, segment, lists))
    return messages, problems


def _messages_for(built: BuiltReport, report: ReportConfig, delivery: DeliveryFile, segment: str | None,
                  lists: list[str]) -> list[PlannedMessage]:
    email = report.email
    assert email is not None
    if segment is None:
        pdf_name = f"{built.report}.pdf"
    else:
        pdf_name = next((f for f in built.manifest.segments[segment].files if f.endswith(".pdf")), "")
    summary = built.manifest.summary_of(segment)
    if summary is None:
        raise DeliveryError(f"{display_path(built.folder / 'manifest.json')}: no email summary for "
                         f"{segment or 'the company-wide report'}", f"re-run: pulse run {built.report} --period {built.period}")
    content, digest = _pdf(built, pdf_name)
    stem = pdf_name.removesuffix(".pdf")
    file_key = "company" if segment is None else stem.removeprefix(f"{built.report}-")
    attachment = Attachment(f"{stem}-{built.period}.pdf", content)
    template = email.subject if segment is None else email.segment_subject
    subject = subject_for(summary, template)
    seen: set[str] = set()
    planned = []
    for list_name in dict.fromkeys(lists):
        recipients = delivery.recipient_lists[list_name]
        fresh = tuple(a for a in recipients.envelope() if a not in seen)
        seen.update(fresh)
        if not fresh:
            continue
        envelope = Envelope(sender=delivery.sender, reply_to=email.reply_to or delivery.reply_to,
                            to=tuple(recipients.to), cc=tuple(recipients.cc))
        planned.append(PlannedMessage(segment, file_key, list_name, summary, subject, envelope, fresh, attachment,
                                      digest, template))
    return planned
