"""The warm start (pipeline.app.warm): an unchanged project skips ingest, and never gives a stale answer.

A command that finds nothing to load saves its ingest report under a key over
the config files, the export files' stats and the working database's; the next
command with the same key uses it without opening the database read-write.
Each test changes one input and sees the new figure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.app import warm
from pipeline.sources import ingest as ingest_module
from support.project import pulse_modules, run_pulse

COUNT_SQL = "SELECT count(*) AS n, sum(quantity) AS q FROM sales"
NEW_LINE = "SO-999001,1,2026-10-15T10:00:00Z,C-999001,Midtjylland,web,Espresso,Coffee,7,100.00,0.00,DKK,completed\n"


def _query(project: Path, monkeypatch, capsys, sql: str = COUNT_SQL) -> str:
    code, out, err = run_pulse(["query", "--period", "2026-10", "-f", "csv", sql], project, monkeypatch, capsys)
    assert code == 0, err
    return out


def _no_ingest(monkeypatch) -> None:
    """Make the read-write ingest path fail: a command that still answers took the warm start."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("ingest ran although nothing changed")
    monkeypatch.setattr(ingest_module, "ingest", refuse)


def _warmed(project: Path, monkeypatch, capsys) -> str:
    """Load the project, then run once more so the unchanged state is saved; the answer of both."""
    first = _query(project, monkeypatch, capsys)
    assert _query(project, monkeypatch, capsys) == first
    assert (project / ".pulse" / warm.FILE_NAME).is_file()
    return first


def test_an_unchanged_project_answers_without_ingest(project, monkeypatch, capsys):
    before = _warmed(project, monkeypatch, capsys)
    for _ in range(2):  # the first stores its results in the cache (a write: the next one saves the state)
        code, kpis, err = run_pulse(["kpis", "--period", "2026-10"], project, monkeypatch, capsys)
        assert code == 0, err
    with monkeypatch.context() as patched:
        _no_ingest(patched)
        assert _query(project, patched, capsys) == before
        code, out, err = run_pulse(["kpis", "--period", "2026-10"], project, patched, capsys)
        assert code == 0, err
        assert "Revenue" in out and out == kpis


def test_a_changed_export_is_loaded(project, monkeypatch, capsys):
    before = _warmed(project, monkeypatch, capsys)
    export = project / "data" / "sales" / "sales_2026-10.csv"
    stat = export.stat()
    with export.open("a", encoding="utf-8") as handle:
        handle.write(NEW_LINE)
    os.utime(export, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old modification time
    after = _query(project, monkeypatch, capsys)
    n_before, q_before = before.splitlines()[1].split(",")
    assert after.splitlines()[1].split(",") == [str(int(n_before) + 1), str(int(q_before) + 7)]


def test_a_new_and_a_removed_export_are_seen(project, monkeypatch, capsys):
    before = _warmed(project, monkeypatch, capsys)
    extra = project / "data" / "sales" / "sales_2026-10b.csv"
    header = (project / "data" / "sales" / "sales_2026-10.csv").read_text(encoding="utf-8").splitlines()[0]
    extra.write_text(header + "\n" + NEW_LINE, encoding="utf-8")
    with_extra = _query(project, monkeypatch, capsys)
    assert with_extra != before
    assert int(with_extra.splitlines()[1].split(",")[0]) == int(before.splitlines()[1].split(",")[0]) + 1
    assert _query(project, monkeypatch, capsys) == with_extra  # saved again for the new state
    extra.unlink()
    assert _query(project, monkeypatch, capsys) == before


def test_a_changed_config_file_skips_the_saved_state(project, monkeypatch, capsys):
    _warmed(project, monkeypatch, capsys)
    settings = project / "config" / "pulse.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with monkeypatch.context() as patched:
        _no_ingest(patched)
        code, _out, err = run_pulse(["query", "--period", "2026-10", COUNT_SQL], project, patched, capsys)
    assert code != 0 and "ingest ran although nothing changed" in err


def test_a_changed_query_gives_the_new_value(project, monkeypatch, capsys):
    _warmed(project, monkeypatch, capsys)
    code, first, err = run_pulse(["kpis", "--period", "2026-10"], project, monkeypatch, capsys)
    assert code == 0, err
    query = project / "queries" / "sales" / "order_lines.sql"
    query.write_text(query.read_text(encoding="utf-8").replace("sum(l.quantity * l.unit_price",
                                                               "1000 * sum(l.quantity * l.unit_price"),
                     encoding="utf-8")
    code, second, err = run_pulse(["kpis", "--period", "2026-10"], project, monkeypatch, capsys)
    assert code == 0, err
    revenue = [line for line in first.splitlines() if "Revenue" in line]
    assert revenue and revenue != [line for line in second.splitlines() if "Revenue" in line]


def test_a_replaced_database_is_rebuilt(project, monkeypatch, capsys):
    before = _warmed(project, monkeypatch, capsys)
    (project / ".pulse" / "pulse.duckdb").unlink()
    assert _query(project, monkeypatch, capsys) == before
    assert _query(project, monkeypatch, capsys) == before


def test_a_damaged_state_file_is_ignored(project, monkeypatch, capsys):
    before = _warmed(project, monkeypatch, capsys)
    (project / ".pulse" / warm.FILE_NAME).write_text("{not json", encoding="utf-8")
    assert _query(project, monkeypatch, capsys) == before


@pytest.mark.parametrize("command", [["okrs", "--period", "2026-10"], ["kpis", "--period", "2026-10"]])
def test_the_terminal_tables_do_not_draw_charts(project, monkeypatch, capsys, command):
    """`pulse okrs` and `pulse kpis` print tables: matplotlib (the charts' library) is never imported, and
    on a warm start neither are the loaders (the quarantine check reads its table without them) nor the
    report's context builder (the terminal takes its words from `report.words`)."""
    _warmed(project, monkeypatch, capsys)
    out, modules = pulse_modules(command, project)
    loaded = {name.split(".")[0] for name in modules}
    assert "Objective" in out or "Revenue" in out
    assert not loaded & {"matplotlib", "weasyprint", "jinja2"}
    loaders = {"pipeline.sources.ingest", "pipeline.sources.direct_load", "pipeline.sources.casting",
               "pipeline.sources.csv_reader"}
    assert not set(modules) & loaders  # nothing to load
    assert "pipeline.report.context" not in modules


def test_another_version_of_pulse_skips_the_saved_state(project, monkeypatch, capsys, tmp_path):
    """A saved state is Pulse's own: a changed module of the pipeline package (an upgrade) means ingest
    runs again (it also brings the working database's tables to that version)."""
    _warmed(project, monkeypatch, capsys)
    package = tmp_path / "package"
    package.mkdir()
    (package / "module.py").write_text("", encoding="utf-8")
    monkeypatch.setattr(warm, "PACKAGE", package)
    with monkeypatch.context() as patched:
        _no_ingest(patched)
        code, _out, err = run_pulse(["query", "--period", "2026-10", COUNT_SQL], project, patched, capsys)
    assert code != 0 and "ingest ran although nothing changed" in err
