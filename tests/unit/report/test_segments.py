"""Segment reports rendered in worker processes are the same as rendered one by one.

The regional report (one report per region) is built as PDF with
render_workers 1 (in this process) and 2 (a process pool; the HTML is built in
this process, the PDFs are laid out by the workers); every file and the
manifest's figures must be identical, byte for byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.app import runner
from pipeline.config import load_project
from pipeline.report import segments as parallel_render
from support.project import NOW, make_project

PERIOD = "2026-10"


def configure(root: Path, workers: int) -> None:
    """render_workers for the project; the regional report as PDF only."""
    for name, key, value in (("pulse.yaml", "project", {"render_workers": workers}),
                             ("reports.yaml", "reports", {"regional": {"formats": ["pdf"]}})):
        path = root / "config" / name
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for inner, settings in value.items():
            if isinstance(settings, dict):
                data[key][inner].update(settings)
            else:
                data[key][inner] = settings
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_exports) -> dict[int, Path]:
    """The regional report's folder, built with 1 and with 2 workers."""
    first = make_project(tmp_path_factory.mktemp("parallel") / "one", demo_exports)
    configure(first, 1)
    runner.run_report(first, "regional", PERIOD, now=NOW)
    second = Path(shutil.copytree(first, first.parent / "two", symlinks=True))
    shutil.rmtree(second / "reports")
    shutil.rmtree(second / ".pulse" / runner.RENDER_CACHE)  # lay out every PDF again, in the workers
    configure(second, 2)
    pools = []
    original = parallel_render._in_workers
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parallel_render, "_in_workers", lambda *args: pools.append(args[3]) or original(*args))
        runner.run_report(second, "regional", PERIOD, now=NOW)
    assert pools == [2], "the segments were not rendered by two worker processes"
    return {1: first / "reports" / "regional" / PERIOD, 2: second / "reports" / "regional" / PERIOD}


def test_two_workers_write_the_same_files_as_one(built):
    one, two = ({p.name: p.read_bytes() for p in sorted(built[n].glob("*.pdf"))} for n in (1, 2))
    assert len(one) == 6  # the company-wide report and five regions
    assert one == two


def test_two_workers_give_the_same_figures(built):
    one, two = (json.loads((built[n] / "manifest.json").read_text()) for n in (1, 2))
    assert one["segments"] == two["segments"] and one["kpis"] == two["kpis"]
    assert "segments" in two["timings_seconds"]


def test_worker_count_is_capped_by_segments_and_configurable(tmp_path, demo_exports):
    config = load_project(make_project(tmp_path / "project", demo_exports))
    assert parallel_render.worker_count(config, 1) == 1
    assert parallel_render.worker_count(config, 50, workers=3) == 3
    assert parallel_render.worker_count(config, 2, workers=8) == 2
