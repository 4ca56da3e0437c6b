"""OKR check-ins: YAML and CSV files, latest entry per KR, validation, scoring.

Contract (pipeline/checkins.py docstring): the latest entry per KR dated before
the (exclusive) end of the report period is used, later ones are ignored;
confidence is 1-10 or low / medium / high; errors name the file and line; an
entry for an unknown KR is an error naming it with a did-you-mean.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.config.okrs import OkrsFile
from pipeline.core.errors import ConfigError
from pipeline.core.periods import Calendar, Grain
from pipeline.okrs.checkins import latest_by_kr, load_checkins
from pipeline.okrs.cycles import choose_cycle, evaluate
from pipeline.okrs.scoring import Status
from support.project import REPO

KNOWN = {"q4_revenue", "bigger_baskets", "loyalty_launch"}
OCT_END = date(2026, 11, 1)  # exclusive end of the report period 2026-10
NOV_END = date(2026, 12, 1)

YAML_TEXT = """\
checkins:
  - kr: loyalty_launch
    date: 2026-10-15
    share: 0.4
  - kr: loyalty_launch
    date: 2026-10-31
    share: 0.6
    confidence: High
    comment: Pilot started.
  - kr: loyalty_launch
    date: 2026-11-20
    done: true
    confidence: 9
  - kr: q4_revenue
    date: 2026-10-30
    confidence: 7
    comment: October on plan.
  - kr: bigger_baskets
    date: 2026-11-01
    confidence: medium
"""

CSV_TEXT = """\
kr,date,confidence,comment,done,share
loyalty_launch,2026-10-15,,Points engine built,,0.4
loyalty_launch,2026-10-31,high,"Pilot, 200 customers",,0.6
loyalty_launch,2026-11-20,9,Live,true,
q4_revenue,2026-10-30,7,October on plan,,
bigger_baskets,2026-11-01,medium,,,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(params=["yaml", "csv"])
def checkin_file(request, tmp_path: Path) -> Path:
    if request.param == "yaml":
        return write(tmp_path, "checkins.yaml", YAML_TEXT)
    return write(tmp_path, "checkins.csv", CSV_TEXT)


def test_reads_every_entry(checkin_file: Path):
    entries = load_checkins(checkin_file, KNOWN)
    assert [(e.kr_id, e.day) for e in entries] == [
        ("loyalty_launch", date(2026, 10, 15)),
        ("loyalty_launch", date(2026, 10, 31)),
        ("loyalty_launch", date(2026, 11, 20)),
        ("q4_revenue", date(2026, 10, 30)),
        ("bigger_baskets", date(2026, 11, 1)),
    ]
    first, second, third, revenue, baskets = entries
    assert (first.share, first.done, first.confidence) == (0.4, None, None)
    assert (second.share, second.confidence) == (0.6, "high")  # "High" / "high" -> "high"
    assert third.done is True and third.share is None and third.confidence == "9"
    assert revenue.confidence == "7"  # YAML int 7 and CSV "7" alike
    assert baskets.confidence == "medium"
    assert second.comment in {"Pilot started.", "Pilot, 200 customers"}


def test_latest_entry_per_kr_as_of_the_period_end(checkin_file: Path):
    entries = load_checkins(checkin_file, KNOWN)
    october = latest_by_kr(entries, OCT_END)
    # loyalty_launch: 10-15 and 10-31 are before 11-01; 10-31 is the latest; 11-20 is ignored
    assert october["loyalty_launch"].day == date(2026, 10, 31)
    assert october["loyalty_launch"].share == 0.6
    assert october["loyalty_launch"].done is None
    assert october["q4_revenue"].day == date(2026, 10, 30)
    # dated 2026-11-01 = the exclusive end of October: November's, not October's
    assert "bigger_baskets" not in october
    november = latest_by_kr(entries, NOV_END)
    assert november["loyalty_launch"].day == date(2026, 11, 20)
    assert november["loyalty_launch"].done is True
    assert november["bigger_baskets"].day == date(2026, 11, 1)
    mid_october = latest_by_kr(entries, date(2026, 10, 16))
    assert mid_october["loyalty_launch"].share == 0.4
    assert latest_by_kr(entries, date(2026, 10, 15)) == {}  # nothing dated before Oct 15


def test_latest_does_not_depend_on_file_order(tmp_path: Path):
    path = write(tmp_path, "c.yaml", """\
checkins:
  - kr: loyalty_launch
    date: 2026-10-31
    share: 0.6
  - kr: loyalty_launch
    date: 2026-10-15
    share: 0.4
""")
    latest = latest_by_kr(load_checkins(path, KNOWN), OCT_END)
    assert latest["loyalty_launch"].share == 0.6  # dated later, though listed first


@pytest.mark.parametrize("value", ["1", "10", "5", "low", "Medium", "HIGH"])
def test_confidence_accepted_in_csv(tmp_path: Path, value: str):
    path = write(tmp_path, "c.csv", f"kr,date,confidence\nq4_revenue,2026-10-30,{value}\n")
    (entry,) = load_checkins(path, KNOWN)
    assert entry.confidence == value.lower()


@pytest.mark.parametrize("value", ["1", "10", "low", "medium", "high"])
def test_confidence_accepted_in_yaml(tmp_path: Path, value: str):
    path = write(tmp_path, "c.yaml", f"checkins:\n  - kr: q4_revenue\n    date: 2026-10-30\n    confidence: {value}\n")
    (entry,) = load_checkins(path, KNOWN)
    assert entry.confidence == value


@pytest.mark.parametrize("value", ["11", "0", "meh", "7.5"])
def test_bad_confidence_in_yaml_names_file_and_line(tmp_path: Path, value: str):
    path = write(tmp_path, "checkins.yaml", f"""\
checkins:
  - kr: q4_revenue
    date: 2026-10-30
    confidence: 7
  - kr: q4_revenue
    date: 2026-10-31
    confidence: {value}
""")
    with pytest.raises(ConfigError) as caught:
        load_checkins(path, KNOWN)
    message = caught.value.message
    assert "checkins.yaml:5:" in message  # the second entry starts on line 5
    assert "confidence" in message
    assert "1-10" in message


@pytest.mark.parametrize("value", ["11", "meh"])
def test_bad_confidence_in_csv_names_file_and_line(tmp_path: Path, value: str):
    path = write(tmp_path, "checkins.csv", f"kr,date,confidence\nq4_revenue,2026-10-29,7\nq4_revenue,2026-10-30,{value}\n")
    with pytest.raises(ConfigError) as caught:
        load_checkins(path, KNOWN)
    message = caught.value.message
    assert "checkins.csv:3:" in message  # header is line 1, the bad row line 3
    assert "confidence" in message


def test_unknown_kr_in_yaml_suggests_the_closest(tmp_path: Path):
    path = write(tmp_path, "checkins.yaml", "checkins:\n  - kr: q4_revenu\n    date: 2026-10-30\n")
    with pytest.raises(ConfigError) as caught:
        load_checkins(path, KNOWN)
    assert "checkins.yaml:2:" in caught.value.message
    assert "'q4_revenu'" in caught.value.message
    assert caught.value.hint == "did you mean 'q4_revenue'?"


def test_unknown_kr_in_csv_suggests_the_closest(tmp_path: Path):
    path = write(tmp_path, "checkins.csv", "kr,date\nq4_revenue,2026-10-30\nloyalty_lunch,2026-10-31\n")
    with pytest.raises(ConfigError) as caught:
        load_checkins(path, KNOWN)
    assert "checkins.csv:3:" in caught.value.message
    assert "'loyalty_lunch'" in caught.value.message
    assert caught.value.hint == "did you mean 'loyalty_launch'?"


@pytest.mark.parametrize(
    ("row", "key"),
    [
        ("q4_revenue,30.10.2026,", "date"),
        ("q4_revenue,2026-10-30,1.5", "share"),  # share is 0..1
    ],
)
def test_other_bad_values_name_the_key(tmp_path: Path, row: str, key: str):
    path = write(tmp_path, "checkins.csv", f"kr,date,share\n{row}\n")
    with pytest.raises(ConfigError) as caught:
        load_checkins(path, KNOWN)
    assert "checkins.csv:2:" in caught.value.message
    assert key in caught.value.message


def test_missing_file_and_wrong_shape(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_checkins(tmp_path / "nope.yaml", KNOWN)
    path = write(tmp_path, "checkins.yaml", "checkins:\n  kr: q4_revenue\n")
    with pytest.raises(ConfigError, match="list"):
        load_checkins(path, KNOWN)


# ---------------------------------------------------------------------------
# Milestone share and done flow into scoring
# ---------------------------------------------------------------------------
OKRS = OkrsFile.model_validate({
    "cycles": {
        "2026-Q4": {
            "objectives": {
                "loyal": {
                    "title": "Loyal customers",
                    "key_results": {
                        "loyalty_launch": {"title": "Launch", "type": "milestone"},
                        "q4_revenue": {"title": "Revenue", "kpi": "revenue", "type": "increase_to",
                                       "aggregation": "sum", "target": 1000},
                        "bigger_baskets": {"title": "AOV", "kpi": "aov", "type": "increase_to",
                                           "baseline": 500, "target": 600},
                    },
                },
            },
        },
    },
})
SERIES = {
    "revenue": {date(2026, 10, 1): 300.0, date(2026, 11, 1): 200.0},
    "aov": {date(2026, 10, 1): 520.0, date(2026, 11, 1): 550.0},
}


def scored(path: Path, label: str):
    calendar = Calendar(Grain.MONTH)
    period = calendar.parse(label, date(2026, 12, 15))
    window = choose_cycle(OKRS, calendar, period)
    entries = load_checkins(path, KNOWN)
    result = evaluate(OKRS, window, period, SERIES, latest_by_kr(entries, period.end))
    (objective,) = result.objectives
    return objective, {k.kr_id: k for k in objective.key_results}


def test_milestone_share_then_done_flow_into_scores(checkin_file: Path):
    objective, krs = scored(checkin_file, "2026-10")
    launch = krs["loyalty_launch"]
    assert launch.checkin.day == date(2026, 10, 31)
    assert launch.score == pytest.approx(0.6)  # share 0.6 of the 10-31 entry, not done
    assert launch.status is Status.ON_TRACK  # gap = 31/92 - 0.6 < 0
    assert krs["q4_revenue"].checkin.confidence == "7"  # the check-in travels with the KR
    assert krs["bigger_baskets"].checkin is None  # its only entry is dated in November
    # revenue: 300 / 1000 = 0.3; aov: (520 - 500) / (600 - 500) = 0.2
    # objective: (0.6 + 0.3 + 0.2) / 3 = 1.1 / 3
    assert objective.score == pytest.approx(1.1 / 3)

    objective, krs = scored(checkin_file, "2026-11")
    launch = krs["loyalty_launch"]
    assert launch.checkin.day == date(2026, 11, 20)
    assert launch.score == 1.0  # done
    assert launch.attainment == 1.0
    assert launch.status is Status.ACHIEVED
    assert krs["bigger_baskets"].checkin.confidence == "medium"
    # revenue: (300 + 200) / 1000 = 0.5; aov: (550 - 500) / 100 = 0.5
    # objective: (1.0 + 0.5 + 0.5) / 3 = 2 / 3
    assert objective.score == pytest.approx(2 / 3)


def test_milestone_without_checkin_scores_zero(tmp_path: Path):
    path = write(tmp_path, "checkins.csv", "kr,date,confidence\nq4_revenue,2026-10-30,7\n")
    _, krs = scored(path, "2026-10")
    launch = krs["loyalty_launch"]
    assert launch.checkin is None
    assert launch.score == 0.0
    assert launch.status is Status.OFF_TRACK  # gap = 31/92 - 0 = 0.337 > 0.25


# ---------------------------------------------------------------------------
# Through the runner: one check-in file shared by every cycle
# ---------------------------------------------------------------------------
NEXT_CYCLE = """\
  2027-Q1:
    objectives:
      next_quarter:
        title: Keep growing
        key_results:
          q1_revenue:
            title: Book DKK 1.5 million revenue in Q1
            kpi: revenue
            type: increase_to
            aggregation: sum
            target: 1500000
"""


def _two_cycle_project(tmp_path: Path, extra_checkins: str = "") -> Path:
    """The repo's config with a second cycle (2027-Q1) after the demo's 2026-Q4."""
    import shutil

    repo = REPO
    root = tmp_path / "project"
    for name in ("config", "queries", "report_templates"):
        shutil.copytree(repo / name, root / name)
    okrs = root / "config" / "okrs.yaml"
    okrs.write_text(okrs.read_text(encoding="utf-8").rstrip("\n") + "\n" + NEXT_CYCLE, encoding="utf-8")
    checkins = root / "config" / "checkins.yaml"
    checkins.write_text(checkins.read_text(encoding="utf-8") + extra_checkins, encoding="utf-8")
    return root


def _okr_results_for(root: Path, label: str, series: dict):
    from pipeline.app import workspace
    from pipeline.config import load_project

    # every KPI the cycle needs is given, with the period before the cycle: no database needed
    ws = workspace.Workspace(config=load_project(root), sandbox=None, ingest=None, engine=None)
    calendar = Calendar(Grain.MONTH)
    return workspace.okr_results(ws, calendar, calendar.parse(label, date(2027, 2, 10)), series=series)


Q1_SERIES = {"revenue": {date(2026, 12, 1): 1_900_000.0, date(2027, 1, 1): 300_000.0}}


def test_checkins_of_an_earlier_cycle_do_not_break_the_next_cycle(tmp_path: Path):
    """config/checkins.yaml keeps the 2026-Q4 entries when 2027-Q1 is added.

    Those KRs are defined in config/okrs.yaml, so they are not unknown (and
    `pulse validate` accepts the file, checking against every cycle's KR ids);
    reporting on 2027-Q1 must work and score q1_revenue.
    """
    root = _two_cycle_project(tmp_path, "  - kr: q1_revenue\n    date: 2027-01-28\n    confidence: 8\n")
    result = _okr_results_for(root, "2027-01", Q1_SERIES)
    assert result.name == "2027-Q1"
    assert result.expected == pytest.approx(31 / 90)  # Q1 2027 = 31 + 28 + 31 = 90 days; January 31
    (objective,) = result.objectives
    (q1,) = objective.key_results
    assert q1.score == pytest.approx(0.2)  # 300,000 / 1,500,000 (sum, baseline 0)
    assert q1.checkin is not None and q1.checkin.confidence == "8"


def test_a_checkin_for_a_kr_of_no_cycle_is_still_an_error_through_the_runner(tmp_path: Path):
    root = _two_cycle_project(tmp_path, "  - kr: q1_revenu\n    date: 2027-01-28\n")
    with pytest.raises(ConfigError) as caught:
        _okr_results_for(root, "2027-01", Q1_SERIES)
    assert "'q1_revenu'" in caught.value.message
    assert caught.value.hint == "did you mean 'q1_revenue'?"
