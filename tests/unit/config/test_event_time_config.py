"""sources.<name>.event_time: declared, or the only date/timestamp column; never a guess among several."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_project
from pipeline.core.errors import ConfigError
from support.messy import make

TWO_TIMES = {
    "id": {"type": "integer"},
    "ordered_at": {"type": "timestamp"},
    "expected_delivery": {"type": "date", "required": False},  # a forecast: never the event time
}


def _error(root: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_project(root)
    return info.value


def test_the_only_date_column_is_the_event_time(tmp_path: Path) -> None:
    config = load_project(make(tmp_path, {}))
    assert config.sources["items"].event_column == "day"


def test_several_date_columns_and_none_declared_is_an_error_naming_file_line_and_candidates(tmp_path: Path) -> None:
    root = make(tmp_path, {}, columns=TWO_TIMES)
    error = _error(root)
    line = next(n for n, text in enumerate((root / "config" / "sources.yaml").read_text().splitlines(), 1)
                if text.strip() == "items:")
    assert f"config/sources.yaml:{line}: sources.items: 2 date/timestamp columns" in error.message
    assert "ordered_at, expected_delivery" in error.message
    assert "event_time: ordered_at" in (error.hint or "")


def test_declared_event_time_is_used(tmp_path: Path) -> None:
    root = make(tmp_path, {}, columns=TWO_TIMES, source={"event_time": "ordered_at"})
    assert load_project(root).sources["items"].event_column == "ordered_at"


@pytest.mark.parametrize("declared, expected", [
    ("ordered", "'ordered' is not among the columns"),
    ("id", "column 'id' is integer, not a date or timestamp"),
])
def test_event_time_must_name_a_date_or_timestamp_column(tmp_path: Path, declared: str, expected: str) -> None:
    root = make(tmp_path, {}, columns=TWO_TIMES, source={"event_time": declared})
    error = _error(root)
    assert "config/sources.yaml:" in error.message and "sources.items.event_time" in error.message
    assert expected in error.message


def test_a_check_column_of_its_own_is_refused_for_the_event_time(tmp_path: Path) -> None:
    """freshness/volume measure the event time: a second key that could disagree with it is an error."""
    root = make(tmp_path, {}, source={"checks": {"freshness": {"column": "day"}}})
    error = _error(root)
    assert "sources.items.checks.freshness" in error.message
    assert "event_time" in error.message
