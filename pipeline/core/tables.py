"""Every table Pulse keeps in the working database (`.pulse/pulse.duckdb`), in one place.

The exports' own rows live in `_raw_<source>` tables (see `pipeline.sources`);
everything Pulse records about them and about its runs is in the `_pulse_*`
tables below. `ensure(con, *names)` creates the named tables (and adds columns
that a database written by an earlier version lacks); every statement is
fixed text, no value is pasted into SQL.

| table | holds | written by |
| --- | --- | --- |
| `_pulse_files` | each loaded export: size, mtime, sha256, rows, skipped lines, repeated keys | ingest |
| `_pulse_contracts` | each source's column contract and reader options as loaded; a rebuild in progress | ingest |
| `_pulse_rejects` | quarantined values and rows (`on_bad_rows: quarantine`) | ingest |
| `_pulse_coverage` | each source's first and last event date, keyed by the files, contract and zone | ingest |
| `_pulse_kpi_cache` | KPI query results keyed by query, parameters, window and data | KPIs |
| `_pulse_check_cache` | data-quality check results keyed by checks, period and data | checks |
| `_pulse_deliveries` | per report, period, segment and recipient: the delivery's state and what was delivered | delivery |
| `_pulse_delivery_attempts` | every single delivery attempt, recorded before the message data is sent | delivery |
| `_pulse_runs` | every `pulse run`, `pulse send` and scheduled build, and its outcome | `run`, `send`, `due` |
"""

from __future__ import annotations

import duckdb

# how ingest keeps a source's rows: raw rows with superseded marks under a view, timestamps as TIMESTAMPTZ;
# a database of another layout is loaded again
STORAGE_LAYOUT = 4

SCHEMAS: dict[str, tuple[str, ...]] = {
    "_pulse_files": (
        "CREATE TABLE IF NOT EXISTS _pulse_files (source VARCHAR, path VARCHAR, size BIGINT, mtime_ns BIGINT, "
        "sha256 VARCHAR, rows BIGINT, loaded_at TIMESTAMPTZ, PRIMARY KEY (source, path))",
        "ALTER TABLE _pulse_files ADD COLUMN IF NOT EXISTS skipped_headers BIGINT DEFAULT 0",
        "ALTER TABLE _pulse_files ADD COLUMN IF NOT EXISTS skipped_blank BIGINT DEFAULT 0",
        "ALTER TABLE _pulse_files ADD COLUMN IF NOT EXISTS duplicate_keys BIGINT DEFAULT 0",
    ),
    "_pulse_contracts": (
        "CREATE TABLE IF NOT EXISTS _pulse_contracts (source VARCHAR PRIMARY KEY, contract VARCHAR)",
        # a rebuild in progress (set before files change, cleared once the marks are recomputed)
        "ALTER TABLE _pulse_contracts ADD COLUMN IF NOT EXISTS rebuilding BOOLEAN DEFAULT false",
    ),
    "_pulse_rejects": (
        "CREATE TABLE IF NOT EXISTS _pulse_rejects (source VARCHAR, file VARCHAR, line BIGINT, column_name VARCHAR, "
        "value VARCHAR, reason VARCHAR)",
    ),
    "_pulse_coverage": (
        "CREATE TABLE IF NOT EXISTS _pulse_coverage (key VARCHAR PRIMARY KEY, source VARCHAR, first_event DATE, "
        "last_event DATE)",
    ),
    "_pulse_kpi_cache": (
        "CREATE TABLE IF NOT EXISTS _pulse_kpi_cache (key VARCHAR PRIMARY KEY, kpi VARCHAR, result VARCHAR, "
        "stored_at TIMESTAMPTZ DEFAULT current_timestamp)",
    ),
    "_pulse_check_cache": (
        "CREATE TABLE IF NOT EXISTS _pulse_check_cache (key VARCHAR PRIMARY KEY, source VARCHAR, result VARCHAR, "
        "stored_at TIMESTAMPTZ DEFAULT current_timestamp)",
    ),
    "_pulse_deliveries": (
        "CREATE TABLE IF NOT EXISTS _pulse_deliveries (report VARCHAR, period VARCHAR, segment VARCHAR, "
        "recipient VARCHAR, recipient_list VARCHAR, status VARCHAR, attempts INTEGER, message_id VARCHAR, "
        "pdf_sha256 VARCHAR, first_attempt_at TIMESTAMPTZ, last_attempt_at TIMESTAMPTZ, sent_at TIMESTAMPTZ, "
        "last_error VARCHAR, PRIMARY KEY (report, period, segment, recipient))",
        # what was certainly delivered (the columns above describe the latest attempt), the manifest the
        # message was composed from, and the kind of message (original, correction, resend)
        "ALTER TABLE _pulse_deliveries ADD COLUMN IF NOT EXISTS manifest_sha256 VARCHAR DEFAULT ''",
        "ALTER TABLE _pulse_deliveries ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'original'",
        "ALTER TABLE _pulse_deliveries ADD COLUMN IF NOT EXISTS delivered_message_id VARCHAR",
        "ALTER TABLE _pulse_deliveries ADD COLUMN IF NOT EXISTS delivered_pdf_sha256 VARCHAR",
        "ALTER TABLE _pulse_deliveries ADD COLUMN IF NOT EXISTS delivered_manifest_sha256 VARCHAR",
        "ALTER TABLE _pulse_deliveries ADD COLUMN IF NOT EXISTS delivered_kind VARCHAR",
        # a database of an earlier version: its sent rows were delivered as recorded
        "UPDATE _pulse_deliveries SET delivered_message_id = message_id, delivered_pdf_sha256 = pdf_sha256, "
        "delivered_manifest_sha256 = '', delivered_kind = 'original' "
        "WHERE status = 'sent' AND delivered_message_id IS NULL",
    ),
    "_pulse_delivery_attempts": (
        "CREATE TABLE IF NOT EXISTS _pulse_delivery_attempts (report VARCHAR, period VARCHAR, segment VARCHAR, "
        "recipient VARCHAR, attempt INTEGER, attempted_at TIMESTAMPTZ, outcome VARCHAR, error VARCHAR, "
        "message_id VARCHAR)",
        "ALTER TABLE _pulse_delivery_attempts ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'original'",
        "ALTER TABLE _pulse_delivery_attempts ADD COLUMN IF NOT EXISTS pdf_sha256 VARCHAR DEFAULT ''",
        "ALTER TABLE _pulse_delivery_attempts ADD COLUMN IF NOT EXISTS manifest_sha256 VARCHAR DEFAULT ''",
        "ALTER TABLE _pulse_delivery_attempts ADD COLUMN IF NOT EXISTS run_id VARCHAR DEFAULT ''",
        "ALTER TABLE _pulse_delivery_attempts ADD COLUMN IF NOT EXISTS finished_at TIMESTAMPTZ",
    ),
    "_pulse_runs": (
        "CREATE TABLE IF NOT EXISTS _pulse_runs (report VARCHAR, period VARCHAR, scheduled_for TIMESTAMPTZ, "
        "trigger VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR, error VARCHAR)",
        "ALTER TABLE _pulse_runs ADD COLUMN IF NOT EXISTS run_id VARCHAR DEFAULT ''",
        "ALTER TABLE _pulse_runs ADD COLUMN IF NOT EXISTS exit_code INTEGER",
        "ALTER TABLE _pulse_runs ADD COLUMN IF NOT EXISTS details VARCHAR DEFAULT ''",
    ),
}

INGEST = ("_pulse_files", "_pulse_contracts", "_pulse_rejects", "_pulse_coverage")
CACHE = ("_pulse_kpi_cache", "_pulse_check_cache")
LEDGER = ("_pulse_deliveries", "_pulse_delivery_attempts", "_pulse_runs")


def ensure(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Create the named `_pulse_*` tables where missing, with every column this version uses."""
    for name in names:
        for statement in SCHEMAS[name]:
            con.execute(statement)
