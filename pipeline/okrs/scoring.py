"""OKR scoring: progress, score, pace and status. Pure: no I/O, no clock.

Progress p of a key result (KR), with `current` the KPI over the cycle up to
the report period (aggregation `latest` = the latest non-missing value, `sum`,
`avg` of the non-missing values):

- increase_to: (current - baseline) / (target - baseline)
- decrease_to: (baseline - current) / (baseline - target)
  (baseline == target, or a target already behind the baseline: 1 when
  current is on the target's good side, else 0 - never a ratio that grows
  as the value moves the wrong way)
- stay_above / stay_below: share of the cycle's completed periods whose value
  is >= / <= target; a period with no value does not count as met
- milestone: 1 when the latest check-in says done, else its share (0 without)

score = p clamped to 0..1; `attainment` keeps p unclamped. No current value
(no data yet) or no baseline (missing history) gives score 0 and p None.

expected = elapsed share of the cycle at the end of the report period (0..1);
for stay_above / stay_below it is 1: the value must hold in every period.

status:
- `not_started` when the report period ends before the cycle starts
- `achieved` when score >= 1 (for stay_* only once the cycle is over)
- otherwise by gap = expected - score: <= on_track -> `on_track`,
  <= at_risk -> `at_risk`, else `off_track`
An objective's score is the weight-averaged KR score (weights need not sum
to 1), its status follows the same rule with the cycle's expected progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from pipeline.config.okrs import Aggregation, KeyResultConfig, KrType, StatusThresholds
from pipeline.core.wording import PLAIN, NumberWords, fill


class Status(str, Enum):
    NOT_STARTED = "not_started"
    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"


STATUS_LABELS = {
    Status.NOT_STARTED: "Not started",
    Status.ACHIEVED: "Achieved",
    Status.ON_TRACK: "On track",
    Status.AT_RISK: "At risk",
    Status.OFF_TRACK: "Off track",
}


@dataclass(frozen=True)
class CheckIn:
    """One dated check-in on a KR."""

    kr_id: str
    day: date
    confidence: str | None = None  # "1".."10" or low / medium / high
    comment: str = ""
    done: bool | None = None
    share: float | None = None  # milestone share done, 0..1


@dataclass(frozen=True)
class CycleProgress:
    """Where the report period sits in a cycle."""

    start: date
    end: date  # exclusive
    as_of: date  # exclusive end of the report period
    completed: int  # cycle periods completed up to the report period

    @property
    def expected(self) -> float:
        return expected_progress(self.start, self.end, self.as_of)

    @property
    def started(self) -> bool:
        return self.as_of > self.start

    @property
    def over(self) -> bool:
        return self.as_of >= self.end


@dataclass(frozen=True)
class KrScore:
    kr_id: str
    config: KeyResultConfig
    baseline: float | None
    current: float | None
    attainment: float | None  # unclamped progress
    score: float
    expected: float
    status: Status
    checkin: CheckIn | None
    note: str = ""  # a wording: {baseline:value} is written by the reader (see pipeline.core.wording)

    def note_text(self, words: NumberWords = PLAIN) -> str:
        return fill(self.note, {"baseline": self.baseline}, words)


@dataclass(frozen=True)
class ObjectiveScore:
    objective_id: str
    score: float
    expected: float
    status: Status
    key_results: tuple[KrScore, ...]


def expected_progress(start: date, end: date, as_of: date) -> float:
    """Elapsed share of [start, end) at `as_of` (exclusive end of the report period)."""
    total = (end - start).days
    if total <= 0:
        return 1.0
    elapsed = (min(max(as_of, start), end) - start).days
    return elapsed / total


def aggregate(values: list[float | None], how: Aggregation) -> float | None:
    """The KR's current value from the cycle's period values, oldest first."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if how is Aggregation.LATEST:
        return present[-1]
    if how is Aggregation.SUM:
        return float(sum(present))
    return sum(present) / len(present)


def progress(kr: KeyResultConfig, baseline: float | None, current: float | None,
             values: list[float | None], checkin: CheckIn | None) -> float | None:
    """Unclamped progress p of a KR, or None when it cannot be known."""
    if kr.type is KrType.MILESTONE:
        if checkin is None:
            return 0.0
        if checkin.done:
            return 1.0
        return checkin.share if checkin.share is not None else 0.0
    target = kr.target
    assert target is not None  # the config model requires it
    if kr.type in (KrType.STAY_ABOVE, KrType.STAY_BELOW):
        if not values:
            return None
        above = kr.type is KrType.STAY_ABOVE
        met = sum(1 for v in values if v is not None and (v >= target if above else v <= target))
        return met / len(values)
    if current is None or baseline is None:
        return None
    increase = kr.type is KrType.INCREASE_TO
    if baseline == target or wrong_side(kr.type, baseline, target):
        # nothing to move (or the target already lies behind the baseline): met or not
        reached = current >= target if increase else current <= target
        return 1.0 if reached else 0.0
    if increase:
        return (current - baseline) / (target - baseline)
    return (baseline - current) / (baseline - target)


def wrong_side(kind: KrType, baseline: float, target: float) -> bool:
    """An increase_to whose target is below its baseline (or a decrease_to above it)."""
    return (kind is KrType.INCREASE_TO and target < baseline) or (kind is KrType.DECREASE_TO and target > baseline)


def status_for(score: float, expected: float, thresholds: StatusThresholds) -> Status:
    if score >= 1:
        return Status.ACHIEVED
    gap = expected - score
    if gap <= thresholds.on_track + 1e-12:
        return Status.ON_TRACK
    if gap <= thresholds.at_risk + 1e-12:
        return Status.AT_RISK
    return Status.OFF_TRACK


def score_key_result(
    kr_id: str,
    kr: KeyResultConfig,
    cycle: CycleProgress,
    values: list[float | None],
    baseline_before_cycle: float | None,
    checkin: CheckIn | None,
    thresholds: StatusThresholds,
) -> KrScore:
    """Score one KR from the KPI values of the cycle's completed periods."""
    if isinstance(kr.baseline, (int, float)):
        baseline: float | None = float(kr.baseline)
    elif kr.baseline == "auto":
        baseline = baseline_before_cycle
    else:
        baseline = 0.0 if kr.aggregation is Aggregation.SUM else baseline_before_cycle
    current = aggregate(values, kr.aggregation) if kr.type is not KrType.MILESTONE else None
    stay = kr.type in (KrType.STAY_ABOVE, KrType.STAY_BELOW)
    expected = 1.0 if stay else cycle.expected
    if not cycle.started:
        return KrScore(kr_id, kr, baseline, None, None, 0.0, 0.0, Status.NOT_STARTED, checkin,
                       "the cycle has not started")
    p = progress(kr, baseline, current, values, checkin)
    note = ""
    if baseline is not None and kr.target is not None and kr.type in (KrType.INCREASE_TO, KrType.DECREASE_TO) \
            and wrong_side(kr.type, baseline, kr.target):
        note = "the target lies behind the baseline ({baseline:value}); scored as met or not met"
    if p is None:
        note = "no baseline (no KPI value before the cycle)" if baseline is None and current is not None else "no data yet"
    score = 0.0 if p is None else min(1.0, max(0.0, p))
    status = status_for(score, expected, thresholds)
    if stay and status is Status.ACHIEVED and not cycle.over:
        status = Status.ON_TRACK
    return KrScore(kr_id, kr, baseline, current, p, score, expected, status, checkin, note)


def score_objective(objective_id: str, krs: list[KrScore], cycle: CycleProgress,
                    thresholds: StatusThresholds) -> ObjectiveScore:
    """Weight-averaged KR score; status by the same pace rule."""
    total_weight = sum(k.config.weight for k in krs)
    score = sum(k.score * k.config.weight for k in krs) / total_weight
    expected = cycle.expected
    if not cycle.started:
        status = Status.NOT_STARTED
    else:
        status = status_for(score, expected, thresholds)
        if status is Status.ACHIEVED and any(k.status is not Status.ACHIEVED for k in krs):
            status = Status.ON_TRACK  # e.g. a stay_above KR holding mid-cycle
    return ObjectiveScore(objective_id, score, expected, status, tuple(krs))
