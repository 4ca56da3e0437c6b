"""The files `pulse init` writes: commented config, a template that only overrides, a README stub.

Every text here is a complete file a user reads and edits: each key is
explained where it stands, and where a value is Pulse's proposal rather than a
fact of the exports the comment says CHECK. The sources file of `--from` is
written by `sources_yaml`; the skeleton's own example export (so that a project
made without exports runs at once) is `sample_orders`.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta

import yaml


def scalar(value: str) -> str:
    """A YAML scalar (quoted only when YAML needs it)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 20)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def quoted(value: str) -> str:
    """A YAML string in single quotes (delimiters, separators and formats read best that way)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Settings:
    """What config/pulse.yaml says about the company."""

    company: str
    timezone: str
    currency: str
    locale: str = "en"
    allow_outside_paths: bool = False


def pulse_yaml(settings: Settings) -> str:
    outside = ("  allow_outside_paths: true     # the exports stay where they are, outside this folder\n"
               if settings.allow_outside_paths else
               "  # allow_outside_paths: true   # let sources read exports outside this folder\n")
    return f"""\
# Project settings. Every key is explained in Pulse's docs/configuration.md 'Project settings'.
project:
  company: {scalar(settings.company)}   # shown on every report and email
  timezone: {scalar(settings.timezone)}   # CHECK: the reporting time zone; timestamps with an offset are converted to it
  fiscal_year_start: 1          # first month of the fiscal year (1 = January)
  locale: {scalar(settings.locale)}                    # numbers and dates: en, en_DK (English words, Danish numbers), da, de, ...
  currency: {scalar(settings.currency)}                 # CHECK: the currency of unit: currency KPIs
  workdir: .pulse               # working folder: the DuckDB database, staging (git-ignored)
  output_dir: reports           # reports/<report>/<period>/: HTML, PDF and manifest.json
  default_report: monthly       # the report `pulse run` builds when none is named
{outside}  # theme:                      # the report's look without Python
  #   logo: report_templates/logo.svg
  #   colors: {{accent: "#0f766e"}}
"""


KPIS_HEADER = """\
# KPIs: one SQL query each under queries/ (query: its path without .sql; default: the KPI id).
# Every key is explained in Pulse's docs/configuration.md 'KPIs'.
#   unit: count | number | currency | percent (a fraction: 0.123 is 12.3 %) | duration (hours)
#   direction: up (higher is good) | down | neutral
#   fill: zero (a period without rows is 0); default: it has no value
#   target: a number, or per period {2026-10: 480000}; thresholds: {good: ..., warn: ...}
kpis:
"""


def kpi_entry(kpi_id: str, title: str, description: str, unit: str, decimals: int = 0) -> str:
    return f"""\
  {kpi_id}:
    title: {scalar(title)}
    description: {scalar(description)}
    unit: {unit}
    decimals: {decimals}
    direction: up
    # fill: zero                  # a period without rows counts as 0 (default: it has no value)
    # target: 1000
    # thresholds: {{good: 1000, warn: 800}}
"""


def reports_yaml(kpi_ids: list[str]) -> str:
    return f"""\
# Reports: which KPIs, which grain, which formats. Every key is explained in Pulse's docs/configuration.md 'Reports'.
reports:
  monthly:
    title: Monthly report
    template: monthly.html.j2     # report_templates/monthly.html.j2: the built-in report, blocks overridden there
    grain: month                  # month | quarter | week | year
    formats: [html, pdf]
    kpis: [{", ".join(kpi_ids)}]
    # email:                      # pulse run --email; recipient lists in config/delivery.yaml
    #   send_to: [management]
    # schedule:                   # pulse due builds it, e.g. at 07:00 on the 2nd of each month
    #   cron: "0 7 2 * *"
"""


def kpi_query(title: str, table: str, column: str) -> str:
    return f"""\
-- {title} per period: an example KPI written by `pulse init`; change it or copy it for your own.
-- A KPI query joins its rows to `periods` (period_start, period_end exclusive, label) and
-- returns one row per period: `period` and `value` (Pulse's docs/configuration.md 'The KPI query contract').
SELECT p.period_start AS period, count(*) AS value
FROM periods p
JOIN {table} t ON t.{column} >= p.period_start AND t.{column} < p.period_end
GROUP BY ALL
"""


SUM_QUERY = """\
-- Revenue per period: the sum of the orders' amounts (an example KPI; change it to your own).
-- A KPI query joins its rows to `periods` and returns `period` and `value` per period
-- (Pulse's docs/configuration.md 'The KPI query contract').
SELECT p.period_start AS period, sum(o.amount) AS value
FROM periods p
JOIN orders o ON o.order_date >= p.period_start AND o.order_date < p.period_end
GROUP BY ALL
"""

TEMPLATE = """\
{# The report's layout: Pulse's built-in report, with the blocks you want changed overridden here.
   Templates only lay out: every figure arrives formatted (Pulse's docs/configuration.md 'Templates').

   The built-in report's blocks, in page order (override one by writing it outside this comment;
   {{ super() }} inserts the built-in content of the block):
     cover        title, company, period, "data as of"
     toc          table of contents (with page numbers in the PDF)
     notices      data-quality warnings and restated figures
     summary      executive summary: objectives by status, the KPIs that moved most
     kpi_table    every KPI: value, change, last year, target, health, sparkline
     okrs         objectives and key results (when config/okrs.yaml exists)
     trends       a 12-period chart per KPI
     methodology  each KPI's description and SQL, the OKR rules
     appendix     the data-quality checks

   For example, a line under the title:
     {% block cover %}
     {{ super() }}
     <p class="house-note">Prepared by Finance for {{ company }}.</p>
     {% endblock %}
#}
{% extends "builtin/report.html.j2" %}
"""

CSS = """\
/* Project styles, added after Pulse's built-in report.css (colours and logo: theme: in config/pulse.yaml). */
.house-note { color: var(--muted); font-size: 8pt; margin: 0 0 3mm 5mm; font-style: italic; }
"""

GITIGNORE = """\
# Pulse's working folder (the DuckDB database, preview builds) and built reports
.pulse/
reports/
.venv/
"""

SAMPLE_SOURCES = """\
# Where the exports are and what columns they hold. Every key is explained in
# Pulse's docs/configuration.md 'Sources'; `pulse init DIR --from EXPORTS` writes this file from your own files.
#
# This project starts with example exports (data/orders/, made up by `pulse init`) so that
# `pulse run` works at once: put your exports under data/, describe them here, delete the examples.
sources:
  orders:
    description: Orders, one export per month (example data)
    paths: data/orders/orders_*.csv   # a glob: next month's export is picked up as it arrives
    # options:                       # reader options, only where detection is not enough
    #   delimiter: ';'               # sniffed: , ; tab |
    #   decimal: ','                 # detected per file from values that read one way only
    #   encoding: cp1252             # detected: UTF-8 (with or without BOM), else Windows-1252
    #   date_format: '%d.%m.%Y'      # dates are ISO 8601 unless declared: 04-05-2026 is never guessed
    columns:                         # types: text, integer, number, date, timestamp, boolean
      order_id: {type: text}
      order_date: {type: date}
      customer: {type: text}
      amount: {type: number}
      channel: {type: text, required: false}   # required: false = some files lack the column
    primary_key: [order_id]          # a later file's row replaces an earlier one with the same key
"""


def sample_orders(months: list[tuple[int, int]]) -> dict[str, bytes]:
    """Made-up monthly order exports (file name -> CSV bytes), a few orders every day of each month.

    Each month's rows depend only on the month, so the files do not change when more are added.
    """
    files = {}
    for year, month in months:
        rng = random.Random(f"pulse-init-sample-{year}-{month:02d}")
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["order_id", "order_date", "customer", "amount", "channel"])
        day = date(year, month, 1)
        number = 0
        while day.month == month:
            for _ in range(rng.randint(2, 6)):
                number += 1
                writer.writerow([f"O-{year}{month:02d}-{number:04d}", day.isoformat(), f"C-{rng.randint(1, 80):03d}",
                                 f"{rng.randint(1500, 40000) / 100:.2f}", rng.choice(["web", "shop", "phone"])])
            day += timedelta(days=1)
        files[f"orders_{year}-{month:02d}.csv"] = buffer.getvalue().encode("utf-8")
    return files


def readme(company: str, made: str, commands: list[tuple[str, str]], layout: list[tuple[str, str]],
           todo: list[str]) -> str:
    """The project's own README: what it is, the commands to try, what is where, what is still open."""
    width = max(len(c) for c, _ in commands)
    lines = [f"# {company}: reporting", "", f"A Pulse reporting project, {made}.", ""]
    if todo:
        lines += ["## Before the first run", "", "Decide in config/sources.yaml (Pulse never guesses these):", ""]
        lines += [f"- {item}" for item in todo] + [""]
    lines += ["## Commands", "", "```sh"] + [f"{c.ljust(width)}   # {what}" for c, what in commands] + ["```", ""]
    lines += ["Run them anywhere inside this folder. Pulse's documentation (docs/ in the Pulse repository):",
              "configuration.md for every config key, commands.md for every command.", "",
              "## What is where", "", "| path | holds |", "| --- | --- |"]
    lines += [f"| `{path}` | {what} |" for path, what in layout] + [""]
    return "\n".join(lines)
