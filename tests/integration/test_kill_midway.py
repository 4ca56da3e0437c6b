"""A run killed midway (SIGKILL, after some output files were written) leaves the
previous report intact and no temporary file in the outputs folder; the next run
clears the leftovers and publishes normally."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from pipeline.app import runner
from support.project import NOW, REPO, make_project

KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime
    from pathlib import Path
    from pipeline.outputs import publish as outputs
    from pipeline.app import runner

    written = []
    original = outputs.write_file

    def write_then_die(target, content):
        original(target, content)
        written.append(target)
        if len(written) == 2:  # the HTML and the PDF are on disk (in staging): die now
            os.kill(os.getpid(), signal.SIGKILL)

    outputs.write_file = write_then_die
    runner.run_report(Path(sys.argv[1]), None, "2026-10", now=datetime.fromisoformat(sys.argv[2]))
    """
)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_killed_run_keeps_the_previous_report(tmp_path, demo_exports):
    project = make_project(tmp_path / "project", demo_exports)
    runner.run_report(project, None, "2026-10", now=NOW)
    reports = project / "reports"
    before = _snapshot(reports)
    # new data, so the killed run would have produced different files
    (project / "data" / "sales" / "sales_2026-10.csv").write_text(
        (project / "data" / "sales" / "sales_2026-10.csv").read_text().replace(",completed", ",returned", 5)
    )
    result = subprocess.run(
        [sys.executable, "-c", KILLER, str(project), NOW.isoformat()],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert _snapshot(reports) == before  # byte for byte, nothing added or removed
    leftovers = list((project / ".pulse" / "staging").rglob("*"))
    assert leftovers, "the killed run should have left its staged files behind (outside reports/)"
    assert not [p for p in reports.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]

    again = runner.run_report(project, None, "2026-10", now=NOW)
    assert not (project / ".pulse" / "staging").exists() or not any((project / ".pulse" / "staging").iterdir())
    after = _snapshot(reports)
    assert after["monthly/2026-10/monthly.html"] != before["monthly/2026-10/monthly.html"]
    assert sorted(p.name for p in again.files) == ["manifest.json", "monthly.html", "monthly.pdf"]
