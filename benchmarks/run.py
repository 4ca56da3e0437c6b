"""The Pulse benchmark: one command, every figure measured in the same run.

    .venv/bin/python -m benchmarks.run --rows 1M --format csv
    .venv/bin/python -m benchmarks.run --rows 100k --segments 50 --skip-pandas
    .venv/bin/python -m benchmarks.run --rows 10M --memory-limit 1.5GB --repeat 3 --incremental
    .venv/bin/python -m benchmarks.run --series 12,24,36,48 --rows-per-month 100k
    .venv/bin/python -m benchmarks.run --rows 1M --interactive

Generates the demo schema at scale outside the repository (see
`benchmarks.generate`), builds a project from this repository's config,
queries and templates over it (see `benchmarks.project`), and runs the
monthly report for 2026-10, each phase in its own process:

- Pulse cold (empty working database), in total and per stage;
- Pulse warm (the same run again, inputs unchanged);
- the floor: DuckDB reading every input file once into a table, plus one
  WeasyPrint render of the report's HTML;
- the KPIs as a Polars script (lazy, every KPI collected together) and as a
  plain pandas script (needs the `bench` dependency group:
  `uv sync --group bench`), loading and computing timed apart, their figures
  checked against Pulse's;
- with `--interactive`: `pulse --help`, `kpis`, `okrs` and `query` on the demo
  project, warm, as whole processes, against Python + DuckDB running the same
  query on the same file (wall and CPU time);
- with `--render`: one PDF render of the demo report and of a report of 12
  KPIs with their charts (the demo's, its OKRs and appendices left out).
- with `--spark`, Pulse cold on a local Spark session (`engine: spark`,
  `master: local[*]`) over the same files, beside DuckDB: the ratio per stage,
  and whether every KPI value agrees.

It prints the ratios cold/floor, warm/PDF render, process/stage total and Pulse's
KPI stage against each script's KPIs,
and each process's peak memory (RSS). `--repeat N` runs cold, warm and the floor
N times each and keeps the fastest of each (every time is printed: the
machine's noise shows). `--segments N` also renders a report
bursting into N segments with 1 and with 2 worker processes; `--incremental`
measures adding the last month to a loaded project; `--series` runs cold at
several lengths of history with the same rows per month. Results are also
written as JSON next to the data.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.generate import DEFAULT_OUT, generate, months_until, parse_size, size_label
from benchmarks.project import REPO, build_project, link_exports

PERIOD = "2026-10"
NOW = "2026-11-25T09:00:00+00:00"
WINDOW = 24  # months the monthly report's KPI queries cover (12-month trend + last year)


def timed(command: list[str], what: str, cwd: Path = REPO) -> tuple[str, float, float, float]:
    """Run `command` in a fresh process: its output, wall time (s, interpreter start included), peak
    RSS (MB) and CPU time (user + system, s: less disturbed than wall time on a busy machine)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=errors, text=True)
        output = process.stdout.read()  # type: ignore[union-attr]
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if process.returncode:
            errors.seek(0)
            raise SystemExit(f"benchmark {what} failed:\n{errors.read().decode()[-3000:]}")
    return output, wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def child(phase: str, args: dict) -> dict:
    """Run one phase in a fresh process; its result plus wall time and peak RSS (MB)."""
    output, wall, peak, _cpu = timed([sys.executable, "-m", "benchmarks.phases", phase, json.dumps(args)],
                               f"phase {phase}")
    result = json.loads(output.strip().splitlines()[-1])
    result.update(wall=wall, peak_mb=peak)
    return result


def best(runs: list[dict], time_of) -> dict:
    """The fastest of repeated runs (the least disturbed by the machine), with every run's time and
    the highest peak memory of them all."""
    fastest = dict(min(runs, key=time_of))
    fastest.update(times=[time_of(r) for r in runs], peak_mb=max(r["peak_mb"] for r in runs))
    return fastest


def files_of(data: Path) -> dict[str, list[str]]:
    return {"sales": sorted(str(p) for p in (data / "sales").glob("*_*.*") if not p.name.endswith(".tmp")),
            "tickets": sorted(str(p) for p in (data / "support").glob("*_*.*") if not p.name.endswith(".tmp"))}


def fresh(project: Path) -> None:
    for folder in (".pulse", "reports"):
        shutil.rmtree(project / folder, ignore_errors=True)


def read_once(data: Path) -> None:
    """Every input file read once, so the first timed phase finds them in the OS file cache as the later
    ones do (a cold run right after generating, or after the Polars script's 9 GB, read them from disk)."""
    for path in sorted(data.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                while handle.read(1 << 24):
                    pass


def pulse_run(project: Path, report: str = "monthly", cache: bool = True) -> dict:
    return child("pulse", {"project": str(project), "report": report, "period": PERIOD, "now": NOW, "cache": cache})


def main_benchmark(args, rows: int, out: Path) -> dict:
    fmt = args.format
    data = generate(out, rows, fmt, args.months)
    project = build_project(data.parent / f"{fmt}-project", data, fmt, memory_limit=args.memory_limit,
                            threads=args.threads)
    fresh(project)
    results: dict = {"rows": rows, "format": fmt, "months": args.months, "memory_limit": args.memory_limit,
                     "repeat": args.repeat}
    print(f"data: {data} ({sum(p.stat().st_size for p in data.rglob('*') if p.is_file()) / 1e6:,.0f} MB)")
    read_once(data)
    colds = []
    for _ in range(args.repeat):
        fresh(project)
        colds.append(pulse_run(project))
    results["cold"] = best(colds, lambda r: r["total"])
    # the KPI stage against the Polars script's KPIs: the fastest of the cold runs' KPI stages, as the
    # script's KPIs are the fastest of its runs (the fastest cold run in total need not have the fastest stage)
    results["cold"]["kpi_stages"] = [r["stages"]["kpis"] for r in colds]
    results["warm"] = best([pulse_run(project) for _ in range(args.repeat)], lambda r: r["total"])
    if not args.skip_floor:
        results["floor"] = best([child("floor", {
            "database": str(data.parent / "floor.duckdb"), "format": fmt, "sources": files_of(data),
            "memory_limit": args.memory_limit, "threads": args.threads,
            "html": str(project / "reports" / "monthly" / PERIOD / "monthly.html"),
            "base_url": str(project / "report_templates")}) for _ in range(args.repeat)],
            lambda r: r["read"] + r["pdf"])
    months = [f"{y:04d}-{m:02d}-01" for y, m in months_until((2026, 10), WINDOW)]
    files = files_of(data)
    peer = {"sales": files["sales"], "tickets": files["tickets"], "format": fmt, "months": months}
    if not args.skip_polars:
        results["polars"] = best([child("polars", peer) for _ in range(args.repeat)], lambda r: r["compute"])
    if args.spark:
        results["spark"] = spark_benchmark(args, data, results["cold"])
    if not args.skip_pandas:
        results["pandas"] = child("pandas", peer)
    return results


INTERACTIVE_SQL = ("SELECT region, count(*) AS lines, sum(quantity * unit_price) AS gross "
                   "FROM sales GROUP BY region ORDER BY region")


def demo_project(out: Path, name: str = "demo-project") -> Path:
    """This repository's demo project with its exports up to PERIOD, under `out` (built once)."""
    project = out / name
    if not (project / "data").is_dir():
        build_demo = project.with_name(f"{name}.tmp")
        shutil.rmtree(build_demo, ignore_errors=True)
        for folder in ("config", "queries", "report_templates"):
            shutil.copytree(REPO / folder, build_demo / folder)
        timed([sys.executable, "-m", "pipeline.demo", str(build_demo / "data"), "--until", PERIOD], "demo data")
        shutil.rmtree(project, ignore_errors=True)
        build_demo.rename(project)
    return project


def pulse_command(project: Path) -> list[str]:
    """The `pulse` command of this environment, working on `project`."""
    return [str(Path(sys.executable).with_name("pulse")), "-C", str(project)]


def interactive_benchmark(args, out: Path) -> dict:
    """The commands a user types at the demo project, warm (loaded once by `pulse run`), each a whole
    process from interpreter start; fastest of max(3, --repeat) runs. `pulse query` is compared with
    Python opening the same DuckDB file read-only and running the same query."""
    project = demo_project(out)
    pulse = pulse_command(project)
    timed(pulse + ["run", "--period", PERIOD], "pulse run (demo)")
    commands = {
        "pulse --help": pulse + ["--help"],
        "pulse kpis": pulse + ["kpis", "--period", PERIOD],
        "pulse okrs": pulse + ["okrs", "--period", PERIOD],
        "pulse query": pulse + ["query", "--period", PERIOD, INTERACTIVE_SQL],
        "python + duckdb": [sys.executable, "-m", "benchmarks.phases", "duckdb_query",
                            json.dumps({"database": str(project / ".pulse" / "pulse.duckdb"),
                                        "sql": INTERACTIVE_SQL})],
        "pulse query 42": pulse + ["query", "--period", PERIOD, "SELECT 42"],
        "python + duckdb 42": [sys.executable, "-m", "benchmarks.phases", "duckdb_query",
                               json.dumps({"database": str(project / ".pulse" / "pulse.duckdb"), "sql": "SELECT 42"})],
    }
    for label, command in commands.items():  # once untimed: the first stores results in the cache
        timed(command, label, cwd=project)
    found: dict = {}
    for _ in range(max(3, args.repeat)):
        for label, command in commands.items():
            _output, wall, _peak, cpu = timed(command, label, cwd=project)
            found.setdefault(label, []).append((wall, cpu))
    return {label: {"seconds": min(w for w, _ in runs), "cpu": min(c for _, c in runs),
                    "times": [w for w, _ in runs]} for label, runs in found.items()}


# the demo's report without its OKRs and appendices: the executive summary, the key figures and the trends
SHORT_TEMPLATE = ('{% extends "builtin/report.html.j2" %}\n'
                  "{% block methodology %}{% endblock %}\n{% block appendix %}{% endblock %}\n")


def render_benchmark(args, out: Path) -> dict:
    """One PDF render by Pulse's renderer, each in its own process with WeasyPrint imported (a run's PDF stage),
    fastest of max(3, --repeat): the demo's monthly report (13 KPIs, the OKR cycle, the SQL and data-quality
    appendices) and a report of its first 12 KPIs with their charts (summary, key figures, trends)."""
    project = demo_project(out, "render-project")
    reports_file = project / "config" / "reports.yaml"
    reports = yaml.safe_load(reports_file.read_text(encoding="utf-8"))
    monthly = reports["reports"]["monthly"]
    reports["reports"]["twelve"] = {"title": monthly["title"], "kpis": monthly["kpis"][:12], "okrs": False,
                                    "template": "twelve.html.j2", "formats": ["html"]}
    reports_file.write_text(yaml.safe_dump(reports, sort_keys=False), encoding="utf-8")
    (project / "report_templates" / "twelve.html.j2").write_text(SHORT_TEMPLATE, encoding="utf-8")
    pulse = pulse_command(project)
    timed(pulse + ["run", "monthly", "--period", PERIOD, "--now", NOW, "--quiet"], "pulse run (demo)")
    timed(pulse + ["run", "twelve", "--period", PERIOD, "--now", NOW, "--quiet"], "pulse run (12 KPIs)")
    found: dict = {}
    for label, report in (("demo report", "monthly"), ("12 KPIs with charts", "twelve")):
        html = project / "reports" / report / PERIOD / f"{report}.html"
        runs = [child("pdf", {"html": str(html), "templates": str(project / "report_templates")})
                for _ in range(max(3, args.repeat))]
        found[label] = best(runs, lambda r: r["seconds"])
    return found


SPARK_ENGINE = {"name": "spark", "master": "local[*]",
                "conf": {"spark.driver.memory": "8g", "spark.sql.shuffle.partitions": 8}}


def spark_benchmark(args, data: Path, duckdb_cold: dict) -> dict:
    """Pulse cold on a local Spark session over the same exports; its KPI values checked against DuckDB's."""
    project = build_project(data.parent / f"{args.format}-spark", data, args.format, engine=SPARK_ENGINE)
    runs = []
    for _ in range(args.repeat):
        fresh(project)
        runs.append(pulse_run(project))
    spark = best(runs, lambda r: r["total"])
    differ = {k: (v, spark["kpis"].get(k)) for k, v in duckdb_cold["kpis"].items()
              if v != spark["kpis"].get(k) and not (v and spark["kpis"].get(k) is not None
                                                     and abs(spark["kpis"][k] - v) <= 1e-9 * abs(v))}
    spark.update(same_kpis=not differ, differ=differ)
    return spark


def segments_benchmark(args, rows: int, out: Path) -> dict:
    data = generate(out, rows, args.format, args.months)
    project = build_project(data.parent / f"{args.format}-segments", data, args.format, segments=args.segments,
                            memory_limit=args.memory_limit, threads=args.threads, render_workers=1)
    one = pulse_run(project, "segments")
    settings_path = project / "config" / "pulse.yaml"
    settings = yaml.safe_load(settings_path.read_text())
    settings["project"]["render_workers"] = args.workers
    settings_path.write_text(yaml.safe_dump(settings, sort_keys=False, allow_unicode=True))
    shutil.rmtree(project / "reports")
    shutil.rmtree(project / ".pulse" / "render-cache")  # lay out every PDF again, now in the workers
    many = pulse_run(project, "segments")
    again = pulse_run(project, "segments")  # nothing changed: every PDF from the render cache
    return {"segments": one["segments"], "workers": args.workers, "sequential": one["stages"]["segments"],
            "parallel": many["stages"]["segments"], "peak_mb": many["peak_mb"],
            "cold_total": many["total"], "rerun_total": again["total"]}


def incremental_benchmark(args, rows: int, out: Path) -> dict:
    data = generate(out, rows, args.format, args.months)
    project = build_project(data.parent / f"{args.format}-incremental", data, args.format,
                            memory_limit=args.memory_limit, threads=args.threads)
    shutil.rmtree(project / "data")
    link_exports(project, data, skip_last=True)
    before = child("ingest", {"project": str(project)})
    added = link_exports(project, data)
    after = child("ingest", {"project": str(project)})
    floor = child("floor", {"database": str(data.parent / "floor-new.duckdb"), "format": args.format,
                            "sources": {"sales": [str(p) for p in added if "sales" in p.name],
                                        "tickets": [str(p) for p in added if "tickets" in p.name]},
                            "memory_limit": args.memory_limit, "threads": args.threads})
    return {"all_but_last": before["total"], "new_month": after["total"], "loaded": after["loaded"],
            "paths": after["paths"], "floor_new_month": floor["read"]}


def series_benchmark(args, out: Path) -> list[dict]:
    per_month = parse_size(args.rows_per_month)
    found = []
    for months in (int(m) for m in args.series.split(",")):
        data = generate(out, per_month * months, args.format, months)
        project = build_project(data.parent / f"{args.format}-project", data, args.format,
                                memory_limit=args.memory_limit, threads=args.threads)
        fresh(project)
        cold = pulse_run(project)
        found.append({"months": months, "rows": per_month * months, "ingest": cold["stages"]["ingest"],
                      "kpis": cold["stages"]["kpis"], "total": cold["total"], "peak_mb": cold["peak_mb"]})
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1M", help="sales lines: 100k, 1M, 10M (default 1M)")
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--months", type=int, default=36, help="months of history (default 36)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"data folder (default {DEFAULT_OUT})")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit for Pulse and the floor, e.g. 1.5GB")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: one per core)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run cold, warm and the floor N times and keep the fastest of each (default 1)")
    parser.add_argument("--segments", type=int, default=0, help="also burst a report into N segments")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="worker processes for --segments")
    parser.add_argument("--incremental", action="store_true", help="also time adding the last month")
    parser.add_argument("--series", help="months of history to compare, e.g. 12,24,36,48 (with --rows-per-month)")
    parser.add_argument("--rows-per-month", default="100k")
    parser.add_argument("--skip-main", action="store_true", help="only the --segments/--incremental/--series parts")
    parser.add_argument("--spark", action="store_true", help="also run Pulse on a local Spark session (engine: spark)")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-polars", action="store_true")
    parser.add_argument("--render", action="store_true",
                        help="also time one PDF render of the demo report and of a report of 12 KPIs with charts")
    parser.add_argument("--interactive", action="store_true",
                        help="also time pulse kpis/okrs/query on the demo project, warm (whole processes)")
    parser.add_argument("--skip-floor", action="store_true")
    args = parser.parse_args(argv)
    rows = parse_size(args.rows)
    results: dict = {"machine": {"cores": os.cpu_count()}}
    if not args.skip_main:
        results["main"] = main_benchmark(args, rows, args.out)
    if args.segments:
        results["segments"] = segments_benchmark(args, rows, args.out)
    if args.incremental:
        results["incremental"] = incremental_benchmark(args, rows, args.out)
    if args.series:
        results["series"] = series_benchmark(args, args.out)
    if args.interactive:
        results["interactive"] = interactive_benchmark(args, args.out)
    if args.render:
        results["render"] = render_benchmark(args, args.out)
    from benchmarks.report import print_results

    print_results(results)
    parts = [] if args.skip_main else [f"{size_label(rows)}-{args.format}"]
    parts += [p for p, on in (("segments", args.segments), ("incremental", args.incremental),
                              ("series", args.series), ("interactive", args.interactive),
                              ("render", args.render)) if on]
    path = args.out / f"results-{'-'.join(parts)}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
