"""Which sources a KPI reads, and the days on which all of them have data.

A KPI query's sources are the tables it names (see
`pipeline.core.result_cache.sources_read`); a query naming no source, or
anything else, depends on every source. A report reads the union of its
KPIs' sources: its gate checks those, its "data as of" and its coverage come
from those. A KPI's span is where every source it reads has events: `fill`
applies only to periods inside it (see `queries.shape_series`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from pipeline.core.periods import Period
from pipeline.core.result_cache import sources_read
from pipeline.sources.coverage import SourceRange

if TYPE_CHECKING:
    from pipeline.config import ProjectConfig


@dataclass(frozen=True)
class DataSpan:
    """The days [first, last] on which every source a KPI reads has data; both None: no common day."""

    first: date | None
    last: date | None

    def overlaps(self, period: Period) -> bool:
        return self.first is not None and self.last is not None and \
            period.start <= self.last and period.end > self.first


def query_sources(config: ProjectConfig, sql: str) -> list[str]:
    """The sources `sql` reads (every source when it names none or anything else)."""
    return sources_in(sql, list(config.sources))


def sources_in(sql: str, names: list[str]) -> list[str]:
    """Which of the sources `names` `sql` reads (all of them when it names none or anything else)."""
    return sources_read(sql, names) or names


def kpi_sources(config: ProjectConfig, kpi_id: str) -> list[str]:
    """The sources KPI `kpi_id`'s query reads."""
    return query_sources(config, config.query_path(kpi_id).read_text(encoding="utf-8"))


def sources_of(config: ProjectConfig, kpi_ids: Iterable[str]) -> list[str]:
    """Every source the KPIs read, in config order."""
    read = {s for k in dict.fromkeys(kpi_ids) for s in kpi_sources(config, k)}
    return [s for s in config.sources if s in read]


def first_event(sources: Iterable[str], ranges: Mapping[str, SourceRange]) -> date | None:
    """The earliest event of `sources` (their event-time column, as ingest recorded it)."""
    return min((ranges[s].first for s in sources if s in ranges and ranges[s].first is not None), default=None)


def data_span(sources: Iterable[str], ranges: Mapping[str, SourceRange]) -> DataSpan | None:
    """Where all of `sources` have events; None when none of them has an event time (nothing is known)."""
    known = [ranges[s] for s in sources if s in ranges and ranges[s].known]
    if not known:
        return None
    if any(r.first is None or r.last is None for r in known):
        return DataSpan(None, None)
    first = max(r.first for r in known if r.first is not None)
    last = min(r.last for r in known if r.last is not None)
    return DataSpan(first, last) if first <= last else DataSpan(None, None)
