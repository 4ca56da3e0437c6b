"""One benchmark phase, run in its own process: `python -m benchmarks.phases PHASE JSON_ARGS`.

Prints one JSON line with its timings. Every phase imports what it needs
before it starts the clock (pipeline, DuckDB, WeasyPrint, pandas), so the
times compare work, not interpreter start-up; the parent also records each
process's wall time and peak memory (see `benchmarks.run`).
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from datetime import date, datetime
from pathlib import Path


def pulse(args: dict) -> dict:
    """`run_report` end to end (cold or warm, as the project's working folder is)."""
    import weasyprint  # noqa: F401  (imported before the clock, as in `floor`)

    from pipeline.app import runner

    started = time.perf_counter()
    result = runner.run_report(Path(args["project"]), args["report"], args["period"],
                               now=datetime.fromisoformat(args["now"]), use_cache=args.get("cache", True))
    total = time.perf_counter() - started
    manifest = json.loads((result.folder / "manifest.json").read_text())
    return {"total": total, "stages": manifest["timings_seconds"],
            "kpis": {k: v["value"] for k, v in manifest["kpis"].items()},
            "segments": len(manifest.get("segments", {})),
            "loaded": sum(1 for f in manifest["inputs"] if f.get("rows") is not None)}


def ingest(args: dict) -> dict:
    """Ingest only (the incremental phase): which files were read and which path each source took."""
    from pipeline.config import load_project
    from pipeline.core import database
    from pipeline.sources import ingest as sources

    config = load_project(Path(args["project"]))
    started = time.perf_counter()
    con = database.connect_project(config)
    report = sources.ingest(con, config)
    con.close()
    return {"total": time.perf_counter() - started, "loaded": [f.path for f in report.loaded],
            "paths": {s.name: s.path for s in report.sources}}


def floor(args: dict) -> dict:
    """DuckDB reading every input file once into a table (CREATE TABLE AS), and one WeasyPrint render."""
    import duckdb
    import weasyprint

    database = Path(args["database"])
    for leftover in (database, database.with_name(database.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    if args.get("memory_limit"):
        con.execute("SET memory_limit = $m", {"m": args["memory_limit"]})
    if args.get("threads"):
        con.execute("SET threads = $t", {"t": args["threads"]})
    reader = "read_parquet($files)" if args["format"] == "parquet" else "read_csv($files)"
    started = time.perf_counter()
    for table, files in args["sources"].items():
        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM {reader}', {"files": files})
    con.close()  # the checkpoint: the data is on disk
    read = time.perf_counter() - started
    database.unlink(missing_ok=True)
    if not args.get("html"):
        return {"read": read}
    html = Path(args["html"]).read_text(encoding="utf-8")
    started = time.perf_counter()
    document = weasyprint.HTML(string=html, base_url=args["base_url"])
    document.write_pdf(pdf_variant="pdf/ua-1")
    return {"read": read, "pdf": time.perf_counter() - started}


def pandas(args: dict) -> dict:
    """The KPIs in pandas: loading (read, dedupe, convert) and computing timed apart."""
    import pandas  # noqa: F401

    from benchmarks.pandas_kpis import company_values, compute, load

    started = time.perf_counter()
    sales, tickets = load(args["sales"], args["tickets"], args["format"])
    loaded = time.perf_counter() - started
    months = [date.fromisoformat(m) for m in args["months"]]
    started = time.perf_counter()
    result = compute(sales, tickets, months)
    return {"load": loaded, "compute": time.perf_counter() - started,
            "values": company_values(result, months[-1])}


def polars(args: dict) -> dict:
    """The KPIs as a Polars script (lazy, collected together): loading and computing timed apart."""
    from benchmarks.polars_kpis import company_values, compute, load

    started = time.perf_counter()
    sales, tickets = load(args["sales"], args["tickets"], args["format"])
    loaded = time.perf_counter() - started
    months = [date.fromisoformat(m) for m in args["months"]]
    started = time.perf_counter()
    result = compute(sales, tickets, months)
    return {"load": loaded, "compute": time.perf_counter() - started,
            "values": company_values(result, months[-1])}


def duckdb_query(args: dict) -> dict:
    """What `pulse query` is compared with: Python opening the project's DuckDB file read-only and running
    the same query (timed by the parent as a whole process, like the pulse command)."""
    import duckdb

    con = duckdb.connect(args["database"], read_only=True)
    rows = con.execute(args["sql"]).fetchall()
    con.close()
    return {"rows": len(rows)}


def pdf(args: dict) -> dict:
    """One PDF render of a report's HTML by Pulse's renderer (WeasyPrint imported before the clock)."""
    import weasyprint  # noqa: F401

    from pipeline.report import render

    html = Path(args["html"]).read_text(encoding="utf-8")
    started = time.perf_counter()
    content = render.render_pdf(html, Path(args["templates"]))
    seconds = time.perf_counter() - started
    from pypdf import PdfReader  # the dev group's, as the tests read PDFs

    return {"seconds": seconds, "pages": len(PdfReader(io.BytesIO(content)).pages)}


PHASES = {"pulse": pulse, "ingest": ingest, "floor": floor, "pandas": pandas, "polars": polars,
          "duckdb_query": duckdb_query, "pdf": pdf}

if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    phase, arguments = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(PHASES[phase](arguments), default=str))
