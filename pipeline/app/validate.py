"""`pulse validate`: config, exports, SQL and SMART checks, every problem at once.

Runs as far as it can: config problems of every file; then, when the config
loads, ingest and every KPI query over a window (each failure listed); then the
SMART lint of every key result. Errors make the exit code 1; warnings alone 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.config import ProjectConfig, collect_problems
from pipeline.config.delivery import DeliveryFile, collect_delivery_problems
from pipeline.config.okrs import cycle_dates
from pipeline.config.yaml_doc import load_yaml
from pipeline.core import database
from pipeline.core.errors import PulseError
from pipeline.core.periods import Calendar, Grain, today_in
from pipeline.kpis import queries as kpis
from pipeline.okrs.checkins import load_checkins
from pipeline.okrs.cycles import kr_ids
from pipeline.okrs.smart_lint import Finding, lint_cycle_dates, lint_key_result
from pipeline.sources import ingest as sources

HISTORY_PERIODS = 60  # how far back the Achievable check looks


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" or "warning"
    message: str
    hint: str = ""

    def line(self) -> str:
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.severity}: {self.message}{hint}"


def validate_project(root: Path, now: datetime | None = None) -> list[Problem]:
    config, config_problems = collect_problems(root)
    problems = [Problem("error", p.message, p.hint or "") for p in config_problems]
    if config is None:
        return problems
    delivery, delivery_problems = collect_delivery_problems(config)
    problems += [Problem("error", p.message, p.hint or "") for p in delivery_problems]
    problems += _plaintext_auth(delivery)
    try:
        con = database.connect_project(config)
    except PulseError as exc:
        return problems + [Problem("error", exc.message, exc.hint or "")]
    try:
        try:
            sources.ingest(con, config)
        except PulseError as exc:
            return problems + [Problem("error", exc.message, exc.hint or "")]
        calendar = Calendar(Grain.MONTH, config.project.fiscal_year_start)
        last = calendar.shift(calendar.containing(today_in(config.project.timezone, now)), -1)
        window = calendar.window(last, HISTORY_PERIODS - 1)
        kpis.register_periods(con, window)
        history: dict[str, list[float | None]] = {}
        for kpi_id in config.kpis:
            try:
                series = kpis.run_kpi(con, config, kpi_id, window, last)
                history[kpi_id] = [series.values[p.start] for p in window]
            except PulseError as exc:
                problems.append(Problem("error", exc.message, exc.hint or ""))
        problems.extend(_okr_problems(config, calendar, window, history))
    finally:
        con.close()
    return problems


LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _plaintext_auth(delivery: DeliveryFile | None) -> list[Problem]:
    """smtp.allow_plaintext_auth for a server that is not on this machine: the password crosses the network."""
    smtp = delivery.smtp if delivery is not None else None
    if smtp is None or not smtp.plaintext_auth or smtp.host in LOOPBACK or smtp.host.startswith("127."):
        return []
    return [Problem("warning", f"config/delivery.yaml: smtp.allow_plaintext_auth: the password for {smtp.username} "
                               f"goes to {smtp.host} over an unencrypted connection",
                    "allow it only for a relay on this machine; use security: starttls or ssl for a remote server")]


def _okr_problems(config: ProjectConfig, calendar: Calendar, window, history) -> list[Problem]:
    okrs = config.okrs
    if okrs is None:
        return []
    findings: list[Finding] = []
    checked_krs: set[str] = set()
    if okrs.checkins:
        all_ids = set().union(*(kr_ids(c) for c in okrs.cycles.values()))
        try:
            checked_krs = {c.kr_id for c in load_checkins(config.root / okrs.checkins, all_ids)}
        except PulseError as exc:
            findings.append(Finding("error", "checkins", exc.message, exc.hint or ""))
    starts = [p.start for p in window]
    for cycle_name, cycle in okrs.cycles.items():
        findings.extend(lint_cycle_dates(cycle_name, cycle))
        dates = cycle_dates(cycle_name, cycle, config.project.fiscal_year_start)
        length = None
        baseline_index = None
        if dates is not None:
            first = calendar.containing(dates[0])
            length = 0
            current = first
            while current.start < dates[1]:
                length += 1
                current = calendar.shift(current, 1)
            before = calendar.shift(first, -1).start
            baseline_index = starts.index(before) if before in starts else None
        for objective_id, objective in cycle.objectives.items():
            for kr_id, kr in objective.key_results.items():
                key = f"cycles.{cycle_name}.objectives.{objective_id}.key_results.{kr_id}"
                values = history.get(kr.kpi, []) if kr.kpi else []
                if isinstance(kr.baseline, (int, float)):
                    baseline = float(kr.baseline)
                elif baseline_index is not None and values:
                    baseline = values[baseline_index]
                else:
                    baseline = None
                # history up to the cycle's start only: the cycle's own periods are not "history"
                past = values[:baseline_index + 1] if baseline_index is not None else values
                findings.extend(lint_key_result(key, kr, config, past, length, baseline, kr_id in checked_krs))
    doc = load_yaml(config.root / "config" / "okrs.yaml")
    return [Problem(f.severity, f"{doc.where(f.key)}: {f.key}: {f.message}" if f.key != "checkins" else f.message,
                    f.hint) for f in findings]
