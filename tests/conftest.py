"""Shared fixtures: demo exports generated once per session, and a fresh demo project per test.

Helpers (make_project, run_pulse, pulse, NOW) live in `support.project`; the headless
Chromium of the browser tests in `support.browser` (without one they skip, said in one line).
"""

from __future__ import annotations

import os
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


# The tests' Spark JVMs (local sessions, `pulse` processes on Spark, the Spark Connect server) run short jobs on
# tiny data: the quick JIT compiler alone and the serial collector spend far less CPU on them than the defaults.
# Test-only (the java launcher reads JDK_JAVA_OPTIONS and notes it on stderr); Pulse's own settings are untouched.
os.environ.setdefault("JDK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Spark modules first: `make test` hands out whole modules in this order (--dist loadfile
    --no-loadscope-reorder), so each module's Spark session and projects are made once, and the long Spark
    modules start at once while the other worker runs the rest beside them, instead of being left for the end."""
    items.sort(key=lambda item: not item.path.name.startswith("test_spark_"))  # stable: each part keeps its order


def pytest_terminal_summary(terminalreporter) -> None:
    """One line when browser tests were skipped for want of Chromium (pytest -q shows only a count)."""
    reasons = [str(report.longrepr[2]) for report in terminalreporter.stats.get("skipped", [])
               if isinstance(report.longrepr, tuple) and SKIPPED in str(report.longrepr[2])]
    if reasons:
        reason = reasons[0].removeprefix("Skipped: ")
        terminalreporter.write_line(f"{len(reasons)} browser test(s) skipped: {reason}", yellow=True)
