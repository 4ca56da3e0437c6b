"""Print a benchmark's results: stage times, ratios against the targets, peak memory."""

from __future__ import annotations

STAGES = ["ingest", "checks", "kpis", "okrs", "html", "pdf"]
INTERACTIVE_TARGET = 1.0  # s, pulse kpis / pulse okrs on the demo, warm
QUERY_TARGET = 2.0  # pulse query / (python + duckdb), the same query on the same file
RENDER_TARGET = 1.0  # s, one PDF render of a report of 12 KPIs with their charts


def _verdict(ratio: float, limit: float, at_most: bool = True) -> str:
    ok = ratio <= limit if at_most else ratio >= limit
    return f"{'met' if ok else 'NOT met'} (target {'<=' if at_most else '>='} {limit})"


def print_results(results: dict) -> None:
    main = results.get("main")
    if main:
        _print_main(main)
    if "segments" in results:
        s = results["segments"]
        ratio = s["parallel"] / s["sequential"]
        print(f"\n{s['segments']} segment reports: one after another {s['sequential']:.1f} s "
              f"({s['sequential'] / s['segments']:.2f} s each), {s['workers']} workers {s['parallel']:.1f} s")
        print(f"  parallel / (N x one render) = {ratio:.2f}  {_verdict(ratio, 0.7)}")
        if "rerun_total" in s:
            rerun = s["rerun_total"] / s["cold_total"]
            print(f"  rerun with nothing changed {s['rerun_total']:.1f} s, cold {s['cold_total']:.1f} s: "
                  f"rerun / cold = {rerun:.2f}  {_verdict(rerun, 0.25)}")
    if "incremental" in results:
        i = results["incremental"]
        print(f"\nnew monthly export: ingest {i['new_month']:.2f} s (read only {', '.join(i['loaded'])}; "
              f"paths {i['paths']}); DuckDB reading just those files: {i['floor_new_month']:.2f} s; "
              f"loading all the earlier months: {i['all_but_last']:.1f} s")
    if "interactive" in results:
        _print_interactive(results["interactive"])
    if "render" in results:
        _print_render(results["render"])
    if "series" in results:
        print("\nmonths of history at a fixed number of rows per month (cold run):")
        print(f"  {'months':>6} {'rows':>11} {'ingest s':>9} {'KPIs s':>7} {'total s':>8} {'peak MB':>8}")
        for r in results["series"]:
            print(f"  {r['months']:>6} {r['rows']:>11,} {r['ingest']:>9.2f} {r['kpis']:>7.2f} {r['total']:>8.2f} "
                  f"{r['peak_mb']:>8,.0f}")


def _print_main(main: dict) -> None:
    cold, warm = main["cold"], main["warm"]
    print(f"\n{main['rows']:,} sales lines, {main['format']}, {main['months']} months"
          + (f", memory_limit {main['memory_limit']}" if main.get("memory_limit") else ""))
    print(f"  {'':24} {'total':>7} " + " ".join(f"{s:>7}" for s in STAGES) + f" {'process':>8} {'peak MB':>8}")
    for label, run in (("Pulse cold", cold), ("Pulse warm", warm)):
        stages = " ".join(f"{run['stages'].get(s, 0.0):>7.2f}" for s in STAGES)
        print(f"  {label:24} {run['total']:>7.2f} {stages} {run['wall']:>8.2f} {run['peak_mb']:>8,.0f}")
    floor = main.get("floor")
    if floor:
        total = floor["read"] + floor["pdf"]
        print(f"  {'floor (read + 1 PDF)':24} {total:>7.2f}   read {floor['read']:.2f}, PDF {floor['pdf']:.2f}"
              f"{'':>20} {floor['wall']:>8.2f} {floor['peak_mb']:>8,.0f}")
    peers = [(name, main[name]) for name in ("polars", "pandas") if main.get(name)]
    for name, peer in peers:
        print(f"  {name:24} {peer['load'] + peer['compute']:>7.2f}   load {peer['load']:.2f}, "
              f"KPIs {peer['compute']:.2f}{'':>22} {peer['wall']:>8.2f} {peer['peak_mb']:>8,.0f}")
    spark = main.get("spark")
    if spark:
        stages = " ".join(f"{spark['stages'].get(s, 0.0):>7.2f}" for s in STAGES)
        print(f"  {'Pulse cold, Spark local':24} {spark['total']:>7.2f} {stages} {spark['wall']:>8.2f} "
              f"{spark['peak_mb']:>8,.0f} (Python only; the JVM apart)")
    if main.get("repeat", 1) > 1:
        print(f"  (fastest of {main['repeat']} runs each; all runs, s: "
              + "; ".join(f"{label} {', '.join(f'{t:.2f}' for t in run['times'])}"
                          for label, run in (("cold", cold), ("warm", warm), ("floor", floor),
                                             ("polars KPIs", main.get("polars"))) if run)
              + f"; Pulse KPI stage {', '.join(f'{t:.2f}' for t in _kpi_stages(cold))})")
    print("  ratios:")
    if floor:
        ratio = cold["total"] / (floor["read"] + floor["pdf"])
        print(f"    cold / floor            {ratio:6.2f}  {_verdict(ratio, 1.3)}")
        ratio = warm["total"] / floor["pdf"]
        print(f"    warm / one PDF render   {ratio:6.2f}  {_verdict(ratio, 1.3)}")
    ratio = cold["wall"] / max(cold["total"], 1e-9)
    print(f"    process / stage total   {ratio:6.2f}  (cold; the process adds interpreter start and imports; "
          f"target <= 1.1)")
    for name, peer in peers:
        ratio = min(_kpi_stages(cold)) / max(peer["compute"], 1e-9)
        verdict = _verdict(ratio, 1.0) if name == "polars" else "(for comparison)"
        print(f"    Pulse KPIs / {name:10} {ratio:6.2f}  {verdict}")
        _print_agreement(name, peer["values"], cold["kpis"])
    if spark:
        print(f"    Spark / DuckDB (cold)   {spark['total'] / cold['total']:6.2f}  (Spark's session start, "
              f"ingest, checks, KPIs: " + ", ".join(
                  f"{s} {spark['stages'].get(s, 0.0) / max(cold['stages'].get(s, 0.0), 1e-9):.1f}x"
                  for s in ("ingest", "checks", "kpis")) + ")")
        print(f"    Spark and DuckDB KPI values: {'the same' if spark['same_kpis'] else 'DIFFER: ' + str(spark['differ'])}")
    peak = max(r["peak_mb"] for r in (cold, warm))
    print(f"    Pulse peak RSS          {peak:6,.0f} MB  {'met' if peak <= 2048 else 'NOT met'} (target <= 2048 MB)")


def _kpi_stages(cold: dict) -> list[float]:
    """The KPI stage of every cold run (results written before it was kept: the fastest run's)."""
    return cold.get("kpi_stages") or [cold["stages"]["kpis"]]


def _print_agreement(name: str, values: dict, pulse: dict) -> None:
    """How closely a peer script's company-wide figures match Pulse's; a KPI missing on either side or
    further apart than 1e-9 relative is named."""
    worst, apart = 0.0, []
    for kpi_id, value in values.items():
        mine = pulse.get(kpi_id)
        if value is None or mine is None:
            if value != mine:
                apart.append(f"{kpi_id} ({name} {value}, Pulse {mine})")
            continue
        difference = abs(value - mine) / max(abs(value), 1e-9)
        worst = max(worst, difference)
        if difference > 1e-9:
            apart.append(f"{kpi_id} ({name} {value:.6g}, Pulse {mine:.6g})")
    verdict = f"DIFFER on {', '.join(apart)}" if apart else f"agree within {worst:.1e} relative"
    print(f"      ({name} and Pulse on the {len(values)} company-wide KPIs of the last month: {verdict})")


def _print_interactive(found: dict) -> None:
    print(f"\ninteractive commands on the demo project, warm, whole processes (fastest of {len(found['pulse kpis']['times'])}):")
    for label, entry in found.items():
        print(f"  {label:18} {entry['seconds']:6.2f} s  CPU {entry['cpu']:5.2f} s   "
              f"(all, wall: {', '.join(f'{t:.2f}' for t in entry['times'])})")
    for label in ("pulse kpis", "pulse okrs"):
        seconds = found[label]["seconds"]
        print(f"    {label:22} {seconds:6.2f} s  {'met' if seconds <= INTERACTIVE_TARGET else 'NOT met'} "
              f"(target <= {INTERACTIVE_TARGET} s)")
    for query, python in (("pulse query", "python + duckdb"), ("pulse query 42", "python + duckdb 42")):
        if query not in found:
            continue
        ratio = found[query]["seconds"] / found[python]["seconds"]
        cpu = found[query]["cpu"] / found[python]["cpu"]
        print(f"    {query} / {python} {ratio:5.2f}  {_verdict(ratio, QUERY_TARGET)}; in CPU time {cpu:.2f}")


def _print_render(found: dict) -> None:
    runs = len(next(iter(found.values()))["times"])
    print(f"\nPDF render of the demo project's reports, one process each (fastest of {runs}):")
    for label, entry in found.items():
        print(f"  {label:20} {entry['seconds']:6.2f} s  {entry['pages']} pages   "
              f"(all: {', '.join(f'{t:.2f}' for t in entry['times'])})")
    seconds = found["12 KPIs with charts"]["seconds"]
    print(f"    12 KPIs with charts    {seconds:6.2f} s  {'met' if seconds <= RENDER_TARGET else 'NOT met'} "
          f"(target <= {RENDER_TARGET} s)")
