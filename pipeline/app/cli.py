"""The `pulse` command line: thin, it parses arguments and calls the runner.

Exit codes (each error type carries its own, see `pipeline.core.errors`): 0
success; 1 the command ran but did not succeed (validate found errors); 2 the
command could not run (usage, config, missing input); 3 the data-quality gate
failed; 4 a delivery failed; 5 a delivery is uncertain; 6 a correction is held;
7 `pulse due`: something owed too long; 8 the project is busy. Errors print one
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
        root = project_root(click.get_current_context().obj)
        from pipeline.core.sql_text import open_parser_early  # DuckDB: not for `pulse --help`

        open_parser_early()  # most project commands read queries' tables; it opens while the config loads
        return command(root, *args, **kwargs)

    return with_project


def _parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """--now: an ISO 8601 moment with an offset (testing schedules, rehearsals)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not an ISO 8601 time such as 2026-11-02T07:00:00+01:00") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"'{value}' needs an offset such as +01:00 or Z")
    return moment


NOW_OPTION = click.option(
    "--now", callback=_parse_now, metavar="TIME",
    help="Pretend it is this moment, ISO 8601 with an offset (2026-11-02T07:00:00+01:00): for testing schedules "
         "and rehearsing runs. Periods, schedules and the ledger's times use it.")
QUIET_OPTION = click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors (on stderr).")
FORMAT_OPTION = click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="json: one JSON document on stdout, also when the command fails.")


def _echo_warnings(lines: list[str]) -> None:
    """Failed checks and partial coverage, on stderr above an interactive command's output."""
    for line in lines:
        click.echo(line, err=True)


def _delivered(out, delivered) -> None:
    """A delivery's lines and notes; its error (exit code 4, 5 or 6) when something did not go out."""
    out.data["delivery"] = delivered.to_json()
    for line in delivered.lines():
        out.line(line)
    for note in delivered.notes:
        out.note(note)
    delivered.raise_for_failures()


@cli.command()
@click.argument("report", required=False)
@click.option("--period", "-p", help="2026-10, 2026-Q3, 2026-W42, 2026, last (default) or current.")
@click.option("--email", is_flag=True, help="Email the PDF to the report's recipients after the run.")
@click.option("--dry-run", is_flag=True, help="With --email: write the messages as .eml files to the outbox instead.")
@click.option("--resend", is_flag=True, help="With --email: send again to recipients who already got this period.")
@click.option("--send-correction", is_flag=True,
              help="With --email: send the correction when figures changed after the report was sent.")
@click.option("--no-cache", is_flag=True, help="Run every check and KPI query even when cached results are current.")
@QUIET_OPTION
@FORMAT_OPTION
@NOW_OPTION
@pass_project
def run(project: Path, report: str | None, period: str | None, email: bool, dry_run: bool, resend: bool,
        send_correction: bool, no_cache: bool, quiet: bool, fmt: str, now: datetime | None) -> None:
    """Build REPORT (default: the project's default report) for a period."""
    from . import runner, workspace
    from .output import command_output

    email = email or dry_run or resend or send_correction
    with command_output(project, "run", fmt, quiet, now, trigger="run") as out:
        with workspace.locked(project, "run", now) as config:
            name, report_config = config.report(report)
            out.report = name
            out.period = workspace.resolve_period(config, report_config.grain, period, now).label
            if email:
                runner.prepare_delivery(config, name, dry_run)  # config and password problems stop the run early
            result = runner.run_report(project, name, period, now=now, progress=progress_printer(quiet),
                                       use_cache=not no_cache)
            out.data.update(folder=str(result.folder), files=[str(path) for path in result.files])
            for path in result.files:
                out.line(str(path))
            show = progress_printer(quiet)  # on a terminal only: cron stays quiet (the manifest lists skipped segments)
            if result.skipped:
                show(f"skipped (no activity in {result.period.label}; inactive_segments: skip): "
                     + ", ".join(result.skipped))
            if result.reuse_line():
                show(result.reuse_line())
            if email:
                _delivered(out, runner.send_report(project, now=now, dry_run=dry_run, resend=resend,
                                                   send_correction=send_correction, built=result, run_id=out.run_id,
                                                   progress=progress_printer(quiet)))


@cli.command()
@click.argument("report")
@click.option("--period", "-p", help="2026-10, 2026-Q3, 2026-W42, 2026, last (default).")
@click.option("--dry-run", is_flag=True, help="Write the messages as .eml files to the outbox instead of sending.")
@click.option("--resend", is_flag=True, help="Send again to recipients who already got this period.")
@click.option("--send-correction", is_flag=True,
              help="Send the correction held because figures changed after the report was sent.")
@click.option("--uncertain", type=click.Choice(["resend", "delivered"]),
              help="Resolve uncertain deliveries: resend the same message (same Message-ID), or count it delivered.")
@click.option("--abandon", is_flag=True,
              help="Give up what is still owed for this period: nothing is sent, 'pulse due' stops retrying it.")
@QUIET_OPTION
@FORMAT_OPTION
@NOW_OPTION
@pass_project
def send(project: Path, report: str, period: str | None, dry_run: bool, resend: bool, send_correction: bool,
         uncertain: str | None, abandon: bool, quiet: bool, fmt: str, now: datetime | None) -> None:
    """Email the already built REPORT for a period (only what is still owed)."""
    from . import runner, workspace
    from .output import command_output

    if abandon and (dry_run or resend or send_correction or uncertain):
        raise UsageError("--abandon sends nothing: it cannot be combined with --dry-run, --resend, "
                         "--send-correction or --uncertain", "run 'pulse send' once for each")
    with command_output(project, "send", fmt, quiet, now, trigger="send") as out:
        out.report = report
        with workspace.locked(project, "send", now):
            if abandon:
                _abandon(out, project, report, period, now)
                return
            delivered = runner.send_report(project, report, period, now=now, dry_run=dry_run, resend=resend,
                                           send_correction=send_correction, uncertain=uncertain,  # type: ignore[arg-type]
                                           run_id=out.run_id, progress=progress_printer(quiet))
            out.period = delivered.period
            _delivered(out, delivered)


def _abandon(out, project: Path, report: str, period: str | None, now: datetime | None) -> None:
    from . import runner
    from .due import abandon_period

    chosen, delivered = runner.abandon_report(project, report, period, now=now, run_id=out.run_id)
    out.period = chosen.label
    scheduled = abandon_period(project, report, chosen.label, now, out.run_id)
    if delivered is not None:
        out.data["delivery"] = delivered.to_json()
        for line in delivered.lines():
            out.line(line)
    if scheduled:
        out.line(f"abandoned: {report} {chosen.label}: 'pulse due' does not owe it")


@cli.command()
@click.option("--list", "list_only", is_flag=True, help="Show each scheduled report, what is owed, its next due time "
                                                      "and last success.")
@click.option("--dry-run", is_flag=True, help="Say what would be built and emailed now, and what is owed; do nothing.")
@QUIET_OPTION
@FORMAT_OPTION
@NOW_OPTION
@pass_project
def due(project: Path, list_only: bool, dry_run: bool, quiet: bool, fmt: str, now: datetime | None) -> None:
    """Build and email every scheduled report whose time has come (run it hourly)."""
    from . import due as due_runs
    from . import workspace
    from .output import command_output

    if list_only:
        from .terminal import print_schedules, schedules_json

        statuses = due_runs.list_schedules(project, now)
        if fmt == "json":
            click.echo(schedules_json(statuses))
        else:
            print_schedules(statuses)
        return
    with command_output(project, "due", fmt, quiet, now) as out:
        if dry_run:
            outcome = due_runs.run_due(project, now, dry_run=True)
        else:
            with workspace.locked(project, "due", now):
                outcome = due_runs.run_due(project, now, progress_printer(quiet))
        out.data.update(outcome.to_json())
        for planned in outcome.planned:
            out.line(planned.line())
        for run_ in outcome.runs:
            out.line(run_.line())
            if run_.delivery is not None:
                for line in run_.delivery.lines():
                    out.line(f"  {line}")
        for item in outcome.owed:
            out.line(item.line())
        for note in outcome.notes:
            out.note(note)
        if dry_run and not outcome.planned:
            out.line("nothing due")
        outcome.raise_for_failures()


@cli.command()
@click.argument("view", type=click.Choice(["runs", "deliveries", "attempts"]), default="runs")
@click.option("--report", "-r", help="Only this report.")
@click.option("--period", "-p", help="Only this period label (2026-10).")
@click.option("--status", "-s", help="Only this status (runs: succeeded, failed, abandoned; deliveries: sent, failed, "
                                     "rejected, skipped, uncertain, abandoned; attempts: the outcome).")
@click.option("--recipient", help="Only this address (deliveries, attempts).")
@click.option("--run", "run_id", help="Only this run id (runs, attempts).")
@click.option("--since", callback=_parse_now, metavar="TIME", help="Only since this moment (ISO 8601 with offset).")
@click.option("--limit", "-n", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_project
def log(project: Path, view: str, report: str | None, period: str | None, status: str | None, recipient: str | None,
        run_id: str | None, since: datetime | None, limit: int, fmt: str) -> None:
    """Show what Pulse did: runs (default), deliveries or delivery attempts, newest first."""
    from pipeline.delivery.history import LogFilter

    from .log import print_log, read_log

    where = LogFilter(report, period, status, recipient, run_id, since, limit)
    print_log(view, read_log(project, view, where), fmt)


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
@NOW_OPTION
@pass_project
def kpis(project: Path, period: str | None, report: str | None, all_kpis: bool, series: bool, all_periods: bool,
         fmt: str, now: datetime | None) -> None:
    """Print the KPI table for a period (or every period's value: --series) in the terminal."""
    from pipeline.kpis.lineage import sources_of

    from . import workspace
    from .terminal import print_kpi_table

    with workspace.open_workspace(project, progress_printer()) as ws:
        name, report_config = ws.config.report(report)
        calendar = workspace.calendar_for(ws.config, report_config.grain)
        chosen = workspace.resolve_period(ws.config, report_config.grain, period, now)
        ids = list(ws.config.kpis) if all_kpis else report_config.kpis
        warnings = workspace.interactive_warnings(ws, calendar, chosen, sources_of(ws.config, ids), now)
        if series or all_periods:
            from .series import print_series

            _echo_warnings(warnings)
            print_series(ws, ids, calendar, chosen, all_periods, fmt)
            return
        results = workspace.kpi_results(ws, ids, calendar, chosen)
    _echo_warnings(warnings)
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
@NOW_OPTION
@pass_project
def query(project: Path, name_or_sql: str, period: str | None, grain: str, fmt: str | None, output: Path | None,
          all_periods: bool, timeout: float | None, now: datetime | None) -> None:
    """Run a KPI query by name, a .sql file or SQL text (one SELECT, read-only) over the loaded sources."""
    from . import query as adhoc

    adhoc.run_query(project, name_or_sql, period, grain, fmt, output, progress_printer(), timeout, all_periods, now)


@cli.command()
@click.option("--period", "-p", help="2026-10, 2026-Q3, last (default) or current.")
@click.option("--cycle", "-c", help="The OKR cycle (default: the one containing the period).")
@click.option("--report", "-r", help="Use this report's grain (default: the default report).")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@NOW_OPTION
@pass_project
def okrs(project: Path, period: str | None, cycle: str | None, report: str | None, fmt: str,
         now: datetime | None) -> None:
    """Print the OKR tree: objectives, key results, scores and status."""
    from pipeline.kpis.lineage import sources_of
    from pipeline.okrs.cycles import choose_cycle

    from . import workspace
    from .terminal import okr_json, print_okr_tree

    with workspace.open_workspace(project, progress_printer()) as ws:
        _name, report_config = ws.config.report(report)
        if ws.config.okrs is None:
            raise UsageError("this project has no config/okrs.yaml", "create it; see docs/configuration.md 'OKRs'")
        calendar = workspace.calendar_for(ws.config, report_config.grain)
        chosen = workspace.resolve_period(ws.config, report_config.grain, period, now)
        measured = workspace.cycle_kpis(choose_cycle(ws.config.okrs, calendar, chosen, cycle))
        warnings = workspace.interactive_warnings(ws, calendar, chosen, sources_of(ws.config, measured), now)
        result = workspace.okr_results(ws, calendar, chosen, cycle)
    _echo_warnings(warnings)
    assert result is not None
    if fmt == "json":
        click.echo(okr_json(result, ws.config, chosen))
    else:
        print_okr_tree(result, ws.config, chosen)


@cli.command()
@click.argument("report_name", metavar="[REPORT]", required=False)
@click.option("--period", "-p", help="2026-10, 2026-Q3, last (default) or current.")
@click.option("--report", "-r", help="The report whose gate to run (same as REPORT; default: the default report).")
@click.option("--all", "all_sources", is_flag=True, help="Check every source, not only those the report's KPIs read.")
@NOW_OPTION
@pass_project
def check(project: Path, report_name: str | None, period: str | None, report: str | None, all_sources: bool,
          now: datetime | None) -> None:
    """Run REPORT's data-quality gate alone: ingest and the checks of the sources its KPIs read."""
    from . import workspace
    from .terminal import print_checks

    if report_name and report and report_name != report:
        raise UsageError(f"two reports given: '{report_name}' and --report '{report}'", "give one of them")
    with workspace.open_workspace(project, progress_printer()) as ws:
        _name, report_config = ws.config.report(report_name or report)
        calendar = workspace.calendar_for(ws.config, report_config.grain)
        chosen = workspace.resolve_period(ws.config, report_config.grain, period, now)
        scope = None if all_sources else workspace.report_scope(ws.config, report_config, calendar, chosen).sources
        results = workspace.quality_gate(ws, calendar, chosen, now, scope)
    print_checks(results, chosen, ws.config.project.locale)


@cli.command()
@NOW_OPTION
@pass_project
def validate(project: Path, now: datetime | None) -> None:
    """Check config, exports, SQL and the SMART lint; list every problem at once."""
    from .validate import validate_project

    problems = validate_project(project, now)
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
