"""`pulse query` on a warm project (pipeline.app.query, `WarmProject`): the same answer as the workspace's.

When nothing changed since a command found the sources up to date, `pulse
query` answers from the saved facts (settings, each KPI's query file and
parameters, the sources' checks) and the cached check results, without
importing the config models. Each test compares it with the full path (the
workspace: config validated, ingest asked) or changes one input and sees the
new answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.app import query as query_module
from pipeline.app import warm, workspace
from support.project import make_project, pulse_modules, run_pulse

NOW = "--now=2026-11-25T09:00:00+00:00"
ASKS = {
    "kpi as a table": ["revenue", "--period", "2026-10"],
    "kpi as csv": ["revenue", "--period", "2026-10", "-f", "csv"],
    "kpi with a parameter": ["sla_met_rate", "--period", "2026-09", "-f", "json"],
    "quarter": ["orders", "--grain", "quarter", "--period", "2026-Q3", "-f", "csv"],
    "every period": ["complaints", "--all-periods", "--period", "2026-10", "-f", "csv"],
    "sql text": ["SELECT region, count(*) AS n FROM sales GROUP BY ALL ORDER BY region", "-f", "csv"],
    "sql file": ["queries/support/csat.sql", "--period", "2026-08", "-f", "csv"],
    "query name": ["sales/order_lines", "--period", "2026-10", "-f", "csv"],
    "report parameters": ["SELECT $report_start AS s, $report_end AS e", "--period", "2026-02", "-f", "csv"],
    "explain": ["EXPLAIN SELECT 1", "-f", "csv"],
    "sql error": ["SELECT nothing FROM sales"],
    "a write refused": ["DELETE FROM sales"],
    "file outside the project": ["SELECT * FROM read_csv('/etc/passwd')"],
    "unknown parameter": ["SELECT $nope"],
}


@pytest.fixture(scope="module")
def warm_project(tmp_path_factory, demo_exports) -> Path:
    return make_project(tmp_path_factory.mktemp("warm") / "project", demo_exports)


def _full(args: list[str], root: Path, monkeypatch, capsys) -> tuple[int, str, str]:
    """The workspace's answer (the warm facts not consulted)."""
    with monkeypatch.context() as patched:
        patched.setattr(query_module, "_warm_answer", lambda *_args: None)
        return run_pulse(["query", *args, NOW], root, patched, capsys)


def _refuse(*_args, **_kwargs):
    raise AssertionError("the workspace was opened although the project is warm")


def _warm_only(args: list[str], root: Path, monkeypatch, capsys) -> tuple[int, str, str]:
    """The warm answer: opening the workspace fails the test."""
    with monkeypatch.context() as patched:
        patched.setattr(workspace, "open_workspace", _refuse)
        return run_pulse(["query", *args, NOW], root, patched, capsys)


@pytest.mark.parametrize("name", list(ASKS))
def test_the_warm_answer_is_the_workspace_answer(warm_project, monkeypatch, capsys, name):
    args = ASKS[name]
    _full(args, warm_project, monkeypatch, capsys)  # loads, caches this period's checks (a write)
    expected = _full(args, warm_project, monkeypatch, capsys)  # finds nothing to do: saves the warm state
    assert warm.load_facts(warm_project) is not None
    assert _warm_only(args, warm_project, monkeypatch, capsys) == expected
    code, out, err = expected
    if "error" in name or "refused" in name or "outside" in name or "unknown" in name:
        assert code == 2 and err.startswith("error: ") and not out
    else:
        assert code == 0 and out, err


def test_the_warm_answer_carries_the_failed_checks(warm_project, monkeypatch, capsys):
    """A failed `fail` check of a source the query reads is printed as a warning above it, warm too
    (read from the check results the workspace cached for that period and day)."""
    args = ["revenue", "--period", "2026-11", "-f", "csv"]  # November has no data: coverage fails
    _full(args, warm_project, monkeypatch, capsys)
    code, out, err = _full(args, warm_project, monkeypatch, capsys)
    assert code == 0 and "warning: sales: coverage" in err, err
    assert _warm_only(args, warm_project, monkeypatch, capsys) == (code, out, err)


def test_checks_not_cached_for_the_day_are_run(warm_project, monkeypatch, capsys):
    """The check results are cached per day: on another day the warm facts cannot answer the warnings, so
    the workspace runs the checks (and says the same as it would have)."""
    args = ["revenue", "--period", "2026-11", "-f", "csv"]
    _full(args, warm_project, monkeypatch, capsys)
    _full(args, warm_project, monkeypatch, capsys)
    other_day = [*args, "--now=2026-12-03T09:00:00+00:00"]
    with monkeypatch.context() as patched:
        opened: list[Path] = []
        real = workspace.open_workspace
        patched.setattr(workspace, "open_workspace", lambda root, *a, **k: opened.append(root) or real(root, *a, **k))
        code, _out, err = run_pulse(["query", *other_day], warm_project, patched, capsys)
    assert code == 0 and opened and "warning: sales: coverage" in err


def test_an_unknown_name_is_answered_by_the_workspace(warm_project, monkeypatch, capsys):
    _full(["SELECT 1", "-f", "csv"], warm_project, monkeypatch, capsys)
    _full(["SELECT 1", "-f", "csv"], warm_project, monkeypatch, capsys)
    code, out, err = run_pulse(["query", "revenu", NOW], warm_project, monkeypatch, capsys)
    assert code == 2 and not out
    assert "'revenu' is neither a KPI, a query under queries/, nor SQL text" in err and "revenue" in err


def test_a_changed_parameter_is_used(project, monkeypatch, capsys):
    """The facts are the config's: a KPI's changed parameter gives the new figure (never the saved one)."""
    args = ["sla_met_rate", "--period", "2026-10", "-f", "csv"]
    _full(args, project, monkeypatch, capsys)
    code, before, err = _full(args, project, monkeypatch, capsys)
    assert code == 0, err
    assert _warm_only(args, project, monkeypatch, capsys)[1] == before
    kpis_yaml = project / "config" / "kpis.yaml"
    text = kpis_yaml.read_text(encoding="utf-8")
    assert "sla_hours: 24" in text
    kpis_yaml.write_text(text.replace("sla_hours: 24", "sla_hours: 1"), encoding="utf-8")
    code, after, err = run_pulse(["query", *args, NOW], project, monkeypatch, capsys)
    assert code == 0, err
    assert after != before
    assert after == _full(args, project, monkeypatch, capsys)[1]


def test_another_working_folder_is_not_warm(project, monkeypatch, capsys):
    """The facts are looked for in the default working folder only; another `workdir` takes the full path."""
    pulse_yaml = project / "config" / "pulse.yaml"
    text = pulse_yaml.read_text(encoding="utf-8")
    assert "  workdir: .pulse" in text
    pulse_yaml.write_text(text.replace("  workdir: .pulse", "  workdir: state", 1), encoding="utf-8")
    args = ["SELECT count(*) AS n FROM tickets", "-f", "csv"]
    _full(args, project, monkeypatch, capsys)
    code, out, err = _full(args, project, monkeypatch, capsys)
    assert code == 0, err
    assert (project / "state" / warm.FILE_NAME).is_file() and warm.load_facts(project) is None
    assert run_pulse(["query", *args, NOW], project, monkeypatch, capsys) == (code, out, err)


def test_a_warm_query_imports_no_config_models(warm_project, monkeypatch, capsys):
    """What makes it quick: neither pydantic (the config models), YAML, nor the ingest modules are imported."""
    args = ["SELECT count(*) AS n FROM sales", "-f", "csv", NOW]
    _full(args[:-1], warm_project, monkeypatch, capsys)
    expected = _full(args[:-1], warm_project, monkeypatch, capsys)
    answer, modules = pulse_modules(["query", *args], warm_project)
    assert answer == expected[1]
    assert not {name.split(".")[0] for name in modules} & {"pydantic", "yaml", "polars", "matplotlib", "weasyprint"}
    assert not modules & {"pipeline.config", "pipeline.sources.ingest", "pipeline.app.workspace"}


def test_a_missing_kpi_query_file_is_the_config_error_it_always_is(warm_project, tmp_path, monkeypatch, capsys):
    """Query files are outside config/ (not in the warm key): a KPI whose file is gone is the config's
    error, as on the full path, for any query."""
    args = ["SELECT 1 AS one", "-f", "csv"]
    _full(args, warm_project, monkeypatch, capsys)
    _full(args, warm_project, monkeypatch, capsys)
    query = warm_project / "queries" / "support" / "csat.sql"
    kept = tmp_path / "csat.sql"
    query.rename(kept)
    try:
        code, out, err = run_pulse(["query", *args, NOW], warm_project, monkeypatch, capsys)
        assert code == 2 and not out
        assert err.startswith("error: config/kpis.yaml:") and "query file queries/support/csat.sql not found" in err
    finally:
        kept.rename(query)
