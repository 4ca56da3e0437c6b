"""A failed `fail` check stops `pulse run`; `pulse kpis`, `okrs` and `query` still answer, with the failed
checks of the sources they read printed as warnings on stderr (cached like the gate's checks)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.checks import source_checks
from support.project import make_project, run_pulse
from support.shop import make_shop

NOW = "--now=2026-11-25T09:00:00+00:00"
PK_WARNING = ("warning: orders: primary_key_unique: 1 primary-key values repeated within one file "
              "(e.g. in data/orders_2026-10.csv) ('pulse run' stops on this)")


@pytest.fixture
def repeated_key(tmp_path: Path) -> Path:
    """October's export lists one order twice (a different amount the second time)."""
    root = make_shop(tmp_path / "shop", tickets=(date(2026, 1, 1), date(2026, 10, 31)))
    path = root / "data" / "orders_2026-10.csv"
    path.write_text(path.read_text() + "20261015-1,2026-10-15 18:00:00,2026-11-29,99\n", encoding="utf-8")
    return root


def test_pulse_run_fails_on_a_repeated_key(repeated_key, monkeypatch, capsys) -> None:
    code, _out, err = run_pulse(["run", "sales", "--period", "2026-10", NOW], repeated_key, monkeypatch, capsys)
    assert code == 3  # the data-quality gate failed
    assert "orders: primary_key_unique: 1 primary-key values repeated within one file" in err


def test_pulse_kpis_prints_the_failed_check_above_its_table(repeated_key, monkeypatch, capsys) -> None:
    code, out, err = run_pulse(["kpis", "-r", "sales", "--period", "2026-10", NOW], repeated_key, monkeypatch, capsys)
    assert code == 0
    assert err.splitlines()[0] == PK_WARNING
    assert "Revenue" in out and "KPIs for 2026-10" in out


def test_pulse_query_prints_the_failed_checks_of_the_sources_it_reads(repeated_key, monkeypatch, capsys) -> None:
    code, out, err = run_pulse(["query", "revenue", "--period", "2026-10", "--format", "csv", NOW], repeated_key,
                               monkeypatch, capsys)
    assert code == 0 and PK_WARNING in err.splitlines()
    assert out.startswith("period,value\n")
    # a query over tickets only: the orders problem is not its business
    code, out, err = run_pulse(["query", "SELECT count(*) AS n FROM tickets", "--format", "csv", NOW], repeated_key,
                               monkeypatch, capsys)
    assert code == 0 and "orders" not in err and out == "n\n304\n"


def test_the_checks_come_from_the_cache_the_second_time(repeated_key, monkeypatch, capsys) -> None:
    calls: list[str] = []
    original = source_checks._source_checks

    def counting(con, name, *args):
        calls.append(name)
        return original(con, name, *args)

    monkeypatch.setattr(source_checks, "_source_checks", counting)
    args = ["kpis", "-r", "sales", "--period", "2026-10", NOW]
    assert run_pulse(args, repeated_key, monkeypatch, capsys)[0] == 0
    assert calls == ["orders"]
    code, _out, err = run_pulse(args, repeated_key, monkeypatch, capsys)
    assert code == 0 and PK_WARNING in err
    assert calls == ["orders"]  # not computed again


def test_pulse_okrs_warns_about_the_sources_of_its_key_results(tmp_path, demo_exports, monkeypatch,
                                                               capsys) -> None:
    root = make_project(tmp_path / "project", demo_exports)
    code, out, err = run_pulse(["okrs", "--period", "2026-12", NOW], root, monkeypatch, capsys)
    assert code == 0, err
    assert "warning: sales: coverage: 2026-12 (2026-12-01 … 2026-12-31) is after the last order_ts of sales" in err
    assert "warning: tickets: coverage:" in err
