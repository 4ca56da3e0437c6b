"""Shared fixtures: demo exports generated once per session, and a fresh demo project per test.

Helpers (make_project, run_pulse, pulse, NOW) live in `support.project`; the headless
Chromium of the browser tests in `support.browser` (without one they skip, said in one line).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.demo.generate import generate
from support.browser import SKIPPED, open_browser
from support.project import DEMO_END, DEMO_START, make_project


@pytest.fixture(scope="session")
def demo_exports(tmp_path_factory) -> Path:
    """Demo export files 2024-09 .. 2026-10, generated once per test session."""
    folder = tmp_path_factory.mktemp("demo_exports")
    generate(folder, start=DEMO_START, end=DEMO_END)
    return folder


@pytest.fixture
def project(tmp_path, demo_exports) -> Path:
    """A fresh, writable copy of the demo project with generated exports."""
    return make_project(tmp_path / "project", demo_exports)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium for one test module (skips without one; see support.browser)."""
    yield from open_browser(tmp_path_factory)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Spark modules first, each kept on one xdist worker (`make test` runs --dist loadgroup): their
    session start and module-wide projects are paid once, and the rest of the suite fills the other worker
    around them instead of waiting for them at the end."""
    def spark_module(item: pytest.Item) -> str | None:
        name = item.path.name
        return name.removesuffix(".py") if name.startswith("test_spark_") else None

    for item in items:
        group = spark_module(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: spark_module(item) is None)  # stable: each part keeps its order


def pytest_terminal_summary(terminalreporter) -> None:
    """One line when browser tests were skipped for want of Chromium (pytest -q shows only a count)."""
    reasons = [str(report.longrepr[2]) for report in terminalreporter.stats.get("skipped", [])
               if isinstance(report.longrepr, tuple) and SKIPPED in str(report.longrepr[2])]
    if reasons:
        reason = reasons[0].removeprefix("Skipped: ")
        terminalreporter.write_line(f"{len(reasons)} browser test(s) skipped: {reason}", yellow=True)
