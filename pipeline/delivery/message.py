"""Compose a report email: HTML summary (CSS inlined), plain text, the PDF.

The HTML body is `email.html.j2` (the project's report_templates/ first, then
Pulse's built-in one) rendered from an archived `EmailSummary`; its CSS is
inlined into style attributes by `css_inline` so mail clients that drop
<style> blocks still show it. The structure is

    multipart/mixed
      multipart/alternative
        text/plain
        text/html
      application/pdf (attachment)

Headers: From, To, Cc, Reply-To, Subject, Date, Message-ID. Bcc never
appears: every recipient gets its own SMTP transaction with the same bytes.

A correction (figures changed after the report was sent) says so: the subject
starts with "Correction:", both bodies open with the changed figures (old ->
new), and In-Reply-To / References name the message(s) it corrects, so mail
clients thread it under the original. A message sent again after an uncertain
attempt keeps that attempt's Message-ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

import css_inline

from pipeline.config.reports import render_subject
from pipeline.core.errors import RenderError
from pipeline.report.render import render_template
from pipeline.report.summary import EmailSummary

from .corrections import CorrectionNotice

TEMPLATE = "email.html.j2"
CORRECTION_PREFIX = "Correction: "


@dataclass(frozen=True)
class Envelope:
    """Who a message is addressed to (headers) and who receives it (envelope)."""

    sender: str
    reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes


@dataclass(frozen=True)
class Threading:
    """How a message relates to earlier ones."""

    message_id: str | None = None  # None: a new Message-ID; else this one (sending an uncertain message again)
    in_reply_to: str = ""  # the message a correction replaces
    references: tuple[str, ...] = ()  # every earlier message of the thread, oldest first


def subject_values(summary: EmailSummary) -> dict[str, str]:
    """The names a subject template may use."""
    return {"report": summary.report, "title": summary.title, "period": summary.period,
            "period_name": summary.period_name, "company": summary.company, "segment": summary.segment or ""}


def subject_for(summary: EmailSummary, template: str) -> str:
    return render_subject(template, subject_values(summary))


def html_body(templates_dir: Path, summary: EmailSummary, pdf_name: str,
              correction: CorrectionNotice | None = None) -> str:
    """The summary as HTML with every CSS rule inlined into style attributes."""
    html = render_template(templates_dir, TEMPLATE, summary, pdf_name=pdf_name, correction=correction)
    try:
        return css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False).inline(html)
    except (css_inline.InlineError, ValueError) as exc:
        raise RenderError(f"{TEMPLATE}: cannot inline its CSS: {exc}", "check the <style> block of the template") from None


def text_body(summary: EmailSummary, pdf_name: str, correction: CorrectionNotice | None = None) -> str:
    """The plain-text alternative: the same summary, for clients without HTML."""
    heading = summary.title + (f" — {summary.segment}" if summary.segment else "")
    partial = f" — {summary.partial}" if summary.partial else ""
    lines = []
    if correction is not None:
        lines += ["CORRECTION", correction.intro] + [f"  {line}" for line in correction.lines()] + [""]
    lines += [summary.company, heading, f"{summary.period_name} ({summary.period_range}){partial}",
              f"Data as of {summary.data_as_of}", *summary.coverage_notes, ""]
    if summary.okr_counts:
        lines.append(f"Objectives and key results ({summary.okr_cycle})")
        lines += [f"  {c.label}: {c.objectives} objective(s), {c.key_results} key result(s)" for c in summary.okr_counts]
        lines.append("")
    if summary.movers:
        lines.append("What moved most")
        lines += [f"  - {sentence}" for sentence in summary.movers]
        lines.append("")
    if summary.notes:
        lines += [f"  {note}" for note in summary.notes]
        lines.append("")
    lines.append("Key figures")
    for kpi in summary.kpis:
        scope = f" ({kpi.scope_note})" if kpi.scope_note else ""
        scope += f" ({summary.partial})" if kpi.partial else ""
        sample = f" [{kpi.sample_note}]" if kpi.sample_note else ""
        lines.append(f"  {kpi.title}{scope}: {kpi.value}{sample} ({kpi.change} vs previous; target {kpi.target}; "
                     f"{kpi.health_label})")
    if summary.quality_warnings:
        lines += ["", "Data-quality warnings"] + [f"  - {w}" for w in summary.quality_warnings]
    lines += ["", f"The full report is attached as a PDF ({pdf_name}). It is based on the data as of "
              f"{summary.data_as_of}.", ""]
    return "\n".join(lines).replace("\u00a0", " ")


def compose(summary: EmailSummary, subject: str, envelope: Envelope, attachment: Attachment,
            templates_dir: Path, now: datetime, threading: Threading = Threading(),
            correction: CorrectionNotice | None = None) -> EmailMessage:
    """The complete message, ready to send or to write as an .eml file."""
    message = EmailMessage(policy=policy.SMTP)
    if correction is not None:
        subject = CORRECTION_PREFIX + subject
    message["Subject"] = " ".join(subject.split())
    message["From"] = envelope.sender
    message["To"] = ", ".join(envelope.to) if envelope.to else "undisclosed-recipients:;"
    if envelope.cc:
        message["Cc"] = ", ".join(envelope.cc)
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to
    message["Date"] = format_datetime(now)
    domain = parseaddr(envelope.sender)[1].rpartition("@")[2] or "pulse.invalid"
    message["Message-ID"] = threading.message_id or make_msgid(idstring="pulse", domain=domain)
    if threading.in_reply_to:
        message["In-Reply-To"] = threading.in_reply_to
    if threading.references:
        message["References"] = " ".join(threading.references)
    message.set_content(text_body(summary, attachment.filename, correction))
    message.add_alternative(html_body(templates_dir, summary, attachment.filename, correction), subtype="html")
    message.add_attachment(attachment.content, maintype="application", subtype="pdf", filename=attachment.filename)
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """The bytes sent over SMTP (CRLF line ends), also written to .eml files."""
    return message.as_bytes(policy=policy.SMTP)
