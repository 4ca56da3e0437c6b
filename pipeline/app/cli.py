"""The `pulse` command line: thin, it parses arguments and calls the runner.

Exit codes: 0 success; 1 the run executed but a check or delivery failed;
2 the command could not run (usage, config, missing input). Errors print one
line on stderr; `--debug` shows the traceback too.
"""

from __future__ import annotations

import functools
import sys
import traceback
from datetime import datetime
from pathlib import Path

import click

from pipeline.core.errors import ConfigError, PulseError, RunFailed, UsageError
from pipeline.core.paths import display_path, find_project

from .progress import progress_printer

# Every command imports what it needs when it runs, so `pulse --help` and a quick
# `pulse query` do not pay for WeasyPrint, matplotlib or Polars (see docs/architecture.md).
QUERY_FORMATS = ["table", "csv", "json", "parquet", "xlsx"]


class PulseGroup(click.Group):
    """Turns PulseError into one line on stderr and the right exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PulseError as exc:
            if ctx.params.get("debug"):
                traceback.print_exc()
            click.echo(exc.report(), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted; outputs of this run were not published", err=True)
            ctx.exit(130)


@click.group(cls=PulseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--project", "-C", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The reporting project folder (holds config/, queries/, report_templates/) "
                   "[default: the nearest folder, here or above, with config/pulse.yaml].")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="pulse-reports")
@click.pass_context
def cli(ctx: click.Context, project: Path | None, debug: bool) -> None:
    """Pulse: exported business data -> KPIs -> HTML and PDF reports."""
    ctx.obj = project


def project_root(given: Path | None) -> Path:
    """The project a command works on: --project DIR or the current folder, or the nearest folder above
    either that holds config/pulse.yaml (as git finds its repository)."""
    start = given if given is not None else Path(".")
    if given is not None and not given.is_dir():
        raise ConfigError(f"--project {given}: no such folder", "pass the folder that holds config/pulse.yaml")
    found = find_project(start)
    if found is None:
        what = (f"--project {display_path(start)}: not a Pulse project (no config/pulse.yaml in it or any folder "
                "above it)" if given is not None else
                "no Pulse project in the current folder or any folder above it (no config/pulse.yaml)")
        raise ConfigError(what,
                          "run pulse inside a project folder, pass --project DIR, or create one with 'pulse init DIR'")
    return found


def pass_project(command):
    """Like click.pass_obj, with the project folder found when the command runs (after its --help)."""

    @functools.wraps(command)
    def with_project(*args, **kwargs):
        return command(project_root(click.get_current_context().obj), *args, **kwargs)

    return with_project


def _parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """The hidden --now option: an ISO 8601 moment with an offset (tests, rehearsals)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not an ISO 8601 time such as 2026-11-02T07:00:00+01:00") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"'{value}' needs an offset such as +01:00 or Z")
    return moment


NOW_OPTION = click.option("--now", callback=_parse_now, hidden=True, help="Pretend it is this moment (ISO 8601).")


def _echo_delivery(delivered) -> None:
    for line in delivered.lines():
        click.echo(line)
    delivered.raise_for_failures()


@cli.command()
@click.argument("report", required=False)
@click.option("--period", "-p", help="2026-10, 2026-Q3, 2026-W42, 2026, last (default) or current.")
@click.option("--email", is_flag=True, help="Email the PDF to the report's recipients after the run.")
@click.option("--dry-run", is_flag=True, help="With --email: write the messages as .eml files to the outbox instead.")
@click.option("--resend", is_flag=True, help="With --email: send again to recipients who already got this period.")
@click.option("--no-cache", is_flag=True, help="Run every check and KPI query even when cached results are current.")
@NOW_OPTION
@pass_project
def run(project: Path, report: str | None, period: str | None, email: bool, dry_run: bool, resend: bool,
        no_cache: bool, now: datetime | None) -> None:
    """Build REPORT (default: the project's default report) for a period."""
    from . import runner, workspace

    email = email or dry_run or resend
    with workspace.locked(project, "run", now) as config:
        if email:
            runner.prepare_delivery(config, report, dry_run)  # config and password problems stop the run early
        result = runner.run_report(project, report, period, now=now, progress=progress_printer(),
                                   use_cache=not no_cache)
        for path in result.files:
            click.echo(str(path))
        show = progress_printer()  # on a terminal only: cron stays quiet (the manifest lists skipped segments)
        if result.skipped:
            show(f"skipped (no activity in {result.period.label}; inactive_segments: skip): " + ", ".join(result.skipped))
        if result.reuse_line():
            show(result.reuse_line())
        if email:
            _echo_delivery(runner.send_report(project, now=now, dry_run=dry_run, resend=resend, built=result,
                                              progress=progress_printer()))


@cli.command()
@click.argument("report")
@click.option("--period", "-p", help="2026-10, 2026-Q3, 2026-W42, 2026, last (default).")
@click.option("--dry-run", is_flag=True, help="Write the messages as .eml files to the outbox instead of sending.")
@click.option("--resend", is_flag=True, help="Send again to recipients who already got this period.")
@NOW_OPTION
@pass_project
def send(project: Path, report: str, period: str | None, dry_run: bool, resend: bool, now: datetime | None) -> None:
    """Email the already built REPORT for a period (only what is still owed)."""
    from . import runner, workspace

    with workspace.locked(project, "send", now):
        _echo_delivery(runner.send_report(project, report, period, now=now, dry_run=dry_run, resend=resend,
                                          progress=progress_printer()))


@cli.command()
@click.option("--list", "list_only", is_flag=True, help="Show each scheduled report, its next due time and last success.")
@NOW_OPTION
@pass_project
def due(project: Path, list_only: bool, now: datetime | None) -> None:
    """Build and email every scheduled report whose time has come (run it hourly)."""
    from . import due as due_runs
    from . import workspace

    if list_only:
        from .terminal import print_schedules

        print_schedules(due_runs.list_schedules(project, now))
        return
    with workspace.locked(project, "due", now):
        outcome = due_runs.run_due(project, now, progress_printer())
    for run_ in outcome.runs:
        click.echo(run_.line())
        if run_.delivery is not None:
            for line in run_.delivery.lines():
                click.echo(f"  {line}")
    for note in outcome.notes:
        click.echo(f"note: {note}", err=True)
    outcome.raise_for_failures()


@cli.command()
@click.option("--period", "-p", help="2026-10, 2026-Q3, last (default) or current.")
@click.option("--report", "-r", help="Take the KPIs and grain of this report (default: the default report).")
@click.option("--all", "all_kpis", is_flag=True, help="Show every configured KPI, not only the report's.")
@click.option("--series", is_flag=True,
              help="Every period of each KPI's window (the trend and the same periods last year), oldest first.")
@click.option("--all-periods", is_flag=True,
              help="Every period from the first one the KPIs' sources hold data for (implies --series).")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="json and csv give raw numbers.")
@pass_project
def kpis(project: Path, period: str | None, report: str | None, all_kpis: bool, series: bool, all_periods: bool,
         fmt: str) -> None:
    """Print the KPI table for a period (or every period's value: --series) in the terminal."""
    from . import workspace
    from .terminal import print_kpi_table

    with workspace.open_workspace(project, progress_printer()) as ws:
        name, report_config = ws.config.report(report)
        calendar = workspace.calendar_for(ws.config, report_config.grain)
        chosen = workspace.resolve_period(ws.config, report_config.grain, period)
        ids = list(ws.config.kpis) if all_kpis else report_config.kpis
        if series or all_periods:
            from .series import print_series

            print_series(ws, ids, calendar, chosen, all_periods, fmt)
            return
        results = workspace.kpi_results(ws, ids, calendar, chosen)
    if fmt != "table":
        from .series import results_text

        click.echo(results_text(results, fmt), nl=False)
        return
    print_kpi_table(results, chosen, ws.config.project.locale, ws.config.project.currency)


@cli.command()
@click.argument("name_or_sql")
@click.option("--period", "-p", help="The report period whose window the periods table holds (default: last).")
@click.option("--grain", type=click.Choice(["month", "quarter", "week", "year"]), default="month", show_default=True)
@click.option("--format", "-f", "fmt", type=click.Choice(QUERY_FORMATS), default=None,
              help="Output format [default: from the -o file's extension, else table].")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout.")
@click.option("--all-periods", is_flag=True,
              help="The periods table holds every period from the first one the sources hold data for.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Stop the query after SECONDS (default: no limit).")
@pass_project
def query(project: Path, name_or_sql: str, period: str | None, grain: str, fmt: str | None, output: Path | None,
          all_periods: bool, timeout: float | None) -> None:
    """Run a KPI query by name, a .sql file or SQL text (one SELECT, read-only) over the loaded sources."""
    from . import query as adhoc

    adhoc.run_query(project, name_or_sql, period, grain, fmt, output, progress_printer(), timeout, all_periods)


@cli.command()
@click.option("--period", "-p", help="2026-10, 2026-Q3, last (default) or current.")
@click.option("--cycle", "-c", help="The OKR cycle (default: the one containing the period).")
@click.option("--report", "-r", help="Use this report's grain (default: the default report).")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_project
def okrs(project: Path, period: str | None, cycle: str | None, report: str | None, fmt: str) -> None:
    """Print the OKR tree: objectives, key results, scores and status."""
    from . import workspace
    from .terminal import okr_json, print_okr_tree

    with workspace.open_workspace(project, progress_printer()) as ws:
        _name, report_config = ws.config.report(report)
        if ws.config.okrs is None:
            raise UsageError("this project has no config/okrs.yaml", "create it; see docs/configuration.md 'OKRs'")
        calendar = workspace.calendar_for(ws.config, report_config.grain)
        chosen = workspace.resolve_period(ws.config, report_config.grain, period)
        result = workspace.okr_results(ws, calendar, chosen, cycle)
    assert result is not None
    if fmt == "json":
        click.echo(okr_json(result, ws.config, chosen))
    else:
        print_okr_tree(result, ws.config, chosen)


@cli.command()
@click.option("--period", "-p", help="2026-10, 2026-Q3, last (default) or current.")
@click.option("--report", "-r", help="Use this report's grain (default: the default report).")
@pass_project
def check(project: Path, period: str | None, report: str | None) -> None:
    """Run the data-quality gate alone: ingest and every source check."""
    from . import workspace
    from .terminal import print_checks

    with workspace.open_workspace(project, progress_printer()) as ws:
        _name, report_config = ws.config.report(report)
        calendar = workspace.calendar_for(ws.config, report_config.grain)
        chosen = workspace.resolve_period(ws.config, report_config.grain, period)
        results = workspace.quality_gate(ws, calendar, chosen)
    print_checks(results, chosen, ws.config.project.locale)


@cli.command()
@pass_project
def validate(project: Path) -> None:
    """Check config, exports, SQL and the SMART lint; list every problem at once."""
    from .validate import validate_project

    problems = validate_project(project)
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        click.echo(problem.line(), err=True)
    warnings = len(problems) - len(errors)
    click.echo(f"{len(errors)} error(s), {warnings} warning(s)")
    if errors:
        raise RunFailed(f"pulse validate found {len(errors)} error(s)", "fix them; each line above names the file and key")


@cli.command()
@click.argument("report", required=False)
@click.option("--period", "-p", help="2026-10, 2026-Q3, last (default) or current.")
@click.option("--port", type=click.IntRange(0, 65535), default=8800, show_default=True,
              help="The port on 127.0.0.1 (0: any free port).")
@NOW_OPTION
@pass_project
def preview(project: Path, report: str | None, period: str | None, port: int, now: datetime | None) -> None:
    """Show REPORT's HTML in the browser, rebuilt when a query, config file, template or export changes."""
    from .preview import serve

    serve(project, report, period, port, now)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--from", "exports", multiple=True, type=click.Path(path_type=Path),
              help="Files or folders of your exports (CSV, Parquet, JSON, Excel): config/sources.yaml is written "
                   "from what they show. Repeat it, or list several after one --from.")
@click.option("--demo", is_flag=True, help="The Nordlys Kaffe demo project with its exports.")
@click.option("--company", help="The company's name on the reports [default: the folder's name].")
@click.option("--timezone", help="The reporting time zone, e.g. Europe/Copenhagen [default: this machine's].")
@click.option("--currency", help="The currency of money KPIs, e.g. DKK [default: EUR].")
@click.option("--force", is_flag=True, help="Overwrite files of an existing project that init writes.")
@click.argument("more_exports", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")
@NOW_OPTION
def init(folder: Path, exports: tuple[Path, ...], demo: bool, company: str | None, timezone: str | None,
         currency: str | None, force: bool, more_exports: tuple[Path, ...], now: datetime | None) -> None:
    """Create a reporting project in FOLDER that runs at once."""
    from .init import init_project

    if more_exports and not exports:
        raise UsageError(f"unexpected argument '{more_exports[0]}'", "list exports after --from: "
                         "pulse init FOLDER --from EXPORTS...")
    created = init_project(folder, demo=demo, exports=(*exports, *more_exports), force=force, company=company,
                           timezone=timezone, currency=currency, now=now)
    for line in created.summary(display_path(folder)):
        click.echo(line)


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # an internal error: say so in one line unless --debug
        if "--debug" in sys.argv:
            raise
        click.echo(f"error: internal error: {type(exc).__name__}: {exc} (hint: rerun with --debug and report it)", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
