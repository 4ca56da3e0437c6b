"""The delivery ledger's state rules, on a real DuckDB file: what a recipient got is never rewritten by a
failed resend; in-flight attempts of a killed process become uncertain; an old database upgrades in place."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pytest

from pipeline.delivery import ledger
from pipeline.delivery.decide import Options, decide
from pipeline.delivery.ledger import Attempt, DeliveryKey, MessageRef

AT = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
KEY = DeliveryKey("monthly", "2026-10", "", "ceo@nordlys.example")


def message(n: int, kind: str = "original") -> MessageRef:
    return MessageRef(f"<m{n}@pulse>", f"pdf{n}", f"manifest{n}", kind)


@pytest.fixture
def con(tmp_path):
    connection = ledger.open_ledger(tmp_path, "Europe/Copenhagen")
    yield connection
    connection.close()


def attempt(con, ref: MessageRef, outcome: str, *, in_flight: bool = True) -> None:
    item = Attempt(KEY, "management", ref, "run1")
    if in_flight:
        number = ledger.begin_attempt(con, item, AT)
        ledger.finish_attempt(con, item, number, outcome, AT, "" if outcome == "sent" else f"{outcome} reason")
    else:
        ledger.record_attempt(con, item, outcome, AT, f"{outcome} reason")


def test_a_delivery_is_kept_when_a_later_resend_fails(con):
    attempt(con, message(1), "sent")
    attempt(con, message(2, "resend"), "rejected", in_flight=False)
    attempt(con, message(3, "resend"), "failed")
    state = ledger.state_of(con, KEY)
    assert state is not None and state.status == "sent" and state.delivered == message(1)
    assert ledger.delivered_ids(con, KEY) == ("<m1@pulse>",)
    assert decide(state, "pdf1", False, Options()) == "already_sent"


def test_a_killed_process_leaves_an_in_flight_attempt_that_becomes_uncertain(con):
    item = Attempt(KEY, "management", message(1), "run1")
    ledger.begin_attempt(con, item, AT)
    assert ledger.state_of(con, KEY).status == "skipped"  # nothing known yet, not counted
    resolved = ledger.resolve_in_flight(con, AT)
    assert resolved == [(KEY, "<m1@pulse>")]
    state = ledger.state_of(con, KEY)
    assert state.status == "uncertain" and state.latest == message(1) and state.delivered is None
    assert "before the server's reply" in state.last_error
    assert ledger.resolve_in_flight(con, AT) == []
    assert decide(state, "pdf1", False, Options()) == "uncertain"
    # a certain failure of a later attempt does not make it less uncertain
    attempt(con, message(2), "failed", in_flight=False)
    assert ledger.state_of(con, KEY).status == "uncertain" and ledger.state_of(con, KEY).latest == message(1)
    assert ledger.mark_delivered(con, KEY, AT, "run2") == message(1)
    state = ledger.state_of(con, KEY)
    assert state.status == "sent" and state.delivered == message(1)


def test_abandon_settles_owed_but_never_a_delivery(con):
    attempt(con, message(1), "failed")
    assert ledger.abandon(con, KEY, "management", AT, "run2") == "abandoned"
    assert ledger.abandon(con, KEY, "management", AT, "run3") == "was_abandoned"
    assert ledger.owed_deliveries(con, ["monthly"]) == []
    other = DeliveryKey("monthly", "2026-10", "", "cfo@nordlys.example")
    ledger.begin_attempt(con, Attempt(other, "management", message(4), "r"), AT)
    ledger.finish_attempt(con, Attempt(other, "management", message(4), "r"), 1, "sent", AT)
    assert ledger.abandon(con, other, "management", AT, "run4") == "already_sent"


def test_an_old_ledger_upgrades_in_place(tmp_path):
    path = tmp_path / "pulse.duckdb"
    old = duckdb.connect(str(path))
    old.execute(
        "CREATE TABLE _pulse_deliveries (report VARCHAR, period VARCHAR, segment VARCHAR, recipient VARCHAR, "
        "recipient_list VARCHAR, status VARCHAR, attempts INTEGER, message_id VARCHAR, pdf_sha256 VARCHAR, "
        "first_attempt_at TIMESTAMPTZ, last_attempt_at TIMESTAMPTZ, sent_at TIMESTAMPTZ, last_error VARCHAR, "
        "PRIMARY KEY (report, period, segment, recipient))")
    old.execute("CREATE TABLE _pulse_delivery_attempts (report VARCHAR, period VARCHAR, segment VARCHAR, "
                "recipient VARCHAR, attempt INTEGER, attempted_at TIMESTAMPTZ, outcome VARCHAR, error VARCHAR, "
                "message_id VARCHAR)")
    old.execute("CREATE TABLE _pulse_runs (report VARCHAR, period VARCHAR, scheduled_for TIMESTAMPTZ, "
                "trigger VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR, error VARCHAR)")
    old.execute("INSERT INTO _pulse_deliveries VALUES ('monthly', '2026-10', '', 'ceo@nordlys.example', 'management', "
                "'sent', 1, '<old@pulse>', 'abc', $t, $t, $t, '')", {"t": AT})
    old.close()
    con = ledger.open_ledger(tmp_path, "Europe/Copenhagen")
    try:
        state = ledger.state_of(con, KEY)
        assert state is not None and state.delivered == MessageRef("<old@pulse>", "abc", "", "original")
        # a different PDF whose sent version is not archived: cannot tell, so not sent again by itself
        assert decide(state, "def", None, Options()) == "unknown_version"
        assert decide(state, "def", None, Options(resend=True)) == "resend"
    finally:
        con.close()
