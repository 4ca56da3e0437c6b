"""Delivery: send the planned messages (or write them to the outbox), with the ledger.

For every planned message and each of its recipients, in order:

- already `sent` for this report, period, segment and recipient (ledger) and
  not `--resend`: skipped;
- otherwise one SMTP transaction with retries (see `pipeline.delivery.smtp`); every
  attempt is recorded and committed before the next step, so a crash between
  two recipients never sends one of them twice;
- once the server is unusable (fatal failure, or a server-level transient
  failure that outlasted the retries) the remaining recipients are not tried:
  they stay owed (`skipped`) for the next run.

Outbox mode (`--dry-run`, or `outbox: true` in config/delivery.yaml) writes
each message as `outbox/<segment-or-company>__<list>.eml` in the report's
period folder instead, and records nothing in the ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.config import ProjectConfig
from pipeline.config.addresses import bare_address
from pipeline.config.delivery import DeliveryFile
from pipeline.core.errors import DeliveryFailed
from pipeline.core.paths import display_path
from pipeline.core.periods import now_utc
from pipeline.outputs.publish import write_atomically

from . import ledger
from .message import compose, message_bytes
from .plan import BuiltReport, PlannedMessage
from .smtp import SmtpTransport, send_with_retry

FAILED = ("failed", "rejected", "skipped")


@dataclass(frozen=True)
class Outcome:
    segment: str | None
    list_name: str
    recipient: str
    status: str  # sent | already_sent | failed | rejected | skipped | outbox
    attempts: int = 0
    error: str = ""

    @property
    def where(self) -> str:
        return f"{self.segment or 'company-wide'} → {self.recipient} (list {self.list_name})"


@dataclass(frozen=True)
class DeliveryReport:
    report: str
    period: str
    outcomes: tuple[Outcome, ...]
    outbox_files: tuple[Path, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in FAILED]

    @property
    def owed(self) -> list[Outcome]:
        """Failures a later run should retry (not the permanently refused ones)."""
        return [o for o in self.outcomes if o.status in ("failed", "skipped")]

    def lines(self) -> list[str]:
        """One line per outcome, for the terminal."""
        out = [f"outbox: {display_path(path)}" for path in self.outbox_files]
        for o in self.outcomes:
            if o.status == "sent":
                out.append(f"sent: {self.report} {self.period} {o.where}")
            elif o.status == "already_sent":
                out.append(f"already sent, not again: {self.report} {self.period} {o.where}")
        return out

    def raise_for_failures(self) -> None:
        """RunFailed (exit code 1) naming every failed delivery and problem."""
        failures = self.failures
        if not failures and not self.problems:
            return
        details = [f"{self.report} {self.period} {o.where}: {o.status}"
                   + (f" after {o.attempts} attempt(s)" if o.attempts else "") + f": {o.error}" for o in failures]
        total = len([o for o in self.outcomes if o.status != "already_sent"])
        raise DeliveryFailed(
            f"email delivery of {self.report} {self.period} failed for {len(failures)} of {total} recipient(s)"
            + (f" and {len(self.problems)} problem(s)" if self.problems else ""),
            f"fix the cause, then 'pulse send {self.report} --period {self.period}' sends only what is still owed",
            details=details + list(self.problems),
        )


def write_outbox(built: BuiltReport, messages: list[PlannedMessage], config: ProjectConfig, now: datetime | None,
                 sent: Callable[[PlannedMessage, str], bool]) -> DeliveryReport:
    """Every message as an .eml file beside the outputs; nothing is sent or recorded."""
    files, outcomes = [], []
    staging = config.workdir / "staging"
    for planned in messages:
        message = compose(planned.summary, planned.subject, planned.envelope, planned.attachment,
                          config.templates_dir, now_utc(now))
        target = built.folder / "outbox" / f"{planned.file_key}__{planned.list_name}.eml"
        write_atomically(target, message_bytes(message), staging)
        files.append(target)
        for recipient in planned.recipients:
            status = "already_sent" if sent(planned, recipient) else "outbox"
            outcomes.append(Outcome(planned.segment, planned.list_name, recipient, status))
    return DeliveryReport(built.report, built.period, tuple(outcomes), tuple(files))


def deliver(built: BuiltReport, messages: list[PlannedMessage], config: ProjectConfig, delivery: DeliveryFile, *,
            password: str | None, now: datetime | None = None, outbox: bool = False, resend: bool = False,
            progress: Callable[[str], None] = lambda _m: None,
            sleep: Callable[[float], None] = time.sleep) -> DeliveryReport:
    """Send (or write to the outbox) every planned message; returns each recipient's outcome."""
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    try:
        def already(planned: PlannedMessage, recipient: str) -> bool:
            return not resend and ledger.status_of(con, _key(built, planned, recipient)) == "sent"

        if outbox:
            return write_outbox(built, messages, config, now, already)
        assert delivery.smtp is not None
        with SmtpTransport(delivery.smtp, password, config.root) as transport:
            outcomes = _send_all(built, messages, config, delivery, transport, con, already, now, progress, sleep)
        return DeliveryReport(built.report, built.period, tuple(outcomes))
    finally:
        con.close()


def _key(built: BuiltReport, planned: PlannedMessage, recipient: str) -> ledger.DeliveryKey:
    return ledger.DeliveryKey(built.report, built.period, planned.segment or ledger.COMPANY, recipient)


def _send_all(built, messages, config, delivery, transport, con, already, now, progress, sleep) -> list[Outcome]:
    outcomes: list[Outcome] = []
    stopped = ""  # why the remaining recipients are not tried
    sender = bare_address(delivery.sender)
    for planned in messages:
        owed = [r for r in planned.recipients if not already(planned, r)]
        outcomes += [Outcome(planned.segment, planned.list_name, r, "already_sent")
                     for r in planned.recipients if r not in owed]
        if not owed:
            continue
        message = compose(planned.summary, planned.subject, planned.envelope, planned.attachment,
                          config.templates_dir, now_utc(now))
        data, message_id = message_bytes(message), str(message["Message-ID"])
        progress(f"emailing {built.report} {built.period} ({planned.file_key}) to list {planned.list_name}")
        for recipient in owed:
            key = _key(built, planned, recipient)
            if stopped:
                ledger.record_skipped(con, key, recipient_list=planned.list_name, error=stopped)
                outcomes.append(Outcome(planned.segment, planned.list_name, recipient, "skipped", 0, stopped))
                continue

            def record(status: str, error: str, key=key) -> None:
                ledger.record_attempt(con, key, recipient_list=planned.list_name, status=status, at=now_utc(now),
                                      message_id=message_id, pdf_sha256=planned.pdf_sha256, error=error)

            result = send_with_retry(lambda r=recipient: transport.send(data, sender, r), delivery.retry, record, sleep)
            failure = result.failure
            error = failure.text if failure is not None and result.status != "sent" else ""
            outcomes.append(Outcome(planned.segment, planned.list_name, recipient, result.status, result.attempts, error))
            if failure is not None and result.status != "sent" and (
                failure.kind == "fatal" or (failure.kind == "transient" and not failure.recipient_only)
            ):
                stopped = f"not attempted: {failure.text}"
    return outcomes
