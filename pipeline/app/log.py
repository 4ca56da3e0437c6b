"""`pulse log`: what Pulse did, from the ledger: runs, deliveries, attempts (newest first).

Reads `.pulse/pulse.duckdb` and takes no lock; while another pulse command
works on the project its database may be unavailable (DuckDB lets one process
write), and `pulse log` says so (exit code 2).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import click

from pipeline.config import load_project
from pipeline.delivery import history, ledger
from pipeline.delivery.history import LogFilter

VIEWS = ("runs", "deliveries", "attempts")


def read_log(project: Path, view: str, where: LogFilter) -> list:
    config = load_project(project)
    if not (config.workdir / "pulse.duckdb").is_file():
        return []
    con = ledger.open_ledger(config.workdir, config.project.timezone)
    try:
        return {"runs": history.runs, "deliveries": history.deliveries, "attempts": history.attempts}[view](con, where)
    finally:
        con.close()


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z") if moment is not None else "—"


def _short(message_id: str | None) -> str:
    return (message_id or "").strip("<>") or "—"


def print_log(view: str, rows: Sequence, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps([row.to_json() for row in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"no {view} recorded" + (" matching the filters" if view else ""))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"pulse log {view} (newest first)", title_justify="left")
    if view == "runs":
        for heading in ("Started", "Run", "Trigger", "Report", "Period", "Status", "Exit", "Error"):
            table.add_column(heading)
        for r in rows:
            error = r.error + ("".join(f"\n  - {d}" for d in r.details) if r.details else "")
            table.add_row(_when(r.started_at), r.run_id, r.trigger, r.report, r.period, r.status,
                          "" if r.exit_code is None else str(r.exit_code), error)
    elif view == "deliveries":
        for heading in ("Last attempt", "Report", "Period", "Segment", "Recipient", "Status", "Attempts", "Sent",
                        "Message-ID", "Last error"):
            table.add_column(heading)
        for d in rows:
            table.add_row(_when(d.last_attempt_at), d.report, d.period, d.segment or "company-wide", d.recipient,
                          d.status + ("" if d.kind == "original" else f" ({d.kind})"), str(d.attempts),
                          _when(d.sent_at), _short(d.delivered_message_id or d.message_id), d.last_error)
    else:
        for heading in ("Attempted", "Run", "Report", "Period", "Segment", "Recipient", "#", "Kind", "Outcome",
                        "Message-ID", "Error"):
            table.add_column(heading)
        for a in rows:
            table.add_row(_when(a.attempted_at), a.run_id, a.report, a.period, a.segment or "company-wide",
                          a.recipient, str(a.attempt), a.kind, a.outcome, _short(a.message_id), a.error)
    Console(width=max(180, Console().width)).print(table)
