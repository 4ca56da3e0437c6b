"""`pulse okrs` (table and JSON), `pulse validate` (every problem at once, SMART
lint, exit codes) and the OKR part of the PDF, through the real entry point."""

from __future__ import annotations

import json

import pytest
import yaml
from pypdf import PdfReader

from pipeline.app import runner, workspace
from support.project import NOW, make_project, run_pulse


def pulse(project, *args, monkeypatch, capsys):
    """Run `pulse --project P ARGS` in-process; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("COLUMNS", "200")
    return run_pulse(["--project", str(project), *args], project, monkeypatch, capsys)


@pytest.fixture(scope="module")
def project(tmp_path_factory, demo_exports):
    return make_project(tmp_path_factory.mktemp("okr_cli") / "project", demo_exports)


@pytest.fixture(scope="module")
def scored(project):
    ws = workspace.open_workspace(project)
    calendar = workspace.calendar_for(ws.config, ws.config.reports["monthly"].grain)
    period = calendar.parse("2026-10", NOW.date())
    result = workspace.okr_results(ws, calendar, period)
    ws.close()
    return result


def test_okrs_json_has_the_tree_with_raw_scores(project, scored, monkeypatch, capsys):
    code, out, err = pulse(project, "okrs", "--period", "2026-10", "--format", "json", monkeypatch=monkeypatch,
                           capsys=capsys)
    assert code == 0, err
    data = json.loads(out)
    assert (data["cycle"], data["period"], data["final"]) == ("2026-Q4", "2026-10", False)
    assert data["expected"] == pytest.approx(31 / 92)
    by_id = {o["id"]: o for o in data["objectives"]}
    assert set(by_id) == {"grow_sales", "customer_satisfaction", "loyal_customers"}
    for objective in scored.objectives:
        assert by_id[objective.objective_id]["score"] == pytest.approx(objective.score)
        assert by_id[objective.objective_id]["status"] == objective.status.value
        krs = {k["id"]: k for k in by_id[objective.objective_id]["key_results"]}
        for kr in objective.key_results:
            assert krs[kr.kr_id]["score"] == pytest.approx(kr.score)
            assert krs[kr.kr_id]["status"] == kr.status.value
    satisfaction = {k["id"]: k for k in by_id["customer_satisfaction"]["key_results"]}
    assert satisfaction["csat_up"]["kpi"] == "csat" and satisfaction["csat_up"]["confidence"] == "6"
    assert {k["type"] for o in data["objectives"] for k in o["key_results"]} == {
        "increase_to", "decrease_to", "stay_above", "stay_below", "milestone"}


def test_okrs_table_shows_objectives_krs_and_statuses(project, scored, monkeypatch, capsys):
    code, out, err = pulse(project, "okrs", "--period", "2026-10", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert "2026-Q4" in out and "expected progress 0.34" in out
    for objective in scored.objectives:
        assert f"{objective.score:.2f}" in out
    for title in ("Improve customer satisfaction", "Lift CSAT to 4.3", "Cut monthly complaints to 8"):
        assert title in out
    assert "On track" in out and "Off track" in out
    for header in ("Baseline", "Current", "Target", "Score", "Expected", "Status", "Confidence"):
        assert header in out


def test_okrs_for_an_unknown_cycle(project, monkeypatch, capsys):
    code, _, err = pulse(project, "okrs", "--period", "2026-10", "--cycle", "2026-Q5", monkeypatch=monkeypatch,
                         capsys=capsys)
    assert code == 2
    assert err.startswith("error: no OKR cycle named '2026-Q5'") and "did you mean '2026-Q4'" in err


def test_pdf_text_has_objective_scores_and_statuses(project, scored):
    result = runner.run_report(project, None, "2026-10", now=NOW)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(result.folder / "monthly.pdf").pages).split())
    labels = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track", "achieved": "Achieved"}
    for objective in scored.objectives:
        assert f"Score {objective.score:.2f}" in text
        assert f"{labels[objective.status.value]} Score {objective.score:.2f}" in text


def _edit(project, name, change):
    path = project / "config" / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def test_validate_demo_has_no_errors(tmp_path, demo_exports, monkeypatch, capsys):
    project = make_project(tmp_path / "p", demo_exports)
    code, out, err = pulse(project, "validate", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert "0 error(s)" in out
    assert all(line.startswith("warning:") for line in err.splitlines())


def test_validate_lists_every_problem_and_the_smart_lint(tmp_path, demo_exports, monkeypatch, capsys):
    project = make_project(tmp_path / "p", demo_exports)

    def okrs(data):
        objectives = data["cycles"]["2026-Q4"]["objectives"]
        csat = objectives["customer_satisfaction"]["key_results"]["csat_up"]
        del csat["description"]                      # not Specific
        csat["target"] = 4.95                        # far beyond any 3-month move: maybe not Achievable
        objectives["loyal_customers"]["key_results"]["tickets"] = {
            "title": "Fewer tickets", "description": "Deflect questions to the FAQ.",
            "kpi": "tickets_opened", "type": "decrease_to", "baseline": 200, "target": 150}
        data["cycles"]["stretch"] = {"objectives": {"o": {"title": "No dates", "key_results": {
            "m": {"title": "Something", "type": "milestone", "description": "x"}}}}}  # not Time-bound

    _edit(project, "okrs.yaml", okrs)
    _edit(project, "reports.yaml", lambda d: d["reports"]["monthly"]["kpis"].remove("tickets_opened"))
    code, out, err = pulse(project, "validate", monkeypatch=monkeypatch, capsys=capsys)
    lines = err.splitlines()
    assert code == 1
    assert any("csat_up" in line and "not Specific" in line for line in lines), err
    assert any("csat_up" in line and "maybe not Achievable" in line for line in lines), err
    assert any("tickets" in line and "not Relevant" in line and "tickets_opened" in line for line in lines), err
    assert any(line.startswith("error:") and "stretch" in line and "not Time-bound" in line for line in lines), err
    assert all(line.startswith(("error:", "warning:")) for line in lines)
    assert any(":" in line.split(" ")[1] for line in lines if "okrs.yaml" in line)  # file:line
    assert "1 error(s)" in out


def test_validate_reports_config_problems_of_several_files_at_once(tmp_path, demo_exports, monkeypatch, capsys):
    project = make_project(tmp_path / "p", demo_exports)
    kpis = project / "config" / "kpis.yaml"
    kpis.write_text(kpis.read_text().replace("    unit: currency\n", "    unti: currency\n", 1))
    reports = project / "config" / "reports.yaml"
    reports.write_text(reports.read_text().replace("      - orders\n", "      - order\n", 1))
    code, out, err = pulse(project, "validate", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1
    assert "kpis.yaml" in err and "unti" in err and "did you mean 'unit'" in err
    assert "Traceback" not in err
