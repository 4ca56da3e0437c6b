"""`pulse preview` in headless Chromium: the page loads, an edited KPI query shows up after the rebuild
(the page reloads itself), an SQL error is shown on the page; nothing is published or emailed.

`pulse preview` runs as a user runs it (`python -m pipeline preview`, its own
process, port 0) on a project fresh from `pulse init` (its example exports keep
the builds quick); the test reads the URL it prints and drives the browser
through the DevTools client of support.browser. Without Chromium the browser
test skips (see support.browser); the server itself is also checked without one.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.app.init import init_project
from support.browser import DevTools, DevToolsError, problems_in
from support.project import NOW as NOW_UTC

PERIOD = "2026-10"
NOW = "2026-11-25T09:00:00+00:00"
WAIT = 180.0  # seconds for a build (the first one ingests every export)
ORDERS_SQL = Path("queries") / "orders.sql"


class Preview:
    """A running `pulse preview` process and the URL it serves."""

    def __init__(self, project: Path) -> None:
        env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "preview", "--port", "0", "--period", PERIOD, "--now", NOW],
            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        )
        self.lines: list[str] = []
        first = self.read_line(60)
        found = re.search(r"http://127\.0\.0\.1:\d+/", first)
        assert found, first
        self.url = found.group(0)

    def read_line(self, timeout: float) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"pulse preview printed nothing for {timeout:.0f} s: {self.lines}"
        line = self.proc.stdout.readline()
        self.lines.append(line)
        return line

    def status(self) -> dict:
        with urllib.request.urlopen(self.url + "status", timeout=10) as response:
            return json.loads(response.read())

    def wait_for_build(self, after: int = 0) -> dict:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            status = self.status()
            if status["build"] > after and not status["building"]:
                return status
            time.sleep(0.3)
        raise AssertionError(f"no build after #{after} within {WAIT:.0f} s; output: {self.lines}")

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        return "".join(self.lines) + out


@pytest.fixture
def preview(tmp_path) -> Iterator[tuple[Path, Preview]]:
    project = tmp_path / "acme"
    init_project(project, company="Acme ApS", timezone="Europe/Copenhagen", now=NOW_UTC)
    running = Preview(project)
    try:
        yield project, running
    finally:
        if running.proc.poll() is None:
            running.stop()


# -- the browser ------------------------------------------------------------------------------
def open_page(browser: DevTools, url: str) -> str:
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session=session)
    navigated = browser.send("Page.navigate", {"url": url}, session)
    if "errorText" in navigated:
        raise DevToolsError(f"Chromium could not open {url}: {navigated['errorText']}")
    browser.wait_for("Page.loadEventFired", session)
    return session


def evaluate(browser: DevTools, session: str, expression: str):
    reply = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
    return reply["result"].get("value")


def wait_until(browser: DevTools, session: str, expression: str, what: str):
    """Poll `expression` in the page (which reloads itself after a build) until it is truthy."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            value = evaluate(browser, session, expression)
        except DevToolsError:  # the page is reloading
            value = None
        if value:
            return value
        browser.drain(0.5)
    raise AssertionError(f"the page never showed {what} within {WAIT:.0f} s")


ORDERS_CELL = "(document.querySelector('tr.kpi[data-kpi=orders] td.value') || {}).textContent"
ERROR_BOX = "(document.getElementById('pulse-preview-error') || {}).textContent"


def test_preview_rebuilds_on_a_query_change_and_shows_sql_errors(preview, browser) -> None:
    project, running = preview
    running.wait_for_build()
    session = open_page(browser, running.url)
    title = evaluate(browser, session, "document.title")
    assert "Acme ApS" in title and "October 2026" in title
    assert evaluate(browser, session, "document.querySelectorAll('tr.kpi').length") == 2
    assert "Pulse preview" in evaluate(browser, session, "document.getElementById('pulse-preview').textContent")
    before = evaluate(browser, session, ORDERS_CELL)
    orders = int(re.sub(r"\D", "", before))
    assert orders > 31  # at least two orders a day in the example exports

    sql = (project / ORDERS_SQL).read_text(encoding="utf-8")
    changed = sql.replace("count(*) AS value", "count(*) * 1000 + 7 AS value")
    assert changed != sql
    (project / ORDERS_SQL).write_text(changed, encoding="utf-8")
    shown = wait_until(browser, session, f"(({ORDERS_CELL}) || '').replace(/\\D/g, '') === '{orders * 1000 + 7}'",
                       "the changed orders value")
    assert shown is True

    (project / ORDERS_SQL).write_text(changed.replace("SELECT p.period_start", "SELEC p.period_start"),
                                      encoding="utf-8")
    error = wait_until(browser, session, ERROR_BOX, "the SQL error")
    assert "queries/orders.sql" in error and "syntax error" in error.lower(), error
    assert evaluate(browser, session, "document.querySelectorAll('tr.kpi').length") == 2  # the last good build
    allowed = tuple(f"request for a resource outside the page: {running.url}{name}" for name in ("status", "favicon.ico"))
    problems = [p for p in problems_in(browser.events, session, running.url) if not p.startswith(allowed)]
    assert problems == []

    output = running.stop()
    assert "built monthly 2026-10" in output and "queries/orders.sql" in output
    assert not (project / "reports").exists(), "a preview never publishes into reports/"
    assert (project / ".pulse" / "preview" / "monthly" / "monthly.html").is_file()
    assert not list((project / ".pulse" / "preview").rglob("*.pdf"))


def test_preview_server_without_a_browser(preview) -> None:
    """The server alone: the page and /status, an error page when the config breaks, loopback only."""
    project, running = preview
    status = running.wait_for_build()
    assert status["ok"] and status["report"] == "monthly 2026-10"
    with urllib.request.urlopen(running.url, timeout=10) as response:
        page = response.read().decode("utf-8")
    assert '<div id="pulse-preview"' in page and 'tr class="kpi' in page
    sql = (project / ORDERS_SQL).read_text(encoding="utf-8")  # a rebuild runs the queries in the sandbox
    leak = project / "reports" / "leak.csv"
    (project / ORDERS_SQL).write_text(f"COPY (SELECT 1) TO '{leak}';\n{sql}", encoding="utf-8")
    status = running.wait_for_build(status["build"])
    assert not status["ok"] and "queries/orders.sql" in status["error"] and "COPY statement" in status["error"]
    assert not leak.exists()
    (project / ORDERS_SQL).write_text(sql, encoding="utf-8")
    status = running.wait_for_build(status["build"])
    assert status["ok"], status
    config = project / "config" / "kpis.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("unit: currency", "unit: money", 1), encoding="utf-8")
    status = running.wait_for_build(status["build"])
    assert not status["ok"] and "config/kpis.yaml:" in status["error"] and "unit" in status["error"]
    with urllib.request.urlopen(running.url, timeout=10) as response:
        page = response.read().decode("utf-8")
    assert 'id="pulse-preview-error"' in page and "config/kpis.yaml:" in page
    assert running.url.startswith("http://127.0.0.1:")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(running.url + "monthly.pdf", timeout=10)
