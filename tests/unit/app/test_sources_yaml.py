"""config/sources.yaml as `pulse init --from` writes it: valid config, questions as CHOOSE, proposals marked.

The text is loaded back with Pulse's own config models, so what init writes
is what Pulse reads; the event-time column is written as the `event_time:` key.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from pipeline.app import sources_yaml
from pipeline.config import ColumnType
from pipeline.config.sources import SourcesFile
from pipeline.sources.inference import Inference, InferredColumn, InferredSource, Question


def source(**changes) -> InferredSource:
    base = dict(
        name="ordrer", patterns=("/exports/ordrer_*.csv",), files=(Path("/exports/ordrer_2026-10.csv"),), rows=4,
        columns=(InferredColumn("Ordre nr", ColumnType.INTEGER, True), InferredColumn("Leveret", ColumnType.DATE, True),
                 InferredColumn("Dato", ColumnType.DATE, True), InferredColumn("Beløb", ColumnType.NUMBER, False)),
        delimiter=";", decimal=",", decimal_note="values such as '12,5' show it", encodings=("cp1252",),
        date_format="%d.%m.%Y", primary_key=("Ordre nr",), event_time="Dato", event_note="proposed from its name",
        first_event=date(2026, 10, 1), last_event=date(2026, 10, 31),
    )
    return InferredSource(**{**base, **changes})


def written(*sources: InferredSource, root: Path = Path("/project")) -> tuple[str, dict]:
    text = sources_yaml.sources_yaml(Inference(tuple(sources), ()), root, "1 export file(s) on 2026-11-25")
    return text, yaml.safe_load(text)


def test_what_the_files_decide_is_written_as_config() -> None:
    text, data = written(source())
    SourcesFile.model_validate(data)  # Pulse reads it as written
    spec = data["sources"]["ordrer"]
    assert spec["paths"] == ["/exports/ordrer_*.csv"]  # nothing but / in common with /project: absolute
    assert spec["options"] == {"delimiter": ";", "decimal": ",", "date_format": "%d.%m.%Y"}
    assert spec["columns"]["Beløb"] == {"type": "number", "required": False}
    assert spec["primary_key"] == ["Ordre nr"]
    assert "# encoding: detected per file, found cp1252 (Windows-1252 / Latin-1)" in text
    assert "# 1 file(s), 4 rows, 2026-10-01 to 2026-10-31" in text
    assert "primary_key: [Ordre nr]   # CHECK: unique within every file" in text


def test_the_event_time_is_the_sources_key() -> None:
    text, data = written(source())
    assert "    event_time: Dato   # proposed from its name" in text
    # `Leveret` is the first date column, but the event time decides what the checks measure
    assert data["sources"]["ordrer"]["event_time"] == "Dato" and "checks" not in data["sources"]["ordrer"]
    assert SourcesFile.model_validate(data).sources["ordrer"].event_column == "Dato"


def test_an_open_question_is_written_as_choose_with_the_choices_above_it() -> None:
    question = Question("options.date_format", "Dato: every value reads both ways",
                        (("%d-%m-%Y", "day first"), ("%m-%d-%Y", "month first")))
    text, data = written(source(date_format=None, questions=(question,)))
    lines = text.splitlines()
    at = lines.index("      date_format: CHOOSE")
    assert lines[at - 3:at] == ["      # CHOOSE date_format: Dato: every value reads both ways; one of:",
                                "      #   date_format: '%d-%m-%Y'   # day first",
                                "      #   date_format: '%m-%d-%Y'   # month first"]
    with pytest.raises(Exception, match="replace CHOOSE with one of the values listed in the comment above it"):
        SourcesFile.model_validate(data)
    chosen = yaml.safe_load(text.replace("date_format: CHOOSE", "date_format: '%d-%m-%Y'"))
    SourcesFile.model_validate(chosen)


def test_paths_inside_the_project_are_relative_far_ones_absolute(tmp_path: Path) -> None:
    root = tmp_path / "project"
    assert sources_yaml.project_path(str(root / "data" / "x_*.csv"), root) == ("data/x_*.csv", False)
    assert sources_yaml.project_path(str(tmp_path / "exports" / "x_*.csv"), root) == ("../exports/x_*.csv", True)
    assert sources_yaml.project_path("/elsewhere/x_*.csv", root) == ("/elsewhere/x_*.csv", True)


def test_column_names_in_the_example_query() -> None:
    assert sources_yaml.sql_name("order_ts") == "order_ts"
    assert sources_yaml.sql_name("Dato") == '"Dato"' and sources_yaml.sql_name("order date") == '"order date"'
    assert sources_yaml.sql_name("date") == '"date"'  # a keyword
    kpi_id, title, query = sources_yaml.example_kpi(source())
    assert (kpi_id, title) == ("ordrer_rows", "Ordrer rows")
    assert 'JOIN ordrer t ON t."Dato" >= p.period_start AND t."Dato" < p.period_end' in query
