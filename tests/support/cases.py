"""Case tables kept as data: tests/cases/<name>.yaml, each case a pytest parameter with a readable id."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

CASES = Path(__file__).resolve().parents[1] / "cases"


def load_cases(name: str, table: str) -> list:
    """The cases of `table` in tests/cases/`name`.yaml as pytest params (id: the case's own fields)."""
    data = yaml.safe_load((CASES / f"{name}.yaml").read_text(encoding="utf-8"))
    return [pytest.param(case, id=_case_id(case)) for case in data[table]]


def _case_id(case: dict) -> str:
    shown = {k: v for k, v in case.items() if k not in ("why",)}
    return ",".join(f"{k}={v}" for k, v in shown.items())[:90]
