"""Render the segment reports of a burst (burst_by) in worker processes.

Each segment's HTML and PDF is independent of the others and laying out a
PDF is single-threaded Python, so segments are rendered by a pool of worker
processes: `render_workers` in config/pulse.yaml, by default one per core,
never more than there are PDFs to lay out; 1 renders in this process. Each
segment's HTML is built in this process first; a PDF whose HTML and templates
are unchanged since a previous run is taken from the render cache (see
`render_cache`), and only the others go to the workers. Workers are forked
from a fork server that has already imported the renderer (started once per
process; no DuckDB connection or thread is inherited). They get the templates
folder and PDF variant once, then per segment its HTML; they return the PDF.
The result is the same, byte for byte, as rendering one after the other.

On a terminal a progress bar shows the segments done (nothing in cron).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import ProjectConfig, ReportConfig
from pipeline.core.files import OutputFile
from pipeline.core.periods import Period
from pipeline.kpis.comparisons import KpiResult

from .context import ReportInputs
from .render_cache import RenderCache

PRELOAD = ["pipeline.report.render", "weasyprint"]


@dataclass(frozen=True)
class SegmentJob:
    """One segment's report to render: its name, file stem, KPI results and inputs."""

    segment: str
    stem: str
    results: list[KpiResult]
    inputs: ReportInputs


def worker_count(config: ProjectConfig, jobs: int, workers: int | None = None) -> int:
    """Processes to use: `workers`, else render_workers, else one per core; at most one per segment."""
    wanted = workers or config.project.render_workers or os.cpu_count() or 1
    return max(1, min(wanted, jobs))


def render_segments(config: ProjectConfig, name: str, report: ReportConfig, period: Period, jobs: list[SegmentJob],
                    timings, progress: Callable[[str], None], workers: int | None = None,
                    cache: RenderCache | None = None) -> list[list[OutputFile]]:
    """Each job's files (HTML, PDF), in the order of `jobs`.

    The HTML of every segment is built here (it is quick); a PDF whose HTML, templates and renderer are
    unchanged since a previous run comes from the render `cache`, and only the others are laid out,
    in worker processes."""
    from . import render

    started = time.perf_counter()
    htmls = [render.report_html(config, name, report, period, job.results, job.inputs) for job in jobs]
    timings.add("html", started)
    pdfs: list[bytes | None] = [None] * len(jobs)
    keys: list[str] = [""] * len(jobs)
    stamps = [render.PdfStamp.of(job.stem, period, job.inputs.data_as_of) for job in jobs]  # reproducible bytes
    if "pdf" in report.formats:
        for index, html in enumerate(htmls):
            if cache is not None:
                keys[index] = render.pdf_key(html, config, report, cache, stamps[index])
                pdfs[index] = cache.get(keys[index])
    todo = [i for i, pdf in enumerate(pdfs) if pdf is None] if "pdf" in report.formats else []
    count = worker_count(config, len(todo), workers)
    if render.render_pdf.__module__ != render.__name__:  # replaced in this process (a test stub): it cannot run elsewhere
        count = 1
    with _progress_bar(len(todo), f"rendering {len(todo)} {report.burst_by or 'segment'} reports") as advance:
        if count == 1:
            for index in todo:
                pdfs[index] = render.render_pdf(htmls[index], config.templates_dir, report.pdf_variant, stamps[index])
                advance()
        else:
            for index, pdf in _in_workers(config, report, [(i, htmls[i], stamps[i]) for i in todo], count, advance):
                pdfs[index] = pdf
    if cache is not None:
        for index in todo:
            cache.put(keys[index], pdfs[index])  # type: ignore[arg-type]
    timings.stages["segments"] = round(time.perf_counter() - started, 3)
    rendered = []
    for job, html, pdf in zip(jobs, htmls, pdfs):
        files = []
        if "html" in report.formats:
            files.append(OutputFile(f"{job.stem}.html", html.encode("utf-8")))
        if pdf is not None:
            files.append(OutputFile(f"{job.stem}.pdf", pdf))
        rendered.append(files)
    return rendered


def _in_workers(config, report, work: list[tuple[int, str, object]], count, advance) -> Iterator[tuple[int, bytes]]:
    context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                          else "spawn")
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    with ProcessPoolExecutor(count, mp_context=context, initializer=_start_worker,
                             initargs=(config.templates_dir, report.pdf_variant)) as pool:
        futures = {pool.submit(_render_one, html, stamp): index for index, html, stamp in work}
        for future in as_completed(futures):
            yield futures[future], future.result()
            advance()


_worker: dict[str, object] = {}


def _start_worker(templates_dir: Path, variant: str) -> None:
    _worker.update(templates_dir=templates_dir, variant=variant)


def _render_one(html: str, stamp) -> bytes:
    from .render import render_pdf

    return render_pdf(html, _worker["templates_dir"], _worker["variant"], stamp)  # type: ignore[arg-type]


@contextmanager
def _progress_bar(total: int, label: str) -> Iterator[Callable[[], None]]:
    """A rich progress bar on an interactive stderr; a no-op otherwise."""
    if not sys.stderr.isatty() or total < 2:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[dim]› {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
