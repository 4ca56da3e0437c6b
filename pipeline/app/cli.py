"""The `pulse` command line: thin, it parses arguments and calls the runner.

Exit codes (each error type carries its own, see `pipeline.core.errors`): 0
success; 1 the command ran but did not succeed (validate found errors); 2 the
command could not run (usage, config, missing input); 3 the data-quality gate
failed; 4 a delivery failed; 5 a delivery is uncertain; 6 a correction is held;
7 `pulse due`: something owed too long; 8 the project is busy. Errors print one
line on stderr; `--debug` shows the traceback too.
"""

from __future__ import annotations

import sys
import traceback
from datetime import datetime
from pathlib import Path

import click

from pipeline.core.errors import PulseError, RunFailed, UsageError

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
@click.option("--project", "-C", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The reporting project folder (holds config/, queries/, report_templates/).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="pulse-reports")
@click.pass_context
def cli(ctx: click.Context, project: Path, debug: bool) -> None:
    """Pulse: exported business data -> KPIs -> HTML and PDF reports."""
    ctx.obj = project


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
@click.pass_obj
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
@click.pass_obj
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
@click.pass_obj
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
@click.pass_obj
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
@click.pass_obj
def kpis(project: Path, period: str | None, report: str | None, all_kpis: bool) -> None:
    """Print the KPI table for a period in the terminal."""
    from . import workspace
    from .terminal import print_kpi_table

    with workspace.open_workspace(project, progress_printer()) as ws:
        name, report_config = ws.config.report(report)
        calendar = workspace.calendar_for(ws.config, report_config.grain)
        chosen = workspace.resolve_period(ws.config, report_config.grain, period)
        ids = list(ws.config.kpis) if all_kpis else report_config.kpis
        results = workspace.kpi_results(ws, ids, calendar, chosen)
    print_kpi_table(results, chosen, ws.config.project.locale, ws.config.project.currency)


@cli.command()
@click.argument("name_or_sql")
@click.option("--period", "-p", help="The report period whose window the periods table holds (default: last).")
@click.option("--grain", type=click.Choice(["month", "quarter", "week", "year"]), default="month", show_default=True)
@click.option("--format", "-f", "fmt", type=click.Choice(QUERY_FORMATS), default=None,
              help="Output format [default: from the -o file's extension, else table].")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Stop the query after SECONDS (default: no limit).")
@click.pass_obj
def query(project: Path, name_or_sql: str, period: str | None, grain: str, fmt: str | None, output: Path | None,
          timeout: float | None) -> None:
    """Run a KPI query by name, a .sql file or SQL text (one SELECT, read-only) over the loaded sources."""
    from . import query as adhoc

    adhoc.run_query(project, name_or_sql, period, grain, fmt, output, progress_printer(), timeout)


@cli.command()
@click.option("--period", "-p", help="2026-10, 2026-Q3, last (default) or current.")
@click.option("--cycle", "-c", help="The OKR cycle (default: the one containing the period).")
@click.option("--report", "-r", help="Use this report's grain (default: the default report).")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
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
@click.pass_obj
def check(project: Path, period: str | None, report: str | None) -> None:
    """Run the data-quality gate alone: ingest and every source check."""
    from . import workspace
    from .terminal import print_checks

    with workspace.open_workspace(project, progress_printer()) as ws:
        _name, report_config = ws.config.report(report)
        calendar = workspace.calendar_for(ws.config, report_config.grain)
        chosen = workspace.resolve_period(ws.config, report_config.grain, period)
        results = workspace.quality_gate(ws, calendar, chosen)
    print_checks(results, chosen)


@cli.command()
@NOW_OPTION
@click.pass_obj
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
