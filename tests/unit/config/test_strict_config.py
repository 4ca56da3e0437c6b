"""Config mistakes YAML or a lax model would accept silently are errors naming file and line.

Repeated keys (a KPI defined twice), thresholds that read the wrong way for the
KPI's direction, a cycle that ends before it starts, unquoted `off`/`on`; and
`check_project` lists every problem while using the valid rest of the config.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_project
from pipeline.config.kpis import KpisFile
from pipeline.config.project import check_project, collect_problems
from pipeline.config.validation import parse_doc, salvage
from pipeline.config.yaml_doc import load_yaml
from pipeline.core.errors import ConfigError
from pipeline.core.paths import display_path
from pipeline.okrs.checkins import load_checkins
from support.messy import make


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def messages(root: Path) -> list[str]:
    _config, problems = collect_problems(root)
    return [p.one_line() for p in problems]


def kpis_yaml(root: Path, text: str) -> None:
    write(root / "config" / "kpis.yaml", text)


# -- repeated keys -----------------------------------------------------------------------------
def test_a_key_repeated_in_one_mapping_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "config" / "kpis.yaml"
    doc = load_yaml(write(path, (
        "kpis:\n"                    # 1
        "  revenue:\n"               # 2
        "    title: Revenue\n"       # 3
        "    unit: currency\n"       # 4
        "  orders:\n"                # 5
        "    title: Orders\n"        # 6
        "    unit: count\n"          # 7
        "    unit: number\n"         # 8
        "  revenue:\n"               # 9
        "    title: Gross revenue\n"  # 10
    )))
    shown = display_path(path)
    assert [d.message.split(": ", 1)[0] for d in doc.duplicates] == [f"{shown}:8", f"{shown}:9"]
    assert "'kpis.orders.unit' is given twice in one mapping (first at line 7)" in doc.duplicates[0].message
    assert "'kpis.revenue' is given twice in one mapping (first at line 2)" in doc.duplicates[1].message
    assert doc.line_of("kpis.revenue") == 2  # errors about the key point at its first definition
    problems: list[ConfigError] = []
    assert parse_doc(doc, KpisFile, problems) is None  # never "the last one wins"
    assert [p.message for p in problems[:2]] == [d.message for d in doc.duplicates]


def test_keys_in_flow_mappings_and_list_items_are_checked_too(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path / "x.yaml", "items:\n  - {a: 1, b: 2, a: 3}\n  - a: 1\n    a: 2\n"))
    assert len(doc.duplicates) == 2
    assert "'items.0.a'" in doc.duplicates[0].message and ":2:" in doc.duplicates[0].message
    assert "'items.1.a'" in doc.duplicates[1].message and ":4:" in doc.duplicates[1].message and "line 3" in doc.duplicates[1].message


def test_the_same_key_in_different_mappings_is_fine(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path / "x.yaml", "a: {title: x}\nb: {title: y}\n"))
    assert doc.duplicates == ()


def test_a_kpi_defined_twice_stops_load_project(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id,day\n1,2026-10-01\n"})
    kpis_yaml(root, "kpis:\n  item_count:\n    title: Items\n    unit: count\n"
                    "  item_count:\n    title: Items again\n    unit: number\n")
    with pytest.raises(ConfigError) as info:
        load_project(root)
    assert "config/kpis.yaml:5: 'kpis.item_count' is given twice in one mapping (first at line 2)" \
        in info.value.message


def test_a_key_repeated_in_a_checkin_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "checkins.yaml", "checkins:\n  - kr: a\n    date: 2026-10-01\n    confidence: 3\n"
                                             "    confidence: 9\n")
    with pytest.raises(ConfigError) as info:
        load_checkins(path, {"a"})
    assert ":5: 'checkins.0.confidence' is given twice" in info.value.message


# -- keys and YAML 1.1 booleans ---------------------------------------------------------------
def test_keys_are_the_text_written(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path / "x.yaml", "segments:\n  NO: [a]\n  off: [b]\n  2026: [c]\n  'yes': [d]\n"))
    assert list(doc.data["segments"]) == ["NO", "off", "2026", "yes"]


def test_unquoted_severity_off_means_off(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id,day\n1,2026-10-01\n"})
    sources = root / "config" / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8") + "    checks:\n      freshness: {severity: off}\n"
                       "      primary_key: off\n", encoding="utf-8")
    assert "severity: off}" in sources.read_text(encoding="utf-8")  # unquoted: YAML reads false
    checks = load_project(root).sources["items"].checks
    assert checks.freshness.severity == "off" and checks.primary_key == "off"


def test_unquoted_on_for_a_word_says_what_yaml_did(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id,day\n1,2026-10-01\n"})
    sources = root / "config" / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8") + "    checks:\n      volume: {severity: yes}\n",
                       encoding="utf-8")
    line = len(sources.read_text(encoding="utf-8").splitlines())
    [message] = messages(root)
    assert f"config/sources.yaml:{line}: sources.items.checks.volume.severity: YAML reads the unquoted word " \
           f"'yes' as true: Input should be 'warn', 'fail' or 'off'" in message
    assert "(hint: quote it ('yes') to mean the word)" in message


# -- thresholds and the direction --------------------------------------------------------------
@pytest.mark.parametrize("direction, good, warn, expected", [
    ("", 0.03, 0.045, "good (0.03) is below warn (0.045), which reads as 'lower is better', but the direction is "
                      "up (the default), so every value from 0.03 up would show green"),
    ("up", 0.03, 0.045, "direction is up"),
    ("down", 0.9, 0.8, "good (0.9) is above warn (0.8), which reads as 'higher is better', but the direction is "
                       "down, so every value up to 0.9 would show green"),
    ("neutral", 1, 2, "thresholds have no effect with direction: neutral"),
])
def test_thresholds_that_read_the_wrong_way_are_errors(tmp_path: Path, direction: str, good: float, warn: float,
                                                        expected: str) -> None:
    root = make(tmp_path, {"data/a.csv": "id,day\n1,2026-10-01\n"})
    line = f"    direction: {direction}\n" if direction else ""
    kpis_yaml(root, f"kpis:\n  item_count:\n    title: Items\n    unit: count\n{line}"
                    f"    thresholds: {{good: {good}, warn: {warn}}}\n")
    [message] = messages(root)
    where = 6 if direction else 5
    assert f"config/kpis.yaml:{where}: kpis.item_count.thresholds: " in message
    assert expected in message
    assert "(hint: " in message and "README 'Configuration'" not in message


@pytest.mark.parametrize("direction, good, warn", [("", 0.5, 0.4), ("up", 4.2, 4.2), ("down", 0.03, 0.045)])
def test_thresholds_that_fit_the_direction_load(tmp_path: Path, direction: str, good: float, warn: float) -> None:
    root = make(tmp_path, {"data/a.csv": "id,day\n1,2026-10-01\n"})
    line = f"    direction: {direction}\n" if direction else ""
    kpis_yaml(root, f"kpis:\n  item_count:\n    title: Items\n    unit: count\n{line}"
                    f"    thresholds: {{good: {good}, warn: {warn}}}\n")
    assert load_project(root).kpis["item_count"].thresholds.good == good


# -- OKR cycles ----------------------------------------------------------------------------------
OKRS = ("cycles:\n  autumn:\n{dates}    objectives:\n      o:\n        title: O\n        key_results:\n"
        "          m: {{title: M, type: milestone}}\n")


@pytest.mark.parametrize("dates, expected", [
    ("    start: 2026-12-31\n    end: 2026-10-01\n",
     "config/okrs.yaml:4: cycles.autumn.end: the cycle ends (2026-10-01) before it starts (2026-12-31)"),
    ("    start: 2026-10-01\n", "config/okrs.yaml:2: cycles.autumn: the cycle has start but no end"),
    ("    end: 2026-12-31\n", "config/okrs.yaml:2: cycles.autumn: the cycle has end but no start"),
])
def test_cycle_dates_that_cannot_be_meant_are_errors(tmp_path: Path, dates: str, expected: str) -> None:
    root = make(tmp_path, {"data/a.csv": "id,day\n1,2026-10-01\n"})
    write(root / "config" / "okrs.yaml", OKRS.format(dates=dates))
    [message] = messages(root)
    assert expected in message


def test_a_cycle_of_one_day_loads(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id,day\n1,2026-10-01\n"})
    write(root / "config" / "okrs.yaml", OKRS.format(dates="    start: 2026-10-01\n    end: 2026-10-01\n"))
    assert load_project(root).okrs.cycles["autumn"].end.isoformat() == "2026-10-01"


# -- every problem at once, and the valid rest -------------------------------------------------
def test_salvage_keeps_what_is_valid(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path / "kpis.yaml", (
        "kpis:\n"
        "  a: {title: A, unit: money}\n"        # invalid value: falls back to the default
        "  b: {unit: count}\n"                  # no title: left out
        "  c: {title: C, unti: count}\n"        # unknown key: dropped
        "  d: {title: D, target: lots}\n"       # a union's error: the key is dropped
    )))
    kept = salvage(doc, KpisFile)
    assert sorted(kept.kpis) == ["a", "c", "d"]
    assert kept.kpis["a"].unit.value == "number" and kept.kpis["d"].target is None
    assert salvage(load_yaml(write(tmp_path / "empty.yaml", "kpis: {b: {unit: count}}\n")), KpisFile) is None


def test_check_project_lists_problems_of_every_file_and_cross_checks_the_rest(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id,day\n1,2026-10-01\n"})
    kpis_yaml(root, "kpis:\n  item_count:\n    title: Items\n    unit: pieces\n"
                    "  broken:\n    unit: count\n")
    write(root / "config" / "reports.yaml", "reports:\n  monthly:\n    title: Items\n"
                                            "    kpis: [item_count, broken, item_cuont, item_count]\n")
    config, problems = check_project(root)
    lines = [p.message for p in problems]
    assert any("config/kpis.yaml:4: kpis.item_count.unit:" in m for m in lines), lines
    assert any("config/kpis.yaml:5:" in m and "missing key 'kpis.broken.title'" in m for m in lines), lines
    assert any("config/reports.yaml:4: reports.monthly.kpis: unknown KPI 'item_cuont'" in m for m in lines), lines
    assert any("KPI 'item_count' is listed twice" in m for m in lines), lines
    assert not any("unknown KPI 'broken'" in m for m in lines), "a KPI with errors still exists"
    assert len(lines) == 4, lines
    assert config is not None and list(config.kpis) == ["item_count"]  # the salvaged rest, for pulse validate
    assert collect_problems(root)[0] is None  # a run never gets a config with problems


def test_unquoted_yes_no_as_accepted_text_values_is_an_error(tmp_path: Path) -> None:
    root = make(tmp_path, {"data/a.csv": "id,day\n1,2026-10-01\n"}, columns={
        "id": {"type": "integer"}, "day": {"type": "date"}, "answer": {"type": "text", "required": False}})
    sources = root / "config" / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    assert "        type: text\n" in text
    sources.write_text(text.replace("        type: text\n", "        type: text\n        accepted: [yes, no, maybe]\n"),
                       encoding="utf-8")
    [message] = messages(root)
    assert "sources.items.columns.answer.accepted: [true, false, 'maybe'] holds true/false, but the column is text" \
        in message
    assert "quote the values" in message


def test_merge_keys_fill_in_what_a_mapping_does_not_set(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path / "x.yaml", (
        "kpis:\n"
        "  a: &rate {title: Rate, unit: percent, decimals: 1}\n"   # 2
        "  b:\n"                                                  # 3
        "    <<: *rate\n"                                         # 4
        "    title: Other rate\n"                                 # 5
        "  c:\n"                                                  # 6
        "    title: Third\n"                                      # 7
        "    <<: [*rate]\n"                                       # 8
    )))
    assert doc.data["kpis"]["b"] == {"title": "Other rate", "unit": "percent", "decimals": 1}
    assert doc.data["kpis"]["c"] == {"title": "Third", "unit": "percent", "decimals": 1}
    assert doc.duplicates == ()  # a key set beside '<<' overrides it; that is no repeat
    assert doc.line_of("kpis.b.title") == 5 and doc.line_of("kpis.b.unit") == 4 and doc.line_of("kpis.c.title") == 7


def test_a_tag_no_safe_constructor_knows_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_yaml(write(tmp_path / "x.yaml", "kpis:\n  a: !!python/name:os.system x\n"))
    assert ":2: invalid YAML" in info.value.message and "!!python" in (info.value.hint or "")
