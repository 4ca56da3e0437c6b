"""Render a report context to HTML (Jinja) and PDF (WeasyPrint).

Autoescape is on and undefined names are errors. The project's
report_templates/ folder holds the templates, CSS, fonts and images; relative
URLs in the HTML resolve against it.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import jinja2
from markupsafe import Markup

from .context import ReportContext
from .errors import PulseError
from .yamlfile import display_path


def environment(templates_dir: Path) -> jinja2.Environment:
    if not templates_dir.is_dir():
        raise PulseError(
            f"{display_path(templates_dir)}: template folder not found",
            "create report_templates/ or copy it from the Pulse repository",
        )
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(["html", "htm", "xml", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(templates_dir: Path, template_name: str, context: ReportContext) -> str:
    """The report as an HTML string; template errors name the template and line."""
    env = environment(templates_dir)
    try:
        template = env.get_template(template_name)
        values = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
        css_path = templates_dir / "report.css"
        # the project's own stylesheet is trusted: inlined unescaped so the HTML is self-contained
        css = Markup(css_path.read_text(encoding="utf-8")) if css_path.is_file() else Markup("")
        return template.render(report=context, css=css, **values)
    except jinja2.TemplateNotFound as exc:
        raise PulseError(
            f"{display_path(templates_dir)}: template '{exc.name}' not found",
            "check 'template:' of the report in config/reports.yaml",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise PulseError(
            f"{display_path(templates_dir / (exc.name or template_name))}:{exc.lineno}: template syntax error: {exc.message}",
            "fix the Jinja syntax on that line",
        ) from None
    except jinja2.UndefinedError as exc:
        raise PulseError(
            f"{display_path(templates_dir / template_name)}: {exc.message}",
            "the template uses a name the report context does not provide; see README 'Templates'",
        ) from None


def render_pdf(html: str, templates_dir: Path) -> bytes:
    """The HTML laid out as a paged PDF by WeasyPrint."""
    import weasyprint  # imported lazily: it is the slowest import of the pipeline

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    document = weasyprint.HTML(string=html, base_url=str(templates_dir))
    return document.write_pdf()
