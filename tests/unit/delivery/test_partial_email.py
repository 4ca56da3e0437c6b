"""The email summary says what page one says about a partly covered period: the mark and the note."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.delivery.message import html_body, text_body
from pipeline.report.summary import EmailSummary, KpiLine

NOTE = "Partial period: orders data ends 20 October 2026 (the period is 1 October 2026 – 31 October 2026)."


def _summary(partial: str, notes: tuple[str, ...]) -> EmailSummary:
    line = KpiLine(title="Revenue", value="DKK 1,000", change_rel="n/a", change_class="flat", target="—",
                   health="none", health_label="—", partial=bool(partial))
    return EmailSummary(company="Testbutik ApS", report="sales", title="Sales", segment=None, period="2026-10",
                        period_name="October 2026", period_range="1 October 2026 – 31 October 2026",
                        data_as_of="20 October 2026", data_as_of_iso=date(2026, 10, 20), okr_cycle=None,
                        okr_counts=(), movers=(), kpis=(line,), quality_warnings=(), partial=partial,
                        coverage_notes=notes)


def test_text_and_html_carry_the_partial_mark_and_note(tmp_path: Path) -> None:
    summary = _summary("partial", (NOTE,))
    text = text_body(summary, "sales.pdf")
    assert "October 2026 (1 October 2026 – 31 October 2026) — partial\nData as of 20 October 2026\n" + NOTE in text
    assert "Revenue (partial): DKK 1,000" in text
    html = html_body(tmp_path, summary, "sales.pdf")
    assert NOTE in html and ">partial</span>" in html


def test_a_covered_period_says_nothing_more(tmp_path: Path) -> None:
    summary = _summary("", ())
    text = text_body(summary, "sales.pdf")
    assert "partial" not in text.lower() and "Revenue: DKK 1,000" in text
    assert "partial" not in html_body(tmp_path, summary, "sales.pdf").lower().replace(".partial {", "")
