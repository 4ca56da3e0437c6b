"""What happens to one recipient, for each state the ledger can be in and each operator choice."""

from __future__ import annotations

import pytest

from pipeline.delivery.decide import Options, decide
from pipeline.delivery.ledger import MessageRef, RecipientState

SENT = MessageRef("<a@pulse>", "pdf-a", "m-a", "original")


def state(status: str, delivered: MessageRef | None = None) -> RecipientState:
    return RecipientState(status, delivered or SENT, delivered, None, "", "management")


@pytest.mark.parametrize(("recorded", "pdf", "changed", "options", "expected"), [
    (None, "pdf-a", False, Options(), "send"),
    (state("failed"), "pdf-a", False, Options(), "send"),
    (state("rejected"), "pdf-a", False, Options(), "send"),
    (state("skipped"), "pdf-a", False, Options(), "send"),
    (state("sent", SENT), "pdf-a", False, Options(), "already_sent"),
    (state("sent", SENT), "pdf-b", False, Options(), "already_sent"),  # new layout, same figures
    (state("sent", SENT), "pdf-b", True, Options(), "correction_held"),
    (state("sent", SENT), "pdf-b", True, Options(corrections="send"), "correction"),
    (state("sent", SENT), "pdf-b", True, Options(send_correction=True), "correction"),
    (state("sent", SENT), "pdf-b", True, Options(resend=True), "correction"),
    (state("sent", SENT), "pdf-a", False, Options(resend=True), "resend"),
    (state("sent", SENT), "pdf-b", None, Options(), "unknown_version"),
    (state("uncertain"), "pdf-a", False, Options(), "uncertain"),
    (state("uncertain"), "pdf-a", False, Options(resend=True), "uncertain"),
    (state("in_flight"), "pdf-a", False, Options(), "uncertain"),
    (state("uncertain"), "pdf-a", False, Options(uncertain="resend"), "resend_uncertain"),
    (state("uncertain"), "pdf-a", False, Options(uncertain="delivered"), "mark_delivered"),
    (state("uncertain", SENT), "pdf-b", True, Options(), "uncertain"),  # an uncertain correction
    (state("abandoned"), "pdf-a", False, Options(), "abandoned"),
    (state("abandoned"), "pdf-a", False, Options(resend=True), "send"),
])
def test_decide(recorded, pdf, changed, options, expected):
    assert decide(recorded, pdf, changed, options) == expected
