"""What to do for one recipient of a built report file, from the ledger's record of them.

| the ledger says | plain send | asked for |
| --- | --- | --- |
| nothing, `failed`, `rejected`, `skipped` | send | |
| `sent`, the same PDF (or the same figures) | already sent | `--resend`: send again |
| `sent`, figures changed since | correction (sent, or held: `corrections: hold`) | `--send-correction`: send it |
| `uncertain` (no reply after the data, or the sender was killed) | reported, not sent | `--uncertain resend`: the same message again (same Message-ID); `--uncertain delivered`: count it as delivered |
| `abandoned` | not sent | `--resend`: send |

Pure: the caller reads the ledger and the archived manifests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .ledger import UNRESOLVED, RecipientState

Action = Literal["send", "resend", "correction", "correction_held", "already_sent", "uncertain",
                 "resend_uncertain", "mark_delivered", "abandoned", "unknown_version"]
UncertainChoice = Literal["resend", "delivered"]


@dataclass(frozen=True)
class Options:
    """What the operator asked for beyond a plain send."""

    resend: bool = False  # send again to recipients who already got it
    send_correction: bool = False  # send held corrections
    uncertain: UncertainChoice | None = None  # resolve uncertain deliveries
    corrections: Literal["hold", "send"] = "hold"  # delivery.yaml corrections:


def decide(state: RecipientState | None, pdf_sha256: str, figures_changed: bool | None, options: Options) -> Action:
    """The action for one recipient.

    `figures_changed`: whether a figure differs between the version delivered
    and the one built now (None: the delivered version is not archived, so it
    cannot be told); only asked when a different PDF was delivered.
    """
    if state is not None and state.status in UNRESOLVED:
        if options.uncertain == "resend":
            return "resend_uncertain"
        if options.uncertain == "delivered":
            return "mark_delivered"
        return "uncertain"
    delivered = state.delivered if state is not None else None
    if delivered is not None:
        changed = delivered.pdf_sha256 != pdf_sha256 and figures_changed
        if changed:
            return "correction" if (options.send_correction or options.resend or options.corrections == "send") \
                else "correction_held"
        if options.resend:
            return "resend"
        if delivered.pdf_sha256 != pdf_sha256 and figures_changed is None:
            return "unknown_version"
        return "already_sent"
    if state is not None and state.status == "abandoned" and not options.resend:
        return "abandoned"
    return "send"
