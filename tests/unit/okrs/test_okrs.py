"""OKR scoring against hand-computed values.

The contract is the module docstring of `pipeline.okrs.scoring` (progress per KR type,
score clamped to 0..1 with the unclamped `attainment`, expected progress as the
elapsed share of the cycle, status by the gap expected - score) plus
`pipeline.okrs.cycles` (which cycle is reported on, baseline `auto` = the period
before the cycle). Every expected number below is worked out by hand in the
comment next to it -- never by calling the code under test.

The running example is the cycle 2026-Q4: 2026-10-01 .. 2026-12-31, 92 days
(October 31 + November 30 + December 31).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.app import workspace
from pipeline.config import load_project
from pipeline.config.okrs import (
    Aggregation,
    CycleConfig,
    KeyResultConfig,
    OkrsFile,
    StatusThresholds,
    cycle_dates,
)
from pipeline.core.errors import ConfigError
from pipeline.core.periods import Calendar, Grain
from pipeline.okrs.cycles import choose_cycle, evaluate
from pipeline.okrs.scoring import (
    CheckIn,
    CycleProgress,
    Status,
    aggregate,
    expected_progress,
    score_key_result,
    score_objective,
    status_for,
)
from support.cases import load_cases
from support.project import NOW

Q4_START = date(2026, 10, 1)
Q4_END = date(2027, 1, 1)  # exclusive
OCT_END = date(2026, 11, 1)  # exclusive end of the report period 2026-10
NOV_END = date(2026, 12, 1)
DEFAULT = StatusThresholds()  # on_track 0.10, at_risk 0.25

OCTOBER = CycleProgress(Q4_START, Q4_END, OCT_END, 1)  # expected 31/92
NOVEMBER = CycleProgress(Q4_START, Q4_END, NOV_END, 2)  # expected 61/92
MID_DECEMBER = CycleProgress(Q4_START, Q4_END, date(2026, 12, 15), 2)
OVER = CycleProgress(Q4_START, Q4_END, Q4_END, 3)  # expected 1, cycle over
BEFORE = CycleProgress(Q4_START, Q4_END, date(2026, 10, 1), 0)  # report period September


def kr(kind: str, **fields) -> KeyResultConfig:
    """A KR config; non-milestones get a KPI name."""
    data = {"title": "KR", "type": kind, **fields}
    if kind != "milestone":
        data.setdefault("kpi", "kpi_x")
    return KeyResultConfig.model_validate(data)


def score(config: KeyResultConfig, values, baseline_before=None, checkin=None,
          cycle: CycleProgress = OCTOBER, thresholds: StatusThresholds = DEFAULT):
    return score_key_result("kr", config, cycle, list(values), baseline_before, checkin, thresholds)


def checkin(**fields) -> CheckIn:
    return CheckIn("kr", date(2026, 10, 20), **fields)


# ---------------------------------------------------------------------------
# 1. Every KR type
# ---------------------------------------------------------------------------
def test_increase_to_progress():
    s = score(kr("increase_to", baseline=100, target=200), [120, 150])
    assert s.baseline == 100
    assert s.current == 150  # latest
    assert s.attainment == pytest.approx(0.5)  # (150 - 100) / (200 - 100) = 50 / 100
    assert s.score == pytest.approx(0.5)


def test_increase_to_overshoot_is_clamped_but_attainment_kept():
    s = score(kr("increase_to", baseline=100, target=200), [240])
    assert s.attainment == pytest.approx(1.4)  # (240 - 100) / (200 - 100) = 140 / 100
    assert s.score == 1.0  # min(1, 1.4)
    assert s.status is Status.ACHIEVED  # score >= 1


def test_increase_to_regression_below_baseline():
    s = score(kr("increase_to", baseline=100, target=200), [80])
    assert s.attainment == pytest.approx(-0.2)  # (80 - 100) / (200 - 100) = -20 / 100
    assert s.score == 0.0  # max(0, -0.2)
    assert s.status is Status.OFF_TRACK  # gap = 31/92 - 0 = 0.337 > 0.25


def test_decrease_to_progress_overshoot_and_regression():
    config = kr("decrease_to", baseline=20, target=8)
    half = score(config, [14])
    assert half.attainment == pytest.approx(0.5)  # (20 - 14) / (20 - 8) = 6 / 12
    assert half.score == pytest.approx(0.5)
    over = score(config, [2])
    assert over.attainment == pytest.approx(1.5)  # (20 - 2) / 12 = 18 / 12
    assert over.score == 1.0
    worse = score(config, [26])
    assert worse.attainment == pytest.approx(-0.5)  # (20 - 26) / 12 = -6 / 12
    assert worse.score == 0.0


def test_stay_above_is_the_share_of_periods_at_or_above_target():
    s = score(kr("stay_above", target=0.8), [0.85, 0.79, 0.8], cycle=OVER)
    # 0.85 >= 0.8 met, 0.79 not, 0.8 >= 0.8 met (boundary counts) -> 2 / 3
    assert s.attainment == pytest.approx(2 / 3)
    assert s.score == pytest.approx(2 / 3)
    assert s.expected == 1.0  # stay_*: the value must hold in every period


def test_stay_below_is_the_share_of_periods_at_or_below_target():
    s = score(kr("stay_below", target=0.03), [0.02, 0.03, 0.031], cycle=OVER)
    # 0.02 <= 0.03 met, 0.03 <= 0.03 met, 0.031 not -> 2 / 3
    assert s.attainment == pytest.approx(2 / 3)
    assert s.score == pytest.approx(2 / 3)
    # gap = 1 - 2/3 = 0.333 > 0.25
    assert s.status is Status.OFF_TRACK


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (dict(done=True), 1.0),  # done -> 1
        (dict(done=True, share=0.2), 1.0),  # done wins over a stale share
        (dict(share=0.6), 0.6),  # its share
        (dict(done=False, share=0.3), 0.3),  # not done: its share
        (dict(done=False), 0.0),  # no share -> 0
        (None, 0.0),  # no check-in -> 0
    ],
)
def test_milestone(entry, expected):
    ci = None if entry is None else checkin(**entry)
    s = score(kr("milestone"), [], checkin=ci)
    assert s.attainment == pytest.approx(expected)
    assert s.score == pytest.approx(expected)
    assert s.checkin == ci
    assert s.expected == pytest.approx(31 / 92)  # milestones pace like the cycle


def test_milestone_status_by_pace():
    # share 0.3 in October: gap = 31/92 - 0.3 = 0.33696 - 0.3 = 0.037 -> on track
    assert score(kr("milestone"), [], checkin=checkin(share=0.3)).status is Status.ON_TRACK
    # no check-in: gap = 0.33696 - 0 > 0.25 -> off track
    assert score(kr("milestone"), [], checkin=None).status is Status.OFF_TRACK
    assert score(kr("milestone"), [], checkin=checkin(done=True)).status is Status.ACHIEVED


# ---------------------------------------------------------------------------
# 2. Aggregations
# ---------------------------------------------------------------------------
def test_aggregate_directly():
    assert aggregate([10.0, 30.0, None], Aggregation.LATEST) == 30.0  # latest non-missing
    assert aggregate([100.0, None, 300.0], Aggregation.SUM) == 400.0  # 100 + 300
    assert aggregate([2.0, None, 4.0], Aggregation.AVG) == 3.0  # (2 + 4) / 2, present only
    assert aggregate([None, None], Aggregation.LATEST) is None
    assert aggregate([], Aggregation.SUM) is None


def test_latest_takes_the_latest_non_missing_value():
    s = score(kr("increase_to", baseline=0, target=40), [10, 30, None], cycle=OVER)
    assert s.current == 30  # the last period is missing -> the one before
    assert s.attainment == pytest.approx(0.75)  # (30 - 0) / (40 - 0)


def test_sum_has_baseline_zero_by_default():
    s = score(kr("increase_to", target=1200, aggregation="sum"), [100, 200, 300], baseline_before=999, cycle=OVER)
    assert s.baseline == 0.0  # no baseline given + sum -> 0, not the period before (999)
    assert s.current == 600  # 100 + 200 + 300
    assert s.attainment == pytest.approx(0.5)  # (600 - 0) / (1200 - 0)


def test_sum_skips_missing_periods():
    s = score(kr("increase_to", target=1000, aggregation="sum"), [100, None, 300], cycle=OVER)
    assert s.current == 400  # 100 + 300
    assert s.attainment == pytest.approx(0.4)  # 400 / 1000


def test_avg_over_present_values_only():
    s = score(kr("increase_to", baseline=0.4, target=0.8, aggregation="avg"), [0.5, None, 0.7], cycle=OVER)
    assert s.current == pytest.approx(0.6)  # (0.5 + 0.7) / 2, the missing period is not a 0
    assert s.attainment == pytest.approx(0.5)  # (0.6 - 0.4) / (0.8 - 0.4) = 0.2 / 0.4


# ---------------------------------------------------------------------------
# 3. Expected progress
# ---------------------------------------------------------------------------
def test_quarter_label_gives_the_cycle_dates():
    cycle = CycleConfig.model_validate({"objectives": {"o": {"title": "O", "key_results": {"m": {"title": "M", "type": "milestone"}}}}})
    assert cycle_dates("2026-Q4", cycle) == (date(2026, 10, 1), date(2027, 1, 1))
    assert cycle_dates("2026-Q1", cycle) == (date(2026, 1, 1), date(2026, 4, 1))
    assert cycle_dates("2026", cycle) == (date(2026, 1, 1), date(2027, 1, 1))
    dated = cycle.model_copy(update={"start": date(2026, 10, 1), "end": date(2026, 12, 31)})
    assert cycle_dates("anything", dated) == (date(2026, 10, 1), date(2027, 1, 1))  # end inclusive -> +1 day
    assert cycle_dates("autumn", cycle) is None


def test_expected_progress_is_the_elapsed_share():
    assert expected_progress(Q4_START, Q4_END, OCT_END) == pytest.approx(31 / 92)  # October: 31 of 92 days
    assert expected_progress(Q4_START, Q4_END, NOV_END) == pytest.approx(61 / 92)  # + November's 30 = 61
    assert expected_progress(Q4_START, Q4_END, Q4_END) == 1.0  # 92 / 92
    assert expected_progress(Q4_START, Q4_END, date(2027, 3, 1)) == 1.0  # after the cycle: clamped
    assert expected_progress(Q4_START, Q4_END, date(2026, 9, 1)) == 0.0  # before: clamped
    assert OCTOBER.expected == pytest.approx(31 / 92)
    assert NOVEMBER.expected == pytest.approx(61 / 92)


def test_report_period_before_the_cycle_is_not_started():
    s = score(kr("increase_to", baseline=0, target=10), [], cycle=BEFORE)
    assert s.status is Status.NOT_STARTED
    assert s.score == 0.0
    assert s.attainment is None
    stay = score(kr("stay_above", target=0.8), [], cycle=BEFORE)
    assert stay.status is Status.NOT_STARTED and stay.score == 0.0
    milestone = score(kr("milestone"), [], checkin=checkin(done=True), cycle=BEFORE)
    assert milestone.status is Status.NOT_STARTED and milestone.score == 0.0


# ---------------------------------------------------------------------------
# 4. Status thresholds
# ---------------------------------------------------------------------------
def test_status_for_boundaries_with_default_thresholds():
    # 0.4 - 0.3 is 0.10000000000000003 in floating point: still exactly 0.10 -> on track
    assert status_for(0.3, 0.4, DEFAULT) is Status.ON_TRACK
    assert status_for(0.4, 0.5, DEFAULT) is Status.ON_TRACK  # gap 0.10
    assert status_for(0.3999, 0.5, DEFAULT) is Status.AT_RISK  # gap 0.1001, just above
    assert status_for(0.25, 0.5, DEFAULT) is Status.AT_RISK  # gap 0.25
    assert status_for(0.3, 0.55, DEFAULT) is Status.AT_RISK  # 0.55 - 0.3 = 0.25 (0.25000000000000006 in floats)
    assert status_for(0.2499, 0.5, DEFAULT) is Status.OFF_TRACK  # gap 0.2501, just above
    assert status_for(0.9, 0.5, DEFAULT) is Status.ON_TRACK  # ahead: gap -0.4
    assert status_for(1.0, 0.0, DEFAULT) is Status.ACHIEVED  # score >= 1
    assert status_for(1.0, 1.0, DEFAULT) is Status.ACHIEVED


def test_status_for_custom_thresholds():
    custom = StatusThresholds(on_track=0.05, at_risk=0.15)
    assert status_for(0.45, 0.5, custom) is Status.ON_TRACK  # gap 0.05
    assert status_for(0.449, 0.5, custom) is Status.AT_RISK  # gap 0.051
    assert status_for(0.4, 0.5, custom) is Status.AT_RISK  # gap 0.10: on track by default, at risk here
    assert status_for(0.35, 0.5, custom) is Status.AT_RISK  # gap 0.15
    assert status_for(0.349, 0.5, custom) is Status.OFF_TRACK  # gap 0.151
    assert status_for(0.3, 0.5, custom) is Status.OFF_TRACK  # gap 0.20: at risk by default


def test_threshold_order_is_validated():
    with pytest.raises(ValueError):
        StatusThresholds(on_track=0.3, at_risk=0.2)


def test_kr_status_in_october_by_gap():
    # expected = 31/92 = 310/920; baseline 0, target 920 -> score = current / 920
    config = kr("increase_to", baseline=0, target=920)
    assert score(config, [218]).status is Status.ON_TRACK  # gap = (310 - 218) / 920 = 92/920 = 0.10
    assert score(config, [217]).status is Status.AT_RISK  # gap = 93/920 = 0.1011
    assert score(config, [80]).status is Status.AT_RISK  # gap = 230/920 = 0.25
    assert score(config, [79]).status is Status.OFF_TRACK  # gap = 231/920 = 0.2511
    assert score(config, [920]).status is Status.ACHIEVED  # score 920/920 = 1
    custom = StatusThresholds(on_track=0.05, at_risk=0.15)
    assert score(config, [264], thresholds=custom).status is Status.ON_TRACK  # gap = 46/920 = 0.05
    assert score(config, [218], thresholds=custom).status is Status.AT_RISK  # gap 0.10 <= 0.15
    assert score(config, [172], thresholds=custom).status is Status.AT_RISK  # gap = 138/920 = 0.15
    assert score(config, [171], thresholds=custom).status is Status.OFF_TRACK  # gap = 139/920 = 0.1511


def test_stay_above_holding_mid_cycle_is_on_track_then_achieved():
    config = kr("stay_above", target=0.8)
    mid = score(config, [0.85, 0.9], cycle=NOVEMBER)
    assert mid.score == 1.0  # 2 of 2 periods met
    assert mid.expected == 1.0
    assert mid.status is Status.ON_TRACK  # not achieved before the cycle is over
    done = score(config, [0.85, 0.9, 0.81], cycle=OVER)
    assert done.score == 1.0  # 3 of 3
    assert done.status is Status.ACHIEVED
    below = score(kr("stay_below", target=0.03), [0.02], cycle=OCTOBER)
    assert below.score == 1.0 and below.status is Status.ON_TRACK


def test_stay_above_missing_a_month_mid_cycle_is_off_track():
    s = score(kr("stay_above", target=0.8), [0.85, 0.7], cycle=NOVEMBER)
    assert s.score == pytest.approx(0.5)  # 1 of 2 met
    assert s.status is Status.OFF_TRACK  # gap = 1 - 0.5 = 0.5 > 0.25


# ---------------------------------------------------------------------------
# 5. Edge cases
# ---------------------------------------------------------------------------
def test_no_data_yet_in_the_cycle():
    s = score(kr("increase_to", baseline=10, target=20), [None, None], cycle=NOVEMBER)
    assert s.current is None
    assert s.attainment is None
    assert s.score == 0.0
    assert "no data" in s.note
    assert s.status is Status.OFF_TRACK  # gap = 61/92 - 0 = 0.663


def test_no_kpi_values_at_all_for_a_stay_kr_counts_as_not_met():
    s = score(kr("stay_above", target=0.8), [None, None], cycle=NOVEMBER)
    assert s.score == 0.0  # 0 of 2 periods met: a period with no value does not count as met
    assert s.status is Status.OFF_TRACK


def test_baseline_auto_with_missing_history():
    s = score(kr("increase_to", baseline="auto", target=4.3), [4.1], baseline_before=None)
    assert s.baseline is None
    assert s.current == 4.1
    assert s.attainment is None
    assert s.score == 0.0
    assert "baseline" in s.note


def test_baseline_auto_of_zero_is_a_baseline_not_missing():
    s = score(kr("increase_to", baseline="auto", target=10), [5], baseline_before=0.0)
    assert s.baseline == 0.0
    assert s.attainment == pytest.approx(0.5)  # (5 - 0) / (10 - 0)


CYCLES = {"october": OCTOBER, "november": NOVEMBER, "over": OVER}


@pytest.mark.parametrize("case", load_cases("okr_progress", "cases"))
def test_progress_cases(case):
    """tests/cases/okr_progress.yaml: progress, score and status per KR type, worked out by hand."""
    fields = {k: case[k] for k in ("baseline", "target") if k in case}
    s = score(kr(case["type"], **fields), case["values"], cycle=CYCLES[case.get("cycle", "october")])
    assert s.attainment == pytest.approx(case["attainment"])
    assert s.score == pytest.approx(case["score"])
    if "status" in case:
        assert s.status is Status(case["status"])


def test_zero_value_counts_as_present_for_latest():
    s = score(kr("decrease_to", baseline=10, target=2), [4, 0], cycle=NOVEMBER)
    assert s.current == 0  # 0 is a value, not missing
    assert s.attainment == pytest.approx(1.25)  # (10 - 0) / (10 - 2) = 10 / 8


def test_missing_periods():
    stay = score(kr("stay_above", target=0.8), [0.9, None, 0.85], cycle=OVER)
    assert stay.score == pytest.approx(2 / 3)  # the missing period is not met: 2 of 3
    assert stay.status is Status.OFF_TRACK  # gap 1/3
    latest = score(kr("increase_to", baseline=0, target=20), [10, None], cycle=NOVEMBER)
    assert latest.current == 10  # skips the missing November
    assert latest.score == pytest.approx(0.5)  # 10 / 20
    avg = score(kr("increase_to", baseline=0, target=6, aggregation="avg"), [2, None, 4], cycle=OVER)
    assert avg.current == pytest.approx(3)  # (2 + 4) / 2
    assert avg.score == pytest.approx(0.5)  # 3 / 6


def _kr_score(kr_id: str, current: float, weight: float, cycle: CycleProgress = OCTOBER):
    config = kr("increase_to", baseline=0, target=10, weight=weight)
    return score_key_result(kr_id, config, cycle, [current], None, None, DEFAULT)


def test_objective_weights_need_not_sum_to_one():
    krs = [_kr_score("a", 9, 2), _kr_score("b", 3, 1)]  # scores 0.9 and 0.3
    objective = score_objective("o", krs, OCTOBER, DEFAULT)
    assert objective.score == pytest.approx(0.7)  # (2 * 0.9 + 1 * 0.3) / 3 = 2.1 / 3
    assert objective.expected == pytest.approx(31 / 92)
    assert objective.status is Status.ON_TRACK  # gap = 0.337 - 0.7 < 0
    assert [k.kr_id for k in objective.key_results] == ["a", "b"]
    small = [_kr_score("a", 10, 0.2), _kr_score("b", 5, 0.3)]  # scores 1.0 and 0.5, weights sum 0.5
    assert score_objective("o", small, OCTOBER, DEFAULT).score == pytest.approx(0.7)  # (0.2 + 0.15) / 0.5


def test_objective_status_follows_the_same_rule():
    # November: expected 61/92 = 0.66304
    at_risk = [_kr_score("a", 6, 1, NOVEMBER), _kr_score("b", 5, 1, NOVEMBER)]  # (0.6 + 0.5) / 2 = 0.55
    assert score_objective("o", at_risk, NOVEMBER, DEFAULT).status is Status.AT_RISK  # gap 0.113
    on_track = [_kr_score("a", 7, 1, NOVEMBER), _kr_score("b", 5, 1, NOVEMBER)]  # (0.7 + 0.5) / 2 = 0.6
    assert score_objective("o", on_track, NOVEMBER, DEFAULT).status is Status.ON_TRACK  # gap 0.063
    off_track = [_kr_score("a", 1, 3, NOVEMBER), _kr_score("b", 10, 1, NOVEMBER)]  # (3 * 0.1 + 1.0) / 4 = 0.325
    assert score_objective("o", off_track, NOVEMBER, DEFAULT).status is Status.OFF_TRACK  # gap 0.338
    custom = StatusThresholds(on_track=0.05, at_risk=0.15)
    assert score_objective("o", on_track, NOVEMBER, custom).status is Status.AT_RISK  # gap 0.063 > 0.05


def test_objective_achieved_and_not_started():
    done = [_kr_score("a", 10, 1), _kr_score("b", 12, 2)]  # scores 1.0 and 1.0 (clamped)
    assert score_objective("o", done, OCTOBER, DEFAULT).status is Status.ACHIEVED
    early = [_kr_score("a", 10, 1, BEFORE)]
    objective = score_objective("o", early, BEFORE, DEFAULT)
    assert objective.status is Status.NOT_STARTED
    assert objective.score == 0.0


def test_objective_with_a_holding_stay_kr_is_not_achieved_mid_cycle():
    stay = score_key_result("s", kr("stay_above", target=0.8), NOVEMBER, [0.9, 0.9], None, None, DEFAULT)
    up = _kr_score("a", 10, 1, NOVEMBER)
    objective = score_objective("o", [stay, up], NOVEMBER, DEFAULT)
    assert objective.score == 1.0  # (1 + 1) / 2
    assert objective.status is Status.ON_TRACK  # the stay KR is only on track until the cycle ends


def test_unknown_kpi_in_okrs_yaml_is_a_config_error(project: Path):
    path = project / "config" / "okrs.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("kpi: csat\n") == 1
    text = text.replace("kpi: csat\n", "kpi: csatt\n")
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("            kpi: csatt") + 1
    with pytest.raises(ConfigError) as caught:
        load_project(project)
    message = caught.value.message
    assert f"config/okrs.yaml:{line}" in message
    assert "cycles.2026-Q4.objectives.customer_satisfaction.key_results.csat_up.kpi" in message
    assert "'csatt'" in message
    assert caught.value.hint == "did you mean 'csat'?"


# ---------------------------------------------------------------------------
# 6. Through okr_eval.evaluate
# ---------------------------------------------------------------------------
MONTH = Calendar(Grain.MONTH)
TODAY = date(2026, 11, 25)


def okrs_file(cycles: dict, status: dict | None = None) -> OkrsFile:
    data: dict = {"cycles": cycles}
    if status is not None:
        data["status"] = status
    return OkrsFile.model_validate(data)


def objectives(**krs) -> dict:
    return {"objectives": {"obj": {"title": "Objective", "key_results": krs}}}


CSAT_KR = {"title": "CSAT", "kpi": "csat", "type": "increase_to", "baseline": "auto", "target": 4.4}
CSAT = {
    date(2026, 8, 1): 3.0,
    date(2026, 9, 1): 4.0,  # the baseline for Q4
    date(2026, 10, 1): 4.1,
    date(2026, 11, 1): 4.2,
    date(2026, 12, 1): 4.5,
    date(2027, 1, 1): 2.0,  # after the cycle: never used
}


def run(okrs: OkrsFile, label: str, series: dict, checkins: dict | None = None, name: str | None = None):
    period = MONTH.parse(label, TODAY)
    window = choose_cycle(okrs, MONTH, period, name)
    return evaluate(okrs, window, period, series, checkins or {})


def only_kr(result):
    (objective,) = result.objectives
    (kr_score,) = objective.key_results
    return objective, kr_score


def test_evaluate_baseline_auto_is_the_september_value():
    okrs = okrs_file({"2026-Q4": objectives(csat_up=CSAT_KR)})
    result = run(okrs, "2026-10", {"csat": CSAT})
    objective, s = only_kr(result)
    assert result.name == "2026-Q4"
    assert (result.start, result.end) == (date(2026, 10, 1), date(2027, 1, 1))
    assert s.baseline == 4.0  # September, not August (3.0)
    assert s.current == 4.1  # October
    assert s.attainment == pytest.approx(0.25)  # (4.1 - 4.0) / (4.4 - 4.0) = 0.1 / 0.4
    assert result.expected == pytest.approx(31 / 92)
    assert result.final is False
    assert s.status is Status.ON_TRACK  # gap = 0.33696 - 0.25 = 0.087
    assert objective.score == pytest.approx(0.25)


def test_evaluate_november_uses_the_latest_month_and_expected_61_of_92():
    okrs = okrs_file({"2026-Q4": objectives(csat_up=CSAT_KR)})
    result = run(okrs, "2026-11", {"csat": CSAT})
    _, s = only_kr(result)
    assert s.current == 4.2
    assert s.attainment == pytest.approx(0.5)  # (4.2 - 4.0) / 0.4
    assert result.expected == pytest.approx(61 / 92)
    assert s.status is Status.AT_RISK  # gap = 0.66304 - 0.5 = 0.163


def test_evaluate_period_after_the_cycle_is_the_final_grade():
    okrs = okrs_file({"2026-Q3": objectives(q3_kr={**CSAT_KR, "baseline": 3.0}), "2026-Q4": objectives(csat_up=CSAT_KR)})
    result = run(okrs, "2027-02", {"csat": CSAT})
    _, s = only_kr(result)
    assert result.name == "2026-Q4"  # the latest cycle that ended before February 2027
    assert result.final is True
    assert result.expected == 1.0
    assert s.current == 4.5  # December; January 2027 (2.0) is outside the cycle
    assert s.attainment == pytest.approx(1.25)  # (4.5 - 4.0) / 0.4
    assert s.score == 1.0
    assert s.status is Status.ACHIEVED


def test_evaluate_inside_picks_the_containing_cycle():
    okrs = okrs_file({"2026-Q3": objectives(q3_kr={**CSAT_KR, "baseline": 3.0}), "2026-Q4": objectives(csat_up=CSAT_KR)})
    result = run(okrs, "2026-11", {"csat": CSAT})
    assert result.name == "2026-Q4"
    result = run(okrs, "2026-08", {"csat": CSAT})
    assert result.name == "2026-Q3"
    _, s = only_kr(result)
    assert s.current == 3.0  # August
    # Q3 = Jul 1 .. Sep 30 = 31 + 31 + 30 = 92 days; August ends on day 62
    assert result.expected == pytest.approx(62 / 92)


def test_evaluate_between_cycles_prefers_the_one_that_ended():
    okrs = okrs_file({"2026-Q2": objectives(q2_kr={**CSAT_KR, "baseline": 3.0}), "2026-Q4": objectives(csat_up=CSAT_KR)})
    result = run(okrs, "2026-08", {"csat": CSAT})
    assert result.name == "2026-Q2"  # its final grade, not the upcoming Q4
    assert result.final is True
    assert result.expected == 1.0


def test_evaluate_before_every_cycle_shows_the_upcoming_one_not_started():
    okrs = okrs_file({"2026-Q4": objectives(csat_up=CSAT_KR), "2026-Q3": objectives(q3_kr={**CSAT_KR, "baseline": 3.0})})
    result = run(okrs, "2026-05", {"csat": CSAT})
    objective, s = only_kr(result)
    assert result.name == "2026-Q3"  # the next one to start, though listed second
    assert result.final is False
    assert result.expected == 0.0
    assert s.status is Status.NOT_STARTED
    assert s.score == 0.0
    assert objective.status is Status.NOT_STARTED
    assert objective.score == 0.0


def test_evaluate_named_cycle():
    okrs = okrs_file({"2026-Q3": objectives(q3_kr={**CSAT_KR, "baseline": 3.0}), "2026-Q4": objectives(csat_up=CSAT_KR)})
    result = run(okrs, "2026-11", {"csat": CSAT}, name="2026-Q3")
    assert result.name == "2026-Q3"
    assert result.final is True  # Q3 ended before November


def test_choose_cycle_unknown_name_suggests_the_closest():
    okrs = okrs_file({"2026-Q3": objectives(csat_up=CSAT_KR), "2026-Q4": objectives(csat_up=CSAT_KR)})
    with pytest.raises(ConfigError) as caught:
        choose_cycle(okrs, MONTH, MONTH.parse("2026-10", TODAY), name="2026Q4")
    assert "'2026Q4'" in caught.value.message
    assert "config/okrs.yaml" in caught.value.message
    assert caught.value.hint == "did you mean '2026-Q4'?"


def test_evaluate_missing_history_missing_months_and_missing_series():
    krs = {
        "csat_up": CSAT_KR,
        "answer_fast": {"title": "SLA", "kpi": "sla", "type": "stay_above", "target": 0.8},
        "tickets_total": {"title": "Tickets", "kpi": "tickets", "type": "increase_to", "target": 300, "aggregation": "sum"},
        "no_series": {"title": "Nothing", "kpi": "nothing", "type": "increase_to", "baseline": 0, "target": 1},
        "launch": {"title": "Launch", "type": "milestone", "weight": 2},
    }
    okrs = okrs_file({"2026-Q4": objectives(**krs)}, status={"on_track": 0.05, "at_risk": 0.15})
    series = {
        "csat": {date(2026, 10, 1): 4.1},  # no September value
        "sla": {date(2026, 9, 1): 0.1, date(2026, 10, 1): 0.85, date(2026, 11, 1): None},
        "tickets": {date(2026, 10, 1): 100.0, date(2026, 11, 1): 80.0},
    }
    checkins = {"launch": CheckIn("launch", date(2026, 11, 3), share=0.5)}
    result = run(okrs, "2026-11", series, checkins)
    (objective,) = result.objectives
    by_id = {k.kr_id: k for k in objective.key_results}
    assert list(by_id) == list(krs)
    csat = by_id["csat_up"]
    assert csat.baseline is None and csat.attainment is None and csat.score == 0.0
    sla = by_id["answer_fast"]
    assert sla.score == pytest.approx(0.5)  # October met, November missing -> 1 of 2
    tickets = by_id["tickets_total"]
    assert tickets.current == 180  # 100 + 80
    assert tickets.score == pytest.approx(0.6)  # 180 / 300
    nothing = by_id["no_series"]
    assert nothing.current is None and nothing.score == 0.0 and "no data" in nothing.note
    launch = by_id["launch"]
    assert launch.score == pytest.approx(0.5)
    # (0 + 0.5 + 0.6 + 0 + 2 * 0.5) / (1 + 1 + 1 + 1 + 2) = 2.1 / 6 = 0.35
    assert objective.score == pytest.approx(0.35)
    # custom thresholds from the file: tickets gap = 61/92 - 0.6 = 0.063 -> at risk (> 0.05)
    assert tickets.status is Status.AT_RISK
    # objective gap = 0.66304 - 0.35 = 0.313 > 0.15
    assert objective.status is Status.OFF_TRACK


# ---------------------------------------------------------------------------
# 8. End to end on the demo project
# ---------------------------------------------------------------------------
def test_demo_project_october(project: Path):
    ws = workspace.open_workspace(project)
    try:
        calendar = workspace.calendar_for(ws.config, Grain.MONTH)
        period = workspace.resolve_period(ws.config, Grain.MONTH, "2026-10", NOW)
        result = workspace.okr_results(ws, calendar, period)
        (revenue,) = workspace.kpi_results(ws, ["revenue"], calendar, period)
        (aov,) = workspace.kpi_results(ws, ["average_order_value"], calendar, period)
    finally:
        ws.close()
    assert result is not None
    assert result.name == "2026-Q4"
    assert result.expected == pytest.approx(31 / 92)  # October: 31 of 92 days
    assert result.final is False
    krs = {k.kr_id: k for o in result.objectives for k in o.key_results}

    assert revenue.value is not None and revenue.value > 0
    q4 = krs["q4_revenue"]
    assert q4.baseline == 0.0  # sum -> baseline 0
    assert q4.current == pytest.approx(revenue.value)  # only October so far
    assert q4.score == pytest.approx(min(1.0, revenue.value / 1_750_000))  # (October - 0) / (1,750,000 - 0)
    assert q4.expected == pytest.approx(31 / 92)
    assert q4.checkin is not None and q4.checkin.confidence == "7"

    baskets = krs["bigger_baskets"]
    assert baskets.baseline == pytest.approx(aov.previous)  # baseline auto: the September AOV
    assert baskets.current == pytest.approx(aov.value)
    assert baskets.attainment == pytest.approx((aov.value - aov.previous) / (700 - aov.previous))

    assert krs["returns_in_check"].expected == 1.0  # stay_below

    launch = krs["loyalty_launch"]
    assert launch.checkin is not None
    assert launch.checkin.day == date(2026, 10, 31)  # not the 2026-11-20 "done" entry
    assert launch.score == pytest.approx(0.6)
    assert launch.attainment == pytest.approx(0.6)
    assert launch.status is Status.ON_TRACK  # gap = 0.33696 - 0.6 < 0


# -- a target behind the baseline ------------------------------------------------
def test_increase_target_below_the_baseline_is_met_or_not_never_a_growing_ratio():
    from pipeline.config.okrs import KeyResultConfig, StatusThresholds
    from pipeline.okrs.scoring import CycleProgress, score_key_result

    cycle = CycleProgress(date(2026, 10, 1), date(2027, 1, 1), date(2026, 11, 1), 1)
    kr = KeyResultConfig(title="AOV", kpi="aov", type="increase_to", baseline=680, target=650)
    # the formula would give (585 - 680) / (650 - 680) = 3.17: the value fell, so not met
    fell = score_key_result("aov", kr, cycle, [585.0], None, None, StatusThresholds())
    assert (fell.attainment, fell.score) == (0.0, 0.0)
    assert "behind the baseline" in fell.note
    held = score_key_result("aov", kr, cycle, [660.0], None, None, StatusThresholds())
    assert (held.attainment, held.score, held.status.value) == (1.0, 1.0, "achieved")


def test_decrease_target_above_the_baseline_is_met_or_not():
    from pipeline.config.okrs import KeyResultConfig, StatusThresholds
    from pipeline.okrs.scoring import CycleProgress, score_key_result

    cycle = CycleProgress(date(2026, 10, 1), date(2027, 1, 1), date(2026, 11, 1), 1)
    kr = KeyResultConfig(title="complaints", kpi="c", type="decrease_to", baseline=10, target=12)
    assert score_key_result("c", kr, cycle, [14.0], None, None, StatusThresholds()).score == 0.0
    assert score_key_result("c", kr, cycle, [11.0], None, None, StatusThresholds()).score == 1.0
