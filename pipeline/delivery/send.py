"""The delivery loop: each recipient of each planned message, exactly once, and on record.

For every recipient the ledger decides (see `pipeline.delivery.decide`): send,
already sent, a correction, uncertain, abandoned. Recipients that get the same
message are grouped, each group's message is composed once, and every
recipient gets its own SMTP transaction with retries (see
`pipeline.delivery.smtp`). Per attempt: recorded `in_flight` and committed
before the message data goes out (the version sent is archived under `sent/`
first), then resolved to sent / failed / rejected / uncertain, so a crash never
sends a recipient the same report twice unnoticed. An uncertain attempt is
never retried blindly. Once the server is unusable (a fatal failure, a
server-level transient failure that outlasted the retries, or no reply after
the data) the remaining recipients are not tried: they stay owed (`skipped`).

Outbox mode (`--dry-run`, or `outbox: true` in config/delivery.yaml) writes
each message that would go out as `outbox/<segment-or-company>__<list>.eml`
(`...__correction.eml` for a correction) in the report's period folder
instead, and records nothing in the ledger.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from pipeline.config import ProjectConfig
from pipeline.config.addresses import bare_address
from pipeline.config.delivery import DeliveryFile
from pipeline.core.periods import now_utc
from pipeline.outputs.archive import keep_sent, sent_manifest, sent_pdf
from pipeline.outputs.manifest import Manifest
from pipeline.outputs.publish import write_atomically
from pipeline.report.formatting import long_date

from . import ledger
from .corrections import CorrectionNotice, figure_changes
from .decide import Action, Options, decide
from .message import Attachment, Threading, compose, message_bytes, subject_for
from .outcome import DeliveryReport, Outcome
from .plan import BuiltReport, PlannedMessage
from .smtp import SmtpTransport, send_with_retry


@dataclass(frozen=True)
class Group:
    """Recipients of one planned message who get the same message."""

    kind: str  # original | resend | correction
    recipients: tuple[str, ...]
    summary_manifest: Manifest  # the manifest the message is composed from
    manifest_bytes: bytes
    pdf: bytes
    pdf_sha256: str
    threading: Threading = Threading()
    correction: CorrectionNotice | None = None
    archived: bool = False  # an earlier version, re-sent from sent/ (nothing new to archive)


class _Deliverer:
    """One delivery of a built report: the ledger connection and what is known so far."""

    def __init__(self, built: BuiltReport, config: ProjectConfig, con: duckdb.DuckDBPyConnection, options: Options,
                 now: datetime | None, run_id: str) -> None:
        self.built, self.config, self.con, self.options, self.now, self.run_id = built, config, con, options, now, run_id
        self._manifests: dict[str, Manifest | None] = {}
        self.notes: list[str] = []

    def key(self, planned: PlannedMessage, recipient: str) -> ledger.DeliveryKey:
        return ledger.DeliveryKey(self.built.report, self.built.period, planned.segment or ledger.COMPANY, recipient)

    def archived_manifest(self, sha256: str) -> Manifest | None:
        if sha256 not in self._manifests:
            self._manifests[sha256] = sent_manifest(self.built.folder, sha256)
        return self._manifests[sha256]

    def action(self, planned: PlannedMessage, recipient: str) -> tuple[Action, ledger.RecipientState | None]:
        state = ledger.state_of(self.con, self.key(planned, recipient))
        changed: bool | None = False
        if state is not None and state.delivered is not None and state.delivered.pdf_sha256 != planned.pdf_sha256:
            sent = self.archived_manifest(state.delivered.manifest_sha256)
            changed = None if sent is None else bool(figure_changes(sent, self.built.manifest, planned.segment,
                                                                    self.config))
        return decide(state, planned.pdf_sha256, changed, self.options), state

    def correction_notice(self, planned: PlannedMessage, delivered: ledger.MessageRef, sent_at: datetime | None,
                          now_manifest: Manifest) -> CorrectionNotice:
        sent = self.archived_manifest(delivered.manifest_sha256)
        changes = () if sent is None else figure_changes(sent, now_manifest, planned.segment, self.config)
        day = ""
        if sent_at is not None:
            day = long_date(sent_at.astimezone(ZoneInfo(self.config.project.timezone)).date(),
                            self.config.project.locale)
        return CorrectionNotice(day, changes)

    def groups(self, planned: PlannedMessage, todo: list[tuple[str, Action, ledger.RecipientState | None]]) -> list[Group]:
        """The messages to compose for one planned message, each with its recipients."""
        built = self.built
        current = dict(summary_manifest=built.manifest, manifest_bytes=built.manifest_bytes,
                       pdf=planned.attachment.content, pdf_sha256=planned.pdf_sha256)
        found: dict[tuple, Group] = {}
        for recipient, action, state in todo:
            if action in ("send", "resend"):
                gkey: tuple = (action,)
                group = Group("original" if action == "send" else "resend", (), **current)
            elif action == "correction":
                assert state is not None and state.delivered is not None
                chain = ledger.delivered_ids(self.con, self.key(planned, recipient)) or (state.delivered.message_id,)
                gkey = ("correction", chain, state.delivered.manifest_sha256, state.sent_at)
                group = Group("correction", (), **current,
                              threading=Threading(None, state.delivered.message_id, chain),
                              correction=self.correction_notice(planned, state.delivered, state.sent_at, built.manifest))
            else:  # resend_uncertain: the same message again, from the archive
                assert state is not None
                latest = state.latest
                gkey = ("uncertain", latest.message_id, latest.pdf_sha256, latest.manifest_sha256, latest.kind)
                group = self._archived_group(planned, recipient, state)
                if group is None:
                    self.notes.append(f"{built.report} {built.period} {planned.segment or 'company-wide'} → {recipient}: "
                                      f"the uncertain message {latest.message_id} is not in the archive (sent/); "
                                      f"not sent again")
                    continue
            found.setdefault(gkey, group)
            found[gkey] = replace(found[gkey], recipients=found[gkey].recipients + (recipient,))
        return list(found.values())

    def _archived_group(self, planned: PlannedMessage, recipient: str, state: ledger.RecipientState) -> Group | None:
        latest = state.latest
        manifest = self.archived_manifest(latest.manifest_sha256)
        pdf = sent_pdf(self.built.folder, latest.pdf_sha256)
        if manifest is None or pdf is None:
            return None
        path = self.built.folder / "sent" / f"{latest.manifest_sha256}.manifest.json"
        threading = Threading(latest.message_id)
        correction = None
        if latest.kind == "correction" and state.delivered is not None:
            chain = ledger.delivered_ids(self.con, self.key(planned, recipient)) or (state.delivered.message_id,)
            threading = Threading(latest.message_id, state.delivered.message_id, chain)
            correction = self.correction_notice(planned, state.delivered, state.sent_at, manifest)
        return Group(latest.kind, (), manifest, path.read_bytes(), pdf, latest.pdf_sha256, threading, correction,
                     archived=True)


def _compose(planned: PlannedMessage, group: Group, config: ProjectConfig, now: datetime | None):
    summary = group.summary_manifest.summary_of(planned.segment) or planned.summary
    subject = subject_for(summary, planned.subject_template) if group.archived else planned.subject
    attachment = Attachment(planned.attachment.filename, group.pdf)
    return compose(summary, subject, planned.envelope, attachment, config.templates_dir, now_utc(now),
                   group.threading, group.correction)


LINE_STATUS = {"already_sent": "already_sent", "uncertain": "still_uncertain", "correction_held": "correction_held",
               "abandoned": "was_abandoned", "unknown_version": "already_sent"}


def _settle(d: _Deliverer, planned: PlannedMessage) -> tuple[list[Outcome], list]:
    """Outcomes of recipients that get nothing now, and the (recipient, action, state) of those that do."""
    outcomes, todo = [], []
    for recipient in planned.recipients:
        action, state = d.action(planned, recipient)
        if action == "mark_delivered":
            ref = ledger.mark_delivered(d.con, d.key(planned, recipient), now_utc(d.now), d.run_id)
            outcomes.append(Outcome(planned.segment, planned.list_name, recipient, "marked_delivered",
                                    message_id=ref.message_id if ref else ""))
        elif action in LINE_STATUS:
            changes: tuple[str, ...] = ()
            if action == "correction_held" and state is not None and state.delivered is not None:
                changes = tuple(d.correction_notice(planned, state.delivered, state.sent_at, d.built.manifest).lines())
            if action == "unknown_version":
                d.notes.append(f"{d.built.report} {d.built.period} {planned.segment or 'company-wide'} → {recipient}: "
                               f"a different version was sent, and it is not in the archive (sent/): whether its "
                               f"figures differ cannot be told; not sent again (--resend sends it)")
            error = state.last_error if state is not None and action == "uncertain" else ""
            message_id = state.latest.message_id if state is not None else ""
            outcomes.append(Outcome(planned.segment, planned.list_name, recipient, LINE_STATUS[action], error=error,
                                    message_id=message_id, changes=changes))
        else:
            todo.append((recipient, action, state))
    return outcomes, todo


def write_outbox(d: _Deliverer, messages: list[PlannedMessage], staging: Path) -> DeliveryReport:
    """Every message that would go out, as .eml files beside the outputs; nothing is sent or recorded."""
    files, outcomes = [], []
    for planned in messages:
        settled, todo = _settle_read_only(d, planned)
        outcomes += settled
        for group in d.groups(planned, todo):
            suffix = "" if group.kind in ("original", "resend") else f"__{group.kind}"
            target = d.built.folder / "outbox" / f"{planned.file_key}__{planned.list_name}{suffix}.eml"
            write_atomically(target, message_bytes(_compose(planned, group, d.config, d.now)), staging)
            files.append(target)
            outcomes += [Outcome(planned.segment, planned.list_name, r, "outbox", kind=group.kind)
                         for r in group.recipients]
    return DeliveryReport(d.built.report, d.built.period, tuple(outcomes), tuple(files), notes=tuple(d.notes))


def _settle_read_only(d: _Deliverer, planned: PlannedMessage) -> tuple[list[Outcome], list]:
    outcomes, todo = [], []
    for recipient in planned.recipients:
        action, state = d.action(planned, recipient)
        if action in LINE_STATUS or action == "mark_delivered":
            outcomes.append(Outcome(planned.segment, planned.list_name, recipient, LINE_STATUS.get(action, action)))
        else:
            todo.append((recipient, action, state))
    return outcomes, todo


def deliver(built: BuiltReport, messages: list[PlannedMessage], config: ProjectConfig, delivery: DeliveryFile, *,
            password: str | None, now: datetime | None = None, outbox: bool = False, options: Options = Options(),
            run_id: str = "", progress: Callable[[str], None] = lambda _m: None,
            sleep: Callable[[float], None] = time.sleep) -> DeliveryReport:
    """Send (or write to the outbox) every planned message; returns each recipient's outcome."""
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    try:
        d = _Deliverer(built, config, con, options, now, run_id)
        if outbox:
            return write_outbox(d, messages, config.workdir / "staging")
        resolved = ledger.resolve_in_flight(con, now_utc(now))
        notes = [f"{k.report} {k.period} {k.segment or 'company-wide'} → {k.recipient}: {ledger.INTERRUPTED} "
                 f"(Message-ID {m}); recorded as uncertain" for k, m in resolved]
        assert delivery.smtp is not None
        with SmtpTransport(delivery.smtp, password, config.root) as transport:
            outcomes = _send_all(d, messages, delivery, transport, progress, sleep)
        return DeliveryReport(built.report, built.period, tuple(outcomes), notes=tuple(notes + d.notes))
    finally:
        con.close()


def _send_all(d: _Deliverer, messages: list[PlannedMessage], delivery: DeliveryFile, transport: SmtpTransport,
              progress: Callable[[str], None], sleep: Callable[[float], None]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    stopped = ""  # why the remaining recipients are not tried
    sender = bare_address(delivery.sender)
    staging = d.config.workdir / "staging"
    for planned in messages:
        settled, todo = _settle(d, planned)
        outcomes += settled
        for group in d.groups(planned, todo):
            message = _compose(planned, group, d.config, d.now)
            data, message_id = message_bytes(message), str(message["Message-ID"])
            ref = ledger.MessageRef(message_id, group.pdf_sha256, _sha256(group.manifest_bytes), group.kind)
            progress(f"emailing {d.built.report} {d.built.period} ({planned.file_key}) to list {planned.list_name}")
            archived = [group.archived]

            def archive(group=group, ref=ref, archived=archived) -> None:
                if not archived[0]:  # the version about to go out is kept before any of it is sent
                    keep_sent(d.built.folder, group.pdf, group.pdf_sha256, group.manifest_bytes, ref.manifest_sha256,
                              staging)
                    archived[0] = True

            for recipient in group.recipients:
                key = d.key(planned, recipient)
                if stopped:
                    ledger.record_skipped(d.con, key, recipient_list=planned.list_name, error=stopped)
                    outcomes.append(Outcome(planned.segment, planned.list_name, recipient, "skipped", 0, stopped,
                                            kind=group.kind))
                    continue
                result = _attempt(d, key, planned.list_name, ref, data, sender, recipient, transport, delivery,
                                  archive, sleep)
                failure = result.failure
                error = failure.text if failure is not None and result.status != "sent" else ""
                changes = tuple(group.correction.lines()) if group.correction else ()
                outcomes.append(Outcome(planned.segment, planned.list_name, recipient, result.status, result.attempts,
                                        error, message_id, group.kind, changes))
                if failure is not None and result.status != "sent" and (
                    failure.kind in ("fatal", "uncertain") or (failure.kind == "transient" and not failure.recipient_only)
                ):
                    stopped = f"not attempted: {failure.text}"
    return outcomes


def _attempt(d: _Deliverer, key: ledger.DeliveryKey, list_name: str, ref: ledger.MessageRef, data: bytes, sender: str,
             recipient: str, transport: SmtpTransport, delivery: DeliveryFile, archive: Callable[[], None], sleep):
    """One recipient's attempts, each on record: in flight before the data, then its outcome."""
    attempt = ledger.Attempt(key, list_name, ref, d.run_id)
    begun: list[int] = []

    def on_data() -> None:
        archive()
        begun.append(ledger.begin_attempt(d.con, attempt, now_utc(d.now)))

    def send() -> None:
        begun.clear()
        transport.send(data, sender, recipient, on_data)

    def record(status: str, error: str) -> None:
        if begun:
            ledger.finish_attempt(d.con, attempt, begun[0], status, now_utc(d.now), error)
        else:
            ledger.record_attempt(d.con, attempt, status, now_utc(d.now), error)

    return send_with_retry(send, delivery.retry, record, sleep)


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def abandon(built: BuiltReport, messages: list[PlannedMessage], config: ProjectConfig, *, now: datetime | None = None,
            run_id: str = "") -> DeliveryReport:
    """Mark every recipient not certainly reached as abandoned: nothing is sent, nothing is owed any more."""
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    try:
        ledger.resolve_in_flight(con, now_utc(now))
        outcomes = []
        for planned in messages:
            for recipient in planned.recipients:
                key = ledger.DeliveryKey(built.report, built.period, planned.segment or ledger.COMPANY, recipient)
                status = ledger.abandon(con, key, planned.list_name, now_utc(now), run_id)
                outcomes.append(Outcome(planned.segment, planned.list_name, recipient, status))
        return DeliveryReport(built.report, built.period, tuple(outcomes))
    finally:
        con.close()
