"""Render a report context to HTML (Jinja) and PDF (WeasyPrint).

Templates are looked up in the project's report_templates/ first and then in
Pulse's built-in templates (pipeline/report/templates/). A project template can
extend a built-in one by its `builtin/` name and override single blocks:

    {% extends "builtin/report.html.j2" %}
    {% block trends %}{% endblock %}

Autoescape is on and undefined names are errors. The CSS is the built-in
report.css followed by the project's report_templates/report.css, inlined so
the HTML is self-contained.

PDFs are deterministic: the same HTML gives the same bytes. Their creation and
modification dates come from the data (the report's data-as-of day, else the
period's last day), never the clock, and their document identifier is derived
from the report file and period (`PdfStamp`), so a rebuild from the same data
reproduces the PDF that was mailed, byte for byte.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import jinja2
from markupsafe import Markup

from pipeline.config import ProjectConfig, ReportConfig
from pipeline.core.errors import RenderError
from pipeline.core.files import OutputFile
from pipeline.core.paths import display_path
from pipeline.core.periods import Period
from pipeline.core.timings import Timings
from pipeline.kpis.comparisons import KpiResult

from .context import ReportInputs, build_context, with_contents_of
from .render_cache import RenderCache

BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment(templates_dir: Path) -> jinja2.Environment:
    """The Jinja environment of a templates folder, kept per process so each template is compiled once (Jinja
    checks a template file's modification time on each use, so an edited template is compiled again)."""
    return _environment(templates_dir.resolve(), templates_dir.is_dir())


@functools.lru_cache(maxsize=16)
def _environment(templates_dir: Path, exists: bool) -> jinja2.Environment:
    builtin = jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES))
    loaders: list[jinja2.BaseLoader] = []
    if exists:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders += [jinja2.PrefixLoader({"builtin": builtin}), builtin]
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(["html", "htm", "xml", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def stylesheet(templates_dir: Path) -> Markup:
    """Built-in CSS plus the project's own (trusted files, inlined unescaped)."""
    parts = [(BUILTIN_TEMPLATES / "report.css").read_text(encoding="utf-8")]
    project_css = templates_dir / "report.css"
    if project_css.is_file():
        parts.append(project_css.read_text(encoding="utf-8"))
    return Markup("\n".join(parts))


def template_names(context: object) -> dict[str, object]:
    """The names a template sees: the fields of a typed context (a frozen dataclass or pydantic model)."""
    if dataclasses.is_dataclass(context) and not isinstance(context, type):
        return {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
    fields = getattr(type(context), "model_fields", None)
    if fields is None:
        raise TypeError(f"a template context must be a dataclass or a pydantic model, not {type(context).__name__}")
    return {name: getattr(context, name) for name in fields}


def render_template(templates_dir: Path, template_name: str, context: object, **extra: object) -> str:
    """Render one template with the fields of `context` (plus `extra` names); errors name the template and line."""
    env = environment(templates_dir)
    values = {**template_names(context), **extra}
    try:
        return env.get_template(template_name).render(**values)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(
            f"{display_path(templates_dir)}: template '{exc.name}' not found (nor among the built-ins)",
            "check 'template:' of the report in config/reports.yaml",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            f"{exc.filename or exc.name or template_name}:{exc.lineno}: template syntax error: {exc.message}",
            "fix the Jinja syntax on that line",
        ) from None
    except jinja2.UndefinedError as exc:
        raise RenderError(
            f"{display_path(templates_dir / template_name)}: {exc.message}",
            "the template uses a name the report context does not provide; see docs/configuration.md 'Templates'",
        ) from None


def render_html(templates_dir: Path, template_name: str, context: object) -> str:
    """The report as an HTML string."""
    return render_template(templates_dir, template_name, context, report=context, css=stylesheet(templates_dir))


@dataclass(frozen=True)
class PdfStamp:
    """What makes a PDF's bytes reproducible: its dates (from the data) and its document identifier."""

    day: date  # creation and modification date
    identifier: bytes  # the same for every build of one report file and period

    @classmethod
    def of(cls, stem: str, period: Period, data_as_of: date | None) -> PdfStamp:
        day = data_as_of or (period.end - timedelta(days=1))
        digest = hashlib.sha256(f"pulse:{stem}:{period.label}".encode()).hexdigest()[:32]
        return cls(day, digest.encode("ascii"))


_IMPORTING: threading.Thread | None = None


def start_imports() -> None:
    """Import matplotlib (the charts) in a background thread while the run loads and computes.

    It takes over half a second to import, mostly Python code that runs while
    DuckDB works in its own threads, and every run draws the charts (they are
    part of the HTML). An import of it later in the run waits for this one to
    finish (Python's import lock) instead of starting again. Once per process.
    WeasyPrint is left to the PDF stage: a run whose PDFs all come from the
    render cache does not import it at all.
    """
    global _IMPORTING
    if _IMPORTING is None:
        _IMPORTING = threading.Thread(target=_import_charts, name="pulse-imports", daemon=True)
        _IMPORTING.start()


def _import_charts() -> None:
    try:
        import matplotlib.backends.backend_svg  # noqa: F401
        import matplotlib.figure  # noqa: F401
        import matplotlib.patches  # noqa: F401
        import matplotlib.ticker  # noqa: F401
    except ImportError:
        pass  # the charts' own import reports it


def render_pdf(html: str, templates_dir: Path, variant: str = "pdf/ua-1", stamp: PdfStamp | None = None) -> bytes:
    """The HTML laid out as a paged PDF by WeasyPrint (PDF/UA by default), dated and identified by `stamp`."""
    import weasyprint  # imported lazily: it is the slowest import of the pipeline

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # layout allocates millions of short-lived objects: keep the garbage collector from
    # walking everything the run holds (config, results, DuckDB, matplotlib) each time
    gc.freeze()
    try:
        options: dict[str, object] = {} if variant == "none" else {"pdf_variant": variant}
        document = weasyprint.HTML(string=html, base_url=str(templates_dir)).render(**options)
        if stamp is not None:
            moment = f"{stamp.day.isoformat()}T00:00:00Z"
            document.metadata.created = moment
            document.metadata.modified = moment
            options["pdf_identifier"] = stamp.identifier
        return document.write_pdf(**options)
    finally:
        gc.unfreeze()


# an element's id in the laid-out HTML (comments taken out first), quoted either way or not: autoescape writes
# `<`, `>` and quotes in any text or value as entities, so only the template's own tags can match
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ID = re.compile(r"""<[a-zA-Z](?:"[^"]*"|'[^']*'|[^<>"'])*?\sid\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""",
                 re.IGNORECASE)  # a quoted value before it is passed whole, `>` or ` id=` in it included


def anchors_in(html: str) -> frozenset[str]:
    """The ids of the elements of `html` (a laid-out report): what a contents link can point at."""
    return frozenset("".join(groups) for groups in _ID.findall(_COMMENT.sub("", html)))


def report_html(config: ProjectConfig, name: str, report: ReportConfig, period: Period, results: list[KpiResult],
                inputs: ReportInputs) -> str:
    """The report's HTML: its frozen context laid out by the report's template. When the template left out a
    section the contents list (a block overridden empty), it is laid out again without that entry."""
    context = build_context(config, name, report, period, results, inputs)
    html = render_html(config.templates_dir, report.template, context)
    anchors = anchors_in(html)
    if all(entry.anchor in anchors for entry in context.toc):
        return html
    return render_html(config.templates_dir, report.template, with_contents_of(context, anchors))


def pdf_key(html: str, config: ProjectConfig, report: ReportConfig, cache: RenderCache, stamp: PdfStamp) -> str:
    """The render cache's name for the PDF of `html` (see `render_cache`), dated and identified by `stamp`."""
    renderer = f"{render_pdf.__module__}.{render_pdf.__qualname__}"  # a test's stand-in is never mistaken for it
    stamped = f"{renderer}|{stamp.day.isoformat()}|{stamp.identifier.decode('ascii')}"  # the PDF's own bytes
    return cache.key(html, (config.templates_dir, BUILTIN_TEMPLATES), report.pdf_variant, stamped)


def pdf_of(html: str, config: ProjectConfig, report: ReportConfig, cache: RenderCache | None,
           stamp: PdfStamp) -> bytes:
    """The PDF of `html`: reused from the render cache when it was rendered from exactly this before."""
    if cache is None:
        return render_pdf(html, config.templates_dir, report.pdf_variant, stamp)
    key = pdf_key(html, config, report, cache, stamp)
    found = cache.get(key)
    if found is not None:
        return found
    content = render_pdf(html, config.templates_dir, report.pdf_variant, stamp)
    cache.put(key, content)
    return content


def render_files(config: ProjectConfig, name: str, report: ReportConfig, period: Period, results: list[KpiResult],
                 inputs: ReportInputs, timings: Timings, progress: Callable[[str], None], stem: str | None = None,
                 cache: RenderCache | None = None) -> list[OutputFile]:
    """The report's HTML and PDF, complete in memory (the PDF from `cache` when unchanged)."""
    stem = stem or name
    started = time.perf_counter()
    progress(f"rendering {stem}.html")
    html = report_html(config, name, report, period, results, inputs)
    timings.add("html", started)
    files = []
    if "html" in report.formats:
        files.append(OutputFile(f"{stem}.html", html.encode("utf-8")))
    if "pdf" in report.formats:
        started = time.perf_counter()
        progress(f"rendering {stem}.pdf")
        stamp = PdfStamp.of(stem, period, inputs.data_as_of)
        files.append(OutputFile(f"{stem}.pdf", pdf_of(html, config, report, cache, stamp)))
        timings.add("pdf", started)
    return files
