"""`pulse init DIR`: a new reporting project that runs at once.

Three starting points:

- `pulse init DIR`: commented config for a small example (`orders` exports
  under data/orders/, made up for the last 13 months), two KPIs, a monthly
  report, a template that only overrides blocks, a .gitignore and a README.
- `pulse init DIR --demo`: the Nordlys Kaffe demo project with its exports
  (the only place the pipeline uses `pipeline.demo`).
- `pulse init DIR --from PATH...`: config/sources.yaml inferred from the
  user's own exports (`pipeline.sources.inference`), one example KPI (rows per
  month of the largest source) and the report.

Every file is composed before the first one is written, so an export that
cannot be read leaves nothing behind; each file is written atomically. An
existing project (config/pulse.yaml), or any file init would write, is never
overwritten without `--force`.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.errors import InputError, UsageError
from pipeline.core.paths import display_path
from pipeline.core.periods import Calendar, Grain, today_in
from pipeline.sources.inference import InferredSource, infer_sources

from . import scaffold
from .scaffold import Settings
from .sources_yaml import example_kpi, project_path, sources_yaml

SAMPLE_MONTHS = 13  # the example exports: the last complete month and the twelve before it


@dataclass(frozen=True)
class Created:
    """What `pulse init` wrote and what the user should do next."""

    root: Path
    written: tuple[str, ...]  # paths relative to root
    sources: tuple[InferredSource, ...] = ()
    todo: tuple[str, ...] = ()  # questions to answer before the first run
    period: str | None = None  # the period to build first, when not `last`

    def summary(self, folder: str) -> list[str]:
        """What init prints: the project, each inferred source, the open questions, the next commands."""
        lines = [f"Created a Pulse project in {folder}/ ({len(self.written)} files)."]
        for source in self.sources:
            key = f", key {'+'.join(source.primary_key)}" if source.primary_key else ""
            when = f", event time {source.event_time}" if source.event_time else ""
            lines.append(f"  source {source.name}: {len(source.files)} file(s), {source.rows:,} rows, "
                         f"{len(source.columns)} columns{key}{when}")
        if self.todo:
            lines.append("Before the first run, decide in config/sources.yaml (never guessed):")
            lines += [f"  - {item}" for item in self.todo]
        lines += ["Next:", f"  cd {folder}", "  pulse preview        # the report in your browser, rebuilt as you edit",
                  f"  pulse run{' --period ' + self.period if self.period else ''}"]
        return lines


def init_project(target: Path, *, demo: bool = False, exports: tuple[Path, ...] = (), force: bool = False,
                 company: str | None = None, timezone: str | None = None, currency: str | None = None,
                 now: datetime | None = None) -> Created:
    """Compose every file of the new project, refuse to overwrite, then write them."""
    if demo and exports:
        raise UsageError("--demo and --from exclude each other", "start from the demo, or from your exports")
    if demo and (company or timezone or currency):
        raise UsageError("--company, --timezone and --currency describe a new project, not the demo",
                         "leave them out with --demo")
    zone = _zone(timezone)
    _refuse_existing_project(target, force)
    settings = Settings(company or _company_from(target), zone, (currency or "EUR").upper())
    if demo:
        files, created = _demo(target, now)
    elif exports:
        files, created = _from_exports(target, list(exports), settings, now)
    else:
        files, created = _skeleton(target, settings, now)
    _refuse_overwrite(target, files, force)
    for rel, content in files.items():
        _write(target / rel, content)
    if demo:
        _demo_exports(target, now)
    return created


# -- the three starting points ------------------------------------------------------------
def _skeleton(target: Path, settings: Settings, now: datetime | None) -> tuple[dict[str, bytes], Created]:
    months = _months_back(today_in(settings.timezone, now), SAMPLE_MONTHS)
    files = {
        "config/pulse.yaml": scaffold.pulse_yaml(settings),
        "config/sources.yaml": scaffold.SAMPLE_SOURCES,
        "config/kpis.yaml": scaffold.KPIS_HEADER
        + scaffold.kpi_entry("orders", "Orders", "Orders placed in the period.", "count")
        + scaffold.kpi_entry("revenue", "Revenue", "The orders' amounts added up.", "currency"),
        "config/reports.yaml": scaffold.reports_yaml(["orders", "revenue"]),
        "queries/orders.sql": scaffold.kpi_query("Orders", "orders", "order_date"),
        "queries/revenue.sql": scaffold.SUM_QUERY,
        **_common(settings.company, "made with `pulse init` around example exports in data/orders/", [],
                  ["orders"]),
    }
    data = {f"data/orders/{name}": content for name, content in scaffold.sample_orders(months).items()}
    encoded = {**_encode(files), **data}
    return encoded, Created(target, tuple(encoded))


def _demo(target: Path, now: datetime | None) -> tuple[dict[str, bytes], Created]:
    from pipeline.demo.project import project_files  # the demo is used by init only

    files = project_files()
    files.update(_encode(_common("Nordlys Kaffe ApS", "the Pulse demo (`pulse init --demo`): a Danish coffee "
                                 "roaster's sales and support exports in data/", [], ["sales", "tickets"], templates=False)))
    written = (*files, "data/sales/", "data/support/")
    return files, Created(target, written)


def _demo_exports(target: Path, now: datetime | None) -> None:
    from pipeline.demo.generate import DEFAULT_START, generate

    last = _months_back(today_in("Europe/Copenhagen", now), 1)[0]
    if (last[0] * 12 + last[1]) < DEFAULT_START[0] * 12 + DEFAULT_START[1]:
        raise UsageError(f"the demo starts in {DEFAULT_START[0]}-{DEFAULT_START[1]:02d}, after today's last month",
                         "check the machine's clock")
    generate(target / "data", start=DEFAULT_START, end=last)


def _from_exports(target: Path, exports: list[Path], settings: Settings,
                  now: datetime | None) -> tuple[dict[str, bytes], Created]:
    with tempfile.TemporaryDirectory(prefix="pulse-init-") as tmp:
        inference = infer_sources(exports, settings.timezone, Path(tmp))
    countable = [s for s in inference.sources if s.event_time is not None]
    if not countable:
        names = ", ".join(s.name for s in inference.sources)
        raise InputError(f"none of the exports ({names}) has a date or timestamp column",
                         "a report counts per period: export the date each row happened (ISO 8601 or one fixed "
                         "format such as 31.10.2026)")
    outside = any(project_path(p, target)[1] for s in inference.sources for p in s.patterns)
    settings = Settings(settings.company, settings.timezone, settings.currency, settings.locale, outside)
    main = max(countable, key=lambda s: s.rows)
    kpi_id, title, query = example_kpi(main)
    made = (f"{len(set(f for s in inference.sources for f in s.files))} export file(s) on "
            f"{today_in(settings.timezone, now).isoformat()}")
    todo = [f"source '{s.name}': {q.key}: {q.text} (replace CHOOSE with one of the values listed above it)"
            for s in inference.sources for q in s.questions]
    files = {
        "config/pulse.yaml": scaffold.pulse_yaml(settings),
        "config/sources.yaml": sources_yaml(inference, target, made),
        "config/kpis.yaml": scaffold.KPIS_HEADER
        + scaffold.kpi_entry(kpi_id, title, f"Rows of {main.name} per period (an example KPI).", "count"),
        "config/reports.yaml": scaffold.reports_yaml([kpi_id]),
        f"queries/{kpi_id}.sql": query,
        **_common(settings.company, f"made with `pulse init --from` from {made}", todo,
                  [s.name for s in inference.sources]),
    }
    encoded = _encode(files)
    period = _first_period(main.last_event, settings.timezone, now)
    return encoded, Created(target, tuple(encoded), inference.sources, tuple(todo), period)


# -- shared files ---------------------------------------------------------------------------
def _common(company: str, made: str, todo: list[str], sources: list[str], templates: bool = True) -> dict[str, str]:
    """The README, .gitignore and (unless the project brings its own) the report template and CSS."""
    table = sources[0]
    commands = [
        ("pulse validate", "config, exports and SQL checked, every problem at once"),
        ("pulse preview", "the report in your browser, rebuilt when you save a change"),
        ("pulse run", "build reports/monthly/<period>/monthly.html and .pdf (--period 2026-10)"),
        ("pulse kpis --series", "every KPI's value, period by period"),
        (f'pulse query "SELECT count(*) FROM {table}"', "any SQL over the loaded exports"),
    ]
    layout = [
        ("config/pulse.yaml", "company, reporting time zone, locale, currency"),
        ("config/sources.yaml", f"the exports: {', '.join(sources)}; their globs, reader options and columns"),
        ("config/kpis.yaml", "the KPIs: title, query, unit, direction, target"),
        ("config/reports.yaml", "the reports: KPIs shown, grain, formats, email, schedule"),
        ("queries/", "one SQL query per KPI"),
        ("report_templates/", "the report's layout (blocks of the built-in report overridden) and CSS"),
        ("reports/", "the built reports (git-ignored)"),
        (".pulse/", "Pulse's working folder: the DuckDB database, preview builds (git-ignored)"),
    ]
    files = {
        ".gitignore": scaffold.GITIGNORE,
        "README.md": scaffold.readme(company, made, commands, layout, todo),
    }
    if templates:
        files["report_templates/monthly.html.j2"] = scaffold.TEMPLATE
        files["report_templates/report.css"] = scaffold.CSS
    return files


def _encode(files: dict[str, str]) -> dict[str, bytes]:
    return {rel: text.encode("utf-8") for rel, text in files.items()}


# -- checks and writing -----------------------------------------------------------------------
def _refuse_existing_project(target: Path, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise UsageError(f"{display_path(target)} is a file", "give a folder for the new project")
    if (target / "config" / "pulse.yaml").is_file() and not force:
        raise UsageError(f"{display_path(target)} is already a Pulse project (config/pulse.yaml exists)",
                         "choose another folder, or add --force to overwrite the files pulse init writes")


def _refuse_overwrite(target: Path, files: dict[str, bytes], force: bool) -> None:
    if force:
        return
    existing = [rel for rel in files if (target / rel).exists()]
    if existing:
        raise UsageError(f"{display_path(target / existing[0])} exists"
                         + (f" (and {len(existing) - 1} more file(s) pulse init would write)" if len(existing) > 1
                            else ""),
                         "choose another folder, or add --force to overwrite them")


def _write(path: Path, content: bytes) -> None:
    """Write `path` whole or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# -- defaults ---------------------------------------------------------------------------------
def _zone(given: str | None) -> str:
    """The reporting time zone: --timezone, else the machine's (written with a CHECK), else UTC."""
    candidates = [given] if given else _machine_zones()
    for name in candidates:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            if given:
                raise UsageError(f"--timezone {given}: unknown time zone",
                                 "use an IANA name such as Europe/Copenhagen") from None
    return "UTC"


def _machine_zones() -> list[str]:
    zones = [os.environ.get("TZ", "").lstrip(":")]
    try:
        link = os.readlink("/etc/localtime")
        zones.append(link.split("zoneinfo/", 1)[1] if "zoneinfo/" in link else "")
    except OSError:
        pass
    try:
        zones.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    return [z for z in zones if z and re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", z)]


def _company_from(target: Path) -> str:
    name = re.sub(r"[-_]+", " ", Path(os.path.abspath(target)).name).strip()
    return (name[:1].upper() + name[1:]) if name else "My company"


def _months_back(today: date, count: int) -> list[tuple[int, int]]:
    """The `count` complete months before `today`'s month, oldest first."""
    index = today.year * 12 + today.month - 1  # today's month, 0-based
    return [((i - 1) // 12, (i - 1) % 12 + 1) for i in range(index - count + 1, index + 1)]


def _first_period(last_event: date | None, timezone: str, now: datetime | None) -> str | None:
    """The month to build first when the exports end before the last complete month (else None: `last`).

    The latest month the exports cover to its last day: the data-quality gate
    checks that the data reaches the end of the report period.
    """
    if last_event is None:
        return None
    calendar = Calendar(Grain.MONTH)
    last_complete = calendar.shift(calendar.containing(today_in(timezone, now)), -1)
    covered = calendar.containing(last_event)
    if last_event + timedelta(days=1) < covered.end:  # the data stops before the month's last day
        covered = calendar.shift(covered, -1)
    return None if covered.start >= last_complete.start else covered.label
