"""The contents list what the laid-out report has: the ids read from its HTML, and the entries kept."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.report.appendix import TocEntry
from pipeline.report.context import toc_columns, with_contents_of
from pipeline.report.render import anchors_in


def test_ids_are_read_from_tags_quoted_either_way_or_not():
    html = ('<section id="trends"><h2 ID=\'methodology\'>x</h2><div class=sql id=data-quality>'
            '<p>id="not-a-tag" and &lt;a id="escaped"&gt;</p><!-- <p id="commented"> -->'
            '<img alt="a > b" src="x" id="after-a-gt"><p title=\' id=in-a-value\'>')
    assert anchors_in(html) == {"trends", "methodology", "data-quality", "after-a-gt"}


@dataclass(frozen=True)
class Shown:  # the two fields of ReportContext that with_contents_of replaces
    toc: tuple[TocEntry, ...]
    toc_columns: tuple[tuple[TocEntry, ...], ...]


def test_entries_without_their_section_are_dropped_and_the_columns_follow():
    entries = tuple(TocEntry(anchor, anchor.title(), 1) for anchor in ("summary", "okrs", "trends", "methodology"))
    context = Shown(entries, toc_columns(entries))
    kept = with_contents_of(context, frozenset({"summary", "trends", "elsewhere"}))
    assert [e.anchor for e in kept.toc] == ["summary", "trends"]
    assert [[e.anchor for e in column] for column in kept.toc_columns] == [["summary"], ["trends"]]
    assert [[e.anchor for e in column] for column in toc_columns(entries)] == [["summary", "okrs"],
                                                                            ["trends", "methodology"]]
