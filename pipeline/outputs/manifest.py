"""manifest.json: what a run used and produced, written and read by one model, `Manifest`.

Input files and their hashes, the config hash, every KPI value (company-wide
and per segment), every OKR score, check results, restated figures, output
hashes, timings, versions, the executive summary each report file's email
carries, and how far each source the report reads covers the period (its
first and last event, and whether the period is covered, partial or to date). No secrets: only config hashes, never config values.

The run builds it (`build_manifest`), `publish` writes it beside the outputs
(`Manifest.to_bytes`), and later readers (`pulse send`, restatements of a
re-run, reports/index.html) read it back with `Manifest.read`: the same class
both ways, so a field cannot be written under one name and read under another.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.checks.coverage import PeriodCoverage
from pipeline.checks.source_checks import CheckResult
from pipeline.core.files import OutputFile
from pipeline.core.periods import Period
from pipeline.kpis.comparisons import KpiResult
from pipeline.kpis.restatements import Reported, Restatement
from pipeline.okrs.cycles import CycleResult
from pipeline.report.summary import EmailSummary
from pipeline.sources.ingest import IngestReport

MANIFEST = "manifest.json"
CheckNumber = int | float | bool | str | None | dict[str, int]


class _Record(BaseModel):
    # keys this version does not know are ignored, so a manifest written by a newer or older
    # Pulse still reads (fields added later must have defaults)
    model_config = ConfigDict(frozen=True, extra="ignore")


class PeriodRecord(_Record):
    label: str
    start: date
    end_exclusive: date


class InputRecord(_Record):
    source: str
    path: str
    sha256: str
    rows: int
    rejected: int
    skipped_header_lines: int
    skipped_blank_lines: int


class KpiValue(_Record):
    value: float | None
    previous: float | None
    last_year: float | None
    target: float | None
    health: str
    sample: int | None = None  # observations behind the value (the query's sample_size), when it returns one
    low_sample: bool = False  # fewer than the KPI's min_sample


class KeyResultRecord(_Record):
    baseline: float | None
    current: float | None
    attainment: float | None
    score: float
    expected: float
    status: str


class ObjectiveRecord(_Record):
    score: float
    status: str
    key_results: dict[str, KeyResultRecord]


class OkrRecord(_Record):
    cycle: str
    expected: float
    final: bool
    objectives: dict[str, ObjectiveRecord]


class RestatedRecord(_Record):
    kpi: str
    old: float | None  # the value first reported for this period
    new: float | None
    reported_at: str = ""  # when the old value was reported (built_at of that build)


class SegmentRecord(_Record):
    kpis: dict[str, KpiValue]
    company_wide_only: list[str]
    files: list[str]
    restated: list[RestatedRecord] = []


class CheckRecord(_Record):
    scope: str
    check: str
    severity: str
    passed: bool
    message: str
    numbers: dict[str, CheckNumber]


class CoverageRecord(_Record):
    """A source the report reads: its event-time column, first and last event, and how it covers the period."""

    source: str
    event_time: str
    first_event: date | None
    last_event: date | None
    status: str  # covered | partial | to_date | outside


class SummaryRecord(_Record):
    company: EmailSummary
    segments: dict[str, EmailSummary]


class ManifestError(ValueError):
    """A manifest.json that cannot be read as this version's manifest."""


class Manifest(_Record):
    """Everything a run recorded about one report and period."""

    report: str
    period: PeriodRecord
    built_at: str  # ISO 8601 with offset, to the second
    data_as_of: date | None
    inputs: list[InputRecord]
    config_sha256: str
    kpis: dict[str, KpiValue]
    okrs: OkrRecord | None
    segments: dict[str, SegmentRecord]
    skipped_segments: dict[str, str] = {}  # segments without activity not built (inactive_segments: skip) -> why
    checks: list[CheckRecord]
    restated: list[RestatedRecord]
    outputs: dict[str, str]  # file name -> sha256
    timings_seconds: dict[str, float]
    versions: dict[str, str]
    summary: SummaryRecord
    coverage: list[CoverageRecord] = []  # the sources the report reads (those with an event time)

    @property
    def partial(self) -> bool:
        """Does a source the report reads cover only part of the period?"""
        return any(c.status in ("partial", "to_date") for c in self.coverage)

    def to_bytes(self) -> bytes:
        """The manifest as written to disk: indented JSON, keys sorted, one trailing newline."""
        return (json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Read `path`; ManifestError (with the reason) when it is missing, not JSON or not a manifest."""
        try:
            return cls.model_validate_json(path.read_bytes())
        except OSError as exc:
            raise ManifestError(f"cannot read it: {exc.strerror or exc}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the file"
            raise ManifestError(f"not a manifest of this Pulse version ({where}: {first['msg']})") from None

    def values_of(self, segment: str | None = None) -> dict[str, float | None]:
        """Each KPI's value as this run reported it, company-wide or for one segment."""
        if segment is None:
            return {k: v.value for k, v in self.kpis.items()}
        found = self.segments.get(segment)
        return {} if found is None else {k: v.value for k, v in found.kpis.items()}

    def restated_of(self, segment: str | None = None) -> dict[str, Reported]:
        """The restatements on record (KPI id -> the value first reported), company-wide or for a segment."""
        if segment is None:
            records = self.restated
        else:
            found = self.segments.get(segment)
            records = [] if found is None else found.restated
        return {r.kpi: Reported(r.old, r.reported_at) for r in records}

    def summary_of(self, segment: str | None) -> EmailSummary | None:
        """The archived email summary of the company-wide report (None) or of a segment's."""
        return self.summary.company if segment is None else self.summary.segments.get(segment)


@dataclass(frozen=True)
class SegmentOutputs:
    """A segment's report as built: its KPI results, the KPIs shown company-wide, its files and summary."""

    results: Sequence[KpiResult]
    company_wide_only: frozenset[str]
    files: Sequence[OutputFile]
    summary: EmailSummary
    restatements: Sequence[Restatement] = ()


@dataclass(frozen=True)
class RunRecord:
    """The facts of one run that go into its manifest."""

    report: str
    period: Period
    built_at: datetime
    data_as_of: date | None
    ingest: IngestReport
    results: Sequence[KpiResult]
    okr: CycleResult | None
    checks: Sequence[CheckResult]
    restatements: Sequence[Restatement]
    timings: dict[str, float]
    summary: EmailSummary
    segments: dict[str, SegmentOutputs]
    coverage: Sequence[PeriodCoverage] = ()
    skipped_segments: dict[str, str] = field(default_factory=dict)  # segment -> why it has no report


def config_hash(root: Path) -> str:
    digest = hashlib.sha256()
    config_dir, queries = root / "config", root / "queries"
    for path in sorted(config_dir.rglob("*.yaml")) + sorted(queries.rglob("*.sql")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def kpi_values(results: Sequence[KpiResult]) -> dict[str, KpiValue]:
    return {r.kpi_id: KpiValue(value=r.value, previous=r.previous, last_year=r.last_year, target=r.target,
                               health=r.health.value, sample=r.sample, low_sample=r.low_sample) for r in results}


def okr_record(okr: CycleResult | None) -> OkrRecord | None:
    if okr is None:
        return None
    return OkrRecord(
        cycle=okr.name, expected=okr.expected, final=okr.final,
        objectives={
            o.objective_id: ObjectiveRecord(
                score=o.score, status=o.status.value,
                key_results={k.kr_id: KeyResultRecord(baseline=k.baseline, current=k.current,
                                                      attainment=k.attainment, score=k.score, expected=k.expected,
                                                      status=k.status.value) for k in o.key_results},
            )
            for o in okr.objectives
        },
    )


def _number(value: object) -> CheckNumber:
    """A check's number as JSON keeps it: dates as ISO text."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): int(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def check_record(check: CheckResult) -> CheckRecord:
    return CheckRecord(scope=check.scope, check=check.name, severity=check.severity, passed=check.passed,
                       message=check.message, numbers={k: _number(v) for k, v in check.numbers.items()})


def restated_records(found: Sequence[Restatement]) -> list[RestatedRecord]:
    return [RestatedRecord(kpi=r.kpi_id, old=r.old, new=r.new, reported_at=r.reported_at) for r in found]


def build_manifest(root: Path, record: RunRecord, files: Sequence[OutputFile]) -> Manifest:
    """The manifest of a run whose outputs (every report file, segments included) are `files`."""
    period = record.period
    return Manifest(
        report=record.report,
        period=PeriodRecord(label=period.label, start=period.start, end_exclusive=period.end),
        built_at=record.built_at.isoformat(timespec="seconds"),
        data_as_of=record.data_as_of,
        inputs=[InputRecord(source=f.source, path=f.path, sha256=f.sha256, rows=f.rows, rejected=f.rejected,
                            skipped_header_lines=f.skipped_headers, skipped_blank_lines=f.skipped_blank)
                for f in record.ingest.files],
        config_sha256=config_hash(root),
        kpis=kpi_values(record.results),
        okrs=okr_record(record.okr),
        segments={name: SegmentRecord(kpis=kpi_values(s.results), company_wide_only=sorted(s.company_wide_only),
                                      files=[f.name for f in s.files], restated=restated_records(s.restatements))
                  for name, s in record.segments.items()},
        skipped_segments=dict(record.skipped_segments),
        checks=[check_record(c) for c in record.checks],
        restated=restated_records(record.restatements),
        outputs={f.name: hashlib.sha256(f.content).hexdigest() for f in files},
        timings_seconds=record.timings,
        versions=versions(),
        summary=SummaryRecord(company=record.summary,
                              segments={name: s.summary for name, s in record.segments.items()}),
        coverage=[CoverageRecord(source=c.source, event_time=c.column or "", first_event=c.first, last_event=c.last,
                                 status=c.status) for c in record.coverage],
    )


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("pulse-reports", "duckdb", "polars", "jinja2", "weasyprint", "matplotlib", "babel"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "unknown"
    return found
