"""What a delivery did for each recipient, as lines, as JSON, and as the command's error.

Outcome statuses:

| status | meaning | exit code |
| --- | --- | --- |
| `sent` | the server accepted the message (kind: original, correction, resend) | 0 |
| `already_sent` | delivered earlier, with these figures: not sent again | 0 |
| `outbox` | written to the outbox (`--dry-run`, `outbox: true`) | 0 |
| `marked_delivered` | the operator confirmed an uncertain message arrived | 0 |
| `abandoned` / `was_abandoned` | given up by the operator (now / earlier) | 0 |
| `failed`, `rejected`, `skipped` | certainly not delivered | 4 |
| `uncertain` / `still_uncertain` | the message may or may not have arrived (now / earlier): not sent again | 5 |
| `correction_held` | figures changed after it was sent; the correction waits (`corrections: hold`) | 6 |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import PulseError, combined_exit_code, error_class
from pipeline.core.paths import display_path

FAILED = ("failed", "rejected", "skipped")
UNCERTAIN = ("uncertain", "still_uncertain")


@dataclass(frozen=True)
class Outcome:
    segment: str | None
    list_name: str
    recipient: str
    status: str  # see the module docstring
    attempts: int = 0
    error: str = ""
    message_id: str = ""
    kind: str = "original"  # original | correction | resend
    changes: tuple[str, ...] = ()  # a correction's changed figures, "Return rate: 3.5 % → 7.3 %"

    @property
    def where(self) -> str:
        return f"{self.segment or 'company-wide'} → {self.recipient} (list {self.list_name})"

    def to_json(self) -> dict:
        return {"segment": self.segment, "list": self.list_name, "recipient": self.recipient, "status": self.status,
                "kind": self.kind, "attempts": self.attempts, "message_id": self.message_id or None,
                "error": self.error or None, "changes": list(self.changes)}


@dataclass(frozen=True)
class DeliveryReport:
    report: str
    period: str
    outcomes: tuple[Outcome, ...]
    outbox_files: tuple[Path, ...] = ()
    problems: tuple[str, ...] = ()  # e.g. a configured segment without a report: a failure
    notes: tuple[str, ...] = ()  # said, not failures (e.g. an interrupted attempt resolved as uncertain)

    def of(self, *statuses: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in statuses]

    @property
    def failures(self) -> list[Outcome]:
        return self.of(*FAILED)

    @property
    def uncertain(self) -> list[Outcome]:
        return self.of(*UNCERTAIN)

    @property
    def held(self) -> list[Outcome]:
        return self.of("correction_held")

    @property
    def owed(self) -> list[Outcome]:
        """Failures a later run should retry (not the permanently refused ones)."""
        return self.of("failed", "skipped")

    @property
    def exit_code(self) -> int:
        return combined_exit_code([4 if self.failures or self.problems else 0, 5 if self.uncertain else 0,
                                   6 if self.held else 0])

    def lines(self) -> list[str]:
        """One line per outcome that is not a failure (failures are in the error), for the terminal."""
        out = [f"outbox: {display_path(path)}" for path in self.outbox_files]
        label = {"original": "sent", "correction": "correction sent", "resend": "sent again"}
        for o in self.outcomes:
            head = f"{self.report} {self.period} {o.where}"
            if o.status == "sent":
                out.append(f"{label.get(o.kind, 'sent')}: {head}" + (f": {'; '.join(o.changes)}" if o.changes else ""))
            elif o.status == "already_sent":
                out.append(f"already sent, not again: {head}")
            elif o.status == "marked_delivered":
                out.append(f"marked delivered (uncertain message {o.message_id}): {head}")
            elif o.status == "abandoned":
                out.append(f"abandoned: {head}")
            elif o.status == "was_abandoned":
                out.append(f"abandoned earlier, not sent: {head}")
        return out

    def error(self) -> PulseError | None:
        """The error this delivery ends with (exit code 4, 5 or 6, the lowest that applies), naming every recipient."""
        code = self.exit_code
        if not code:
            return None
        which = f"{self.report} --period {self.period}"
        details = [f"{self.report} {self.period} {o.where}: {o.status}"
                   + (f" after {o.attempts} attempt(s)" if o.attempts else "") + f": {o.error}" for o in self.failures]
        details += list(self.problems)
        details += [f"{self.report} {self.period} {o.where}: uncertain"
                    + (f" (Message-ID {o.message_id})" if o.message_id else "") + f": {o.error}" for o in self.uncertain]
        details += [f"{self.report} {self.period} {o.where}: correction held: {'; '.join(o.changes)}"
                    for o in self.held]
        parts = []
        if self.failures or self.problems:
            total = len([o for o in self.outcomes if o.status not in ("already_sent", "was_abandoned")])
            parts.append(f"email delivery of {self.report} {self.period} failed for {len(self.failures)} of {total} "
                         f"recipient(s)" + (f" and {len(self.problems)} problem(s)" if self.problems else ""))
        if self.uncertain:
            parts.append(f"{len(self.uncertain)} delivery(ies) uncertain: the server may or may not have accepted "
                         f"the message, so it is not sent again by itself")
        if self.held:
            parts.append(f"figures changed after the report was sent to {len(self.held)} recipient(s): the correction "
                         f"is held (delivery.yaml corrections: hold)")
        hints = []
        if self.failures or self.problems:
            hints.append(f"fix the cause, then 'pulse send {which}' sends only what is still owed")
        if self.uncertain:
            hints.append(f"check with the recipients or the server's log, then 'pulse send {which} --uncertain "
                         f"delivered' (it arrived) or '--uncertain resend' (send it again, same Message-ID); see "
                         f"docs/email-and-scheduling.md 'Uncertain deliveries'")
        if self.held:
            hints.append(f"review the changed figures, then 'pulse send {which} --send-correction'; see "
                         f"docs/email-and-scheduling.md 'Corrections'")
        return error_class(code)("; ".join(parts), "; ".join(hints), details=details)

    def raise_for_failures(self) -> None:
        error = self.error()
        if error is not None:
            raise error

    def to_json(self) -> dict:
        return {"report": self.report, "period": self.period, "exit_code": self.exit_code,
                "outcomes": [o.to_json() for o in self.outcomes],
                "outbox_files": [display_path(p) for p in self.outbox_files],
                "problems": list(self.problems), "notes": list(self.notes)}
