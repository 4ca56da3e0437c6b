"""The figures a correction lists: every KPI figure and OKR result that differs, written as the report writes it."""

from __future__ import annotations

import json

from pipeline.config import load_project
from pipeline.delivery.corrections import CorrectionNotice, figure_changes
from pipeline.outputs.manifest import Manifest

GOLDEN_MANIFEST = "tests/golden/monthly-2026-10.manifest.json"


def golden(project, **kpi_changes) -> Manifest:
    from support.project import REPO

    data = json.loads((REPO / GOLDEN_MANIFEST).read_text(encoding="utf-8"))
    data["timings_seconds"] = {}
    data["versions"] = {}
    data["outputs"] = {}
    for kpi, fields in kpi_changes.items():
        data["kpis"][kpi].update(fields)
    return Manifest.model_validate(data)


def test_changed_kpi_figures_are_listed_old_to_new(project):
    config = load_project(project)
    sent = golden(project, return_rate={"value": 0.035, "previous": 0.031})
    now = golden(project, return_rate={"value": 0.073, "previous": 0.031})
    changes = figure_changes(sent, now, None, config)
    assert [c.line().replace("\u00a0", " ") for c in changes] == ["Return rate: 3,5 % → 7,3 %"]
    assert figure_changes(sent, sent, None, config) == ()
    tiny = golden(project, return_rate={"value": 0.03501, "previous": 0.031})
    assert [c.new.replace("\u00a0", " ") for c in figure_changes(sent, tiny, None, config)] == [
        "3,5 % (changed below the precision shown)"]
    previous = golden(project, return_rate={"value": 0.035, "previous": 0.029})
    assert [c.figure for c in figure_changes(sent, previous, None, config)] == ["Return rate, previous period"]


def test_the_notice_names_the_day_it_replaces():
    notice = CorrectionNotice("25 November 2026", ())
    assert notice.intro.startswith("This replaces the report sent on 25 November 2026.")
    assert CorrectionNotice("", ()).intro.startswith("This replaces the report sent earlier.")
