"""Shared fixtures: demo exports generated once per session, and a fresh demo project per test.

Helpers (make_project, run_pulse, pulse, NOW) live in `support.project`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.demo.generate import generate
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
