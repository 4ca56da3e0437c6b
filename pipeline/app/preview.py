"""`pulse preview [REPORT]`: the report's HTML on a local web server, rebuilt whenever its inputs change.

A watcher polls the modification times and sizes of everything a report is
made from (config/, queries/, report_templates/ and every export the sources'
globs match) twice a second; after a change has settled it rebuilds the
company-wide HTML with the runner's own pipeline (`run_report(preview=True)`:
ingest, the data-quality gate, KPIs, OKRs, render), into
<workdir>/preview/<report>/. Nothing is published under reports/ and nothing
is emailed. The page served on http://127.0.0.1:PORT/ is the last good build
with a small status bar; it asks `/status` every moment and reloads itself
after each build. A build that fails (a config error, an SQL error, a failed
check) shows its error on the page, above the last good build, and on the
terminal. The server listens on the loopback interface only.
"""

from __future__ import annotations

import errno
import glob
import html
import json
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pipeline.core.errors import ProjectBusy, PulseError, UsageError

WATCHED = ("config", "queries", "report_templates")
POLL_SECONDS = 0.5
SETTLE_SECONDS = 0.3  # a change is built once the files stop changing for this long
HOST = "127.0.0.1"


@dataclass(frozen=True)
class BuildState:
    """What the page shows: the last good HTML, the last build's outcome, and a counter that moves on each build."""

    build: int = 0
    building: bool = True
    html: bytes | None = None
    built_at: str = ""
    label: str = ""  # report and period of the last good build
    error: str | None = None  # the last build's error (None: it succeeded)


@dataclass
class Preview:
    """The shared state between the watcher thread and the server's threads."""

    root: Path
    report: str | None
    period: str | None
    now: datetime | None = None
    state: BuildState = field(default_factory=BuildState)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    echo: Callable[[str], None] = print
    patterns: list[str] = field(default_factory=list)  # the sources' globs, from the last config that loaded

    def update(self, **changes) -> None:
        with self.lock:
            self.state = replace(self.state, **changes)

    def snapshot(self) -> BuildState:
        with self.lock:
            return self.state

    # -- watching ------------------------------------------------------------------------
    def signature(self) -> tuple:
        """Names, sizes and modification times of every input (exports through the sources' globs)."""
        own = _stat_tree(self.root, WATCHED)
        exports = []
        for pattern in self.patterns:
            full = pattern if Path(pattern).is_absolute() else str(self.root / pattern)
            exports.extend(_stat(Path(p)) for p in sorted(glob.glob(full, recursive=True)))
        return own, tuple(exports)

    def refresh_patterns(self) -> None:
        from pipeline.config import load_project

        try:
            config = load_project(self.root)
        except PulseError:
            return  # keep watching the exports of the last config that loaded
        self.patterns = [p for source in config.sources.values() for p in source.paths]

    def watch(self) -> None:
        """Build now, then again after every settled change, until stopped."""
        self.refresh_patterns()
        seen = self.signature()
        self.rebuild()
        while not self.stop.wait(POLL_SECONDS):
            current = self.signature()
            if current == seen:
                continue
            while not self.stop.wait(SETTLE_SECONDS):  # let an editor or a copy finish writing
                settled = self.signature()
                if settled == current:
                    break
                current = settled
            if current[0] != seen[0]:
                self.refresh_patterns()
                current = self.signature()
            seen = current
            self.rebuild()

    def rebuild(self) -> None:
        from . import runner, workspace

        self.update(building=True)
        started = time.perf_counter()
        try:
            with workspace.locked(self.root, "preview", self.now):
                result = runner.run_report(self.root, self.report, self.period, now=self.now, preview=True)
            page = next(p for p in result.files if p.suffix == ".html").read_bytes()
        except ProjectBusy as exc:
            self._failed(exc.one_line() + " (the preview builds again after the next change)")
            return
        except PulseError as exc:
            self._failed(exc.report())
            return
        except Exception as exc:  # shown on the page like any other failure; the server keeps running
            self._failed(f"error: internal error: {type(exc).__name__}: {exc} (hint: run 'pulse run --debug' "
                         "to see the traceback)")
            return
        seconds = time.perf_counter() - started
        label = f"{result.report_name} {result.period.label}"
        with self.lock:
            self.state = BuildState(self.state.build + 1, False, page, time.strftime("%H:%M:%S"), label, None)
        self.echo(f"built {label} in {seconds:.1f} s")

    def _failed(self, message: str) -> None:
        with self.lock:
            self.state = replace(self.state, build=self.state.build + 1, building=False, error=message)
        self.echo(message)

    # -- the page ------------------------------------------------------------------------
    def page(self) -> bytes:
        state = self.snapshot()
        bar = _status_bar(state)
        if state.html is None:
            body = "<p>Building the report…</p>" if state.error is None else ""
            return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Pulse preview</title></head>"
                    f"<body>{bar}{body}</body></html>").encode("utf-8")
        text = state.html.decode("utf-8")
        found = re.search(r"<body[^>]*>", text)
        at = found.end() if found else 0
        return (text[:at] + bar + text[at:]).encode("utf-8")

    def status(self) -> bytes:
        state = self.snapshot()
        return json.dumps({"build": state.build, "building": state.building, "ok": state.error is None,
                           "error": state.error, "report": state.label, "built_at": state.built_at}).encode("utf-8")


STATUS_SCRIPT = """<script>
(function () {
  var shown = %d;
  function ask() {
    fetch("/status", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (s) {
      if (s.build !== shown) { location.reload(); return; }
      var note = document.getElementById("pulse-preview-state");
      if (note) { note.textContent = s.building ? "rebuilding…" : ""; }
      setTimeout(ask, 500);
    }).catch(function () { setTimeout(ask, 2000); });
  }
  setTimeout(ask, 500);
})();
</script>"""

BAR_STYLE = ("font: 13px/1.4 system-ui, sans-serif; padding: 6px 12px; margin: 0 0 8px 0; "
             "background: #f1f5f9; color: #334155; border-bottom: 1px solid #cbd5e1;")
ERROR_STYLE = ("font: 14px/1.5 system-ui, sans-serif; padding: 10px 14px; margin: 0 0 8px 0; white-space: pre-wrap; "
               "background: #fef2f2; color: #991b1b; border: 2px solid #b91c1c;")


def _status_bar(state: BuildState) -> str:
    parts = [f'<div id="pulse-preview" style="{BAR_STYLE}">Pulse preview']
    if state.label:
        parts.append(f" · {html.escape(state.label)} · built {html.escape(state.built_at)}")
    parts.append(f' · <span id="pulse-preview-state">{"rebuilding…" if state.building else ""}</span></div>')
    if state.error is not None:
        shown = "The last good build is shown below." if state.html is not None else ""
        parts.append(f'<div id="pulse-preview-error" role="alert" style="{ERROR_STYLE}">'
                     f"The report could not be built:\n{html.escape(state.error)}\n{shown}</div>")
    parts.append(STATUS_SCRIPT % state.build)
    return "".join(parts)


def _stat(path: Path) -> tuple[str, int, int]:
    try:
        info = path.stat()
        return str(path), info.st_mtime_ns, info.st_size
    except OSError:
        return str(path), -1, -1


def _stat_tree(root: Path, folders: tuple[str, ...]) -> tuple:
    found = []
    for name in folders:
        folder = root / name
        if folder.is_dir():
            found.extend(_stat(p) for p in sorted(folder.rglob("*")) if p.is_file())
    return tuple(found)


# -- the server -----------------------------------------------------------------------------
def _handler(preview: Preview) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            if self.path in ("/", "/index.html"):
                self._send(preview.page(), "text/html; charset=utf-8")
            elif self.path.split("?")[0] == "/status":
                self._send(preview.status(), "application/json")
            elif self.path == "/favicon.ico":  # browsers ask; the report has none
                self.send_response(HTTPStatus.NO_CONTENT)
                self.end_headers()
            else:
                self.send_error(HTTPStatus.NOT_FOUND)

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:  # requests are not news
            return None

    return Handler


def serve(root: Path, report: str | None, period: str | None, port: int, now: datetime | None = None,
          echo: Callable[[str], None] | None = None) -> None:
    """Serve the preview on 127.0.0.1:`port` (0: any free port) until interrupted."""
    say = echo or (lambda line: (print(line), sys.stdout.flush()))
    preview = Preview(root, report, period, now, echo=say)
    try:
        server = ThreadingHTTPServer((HOST, port), _handler(preview))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} is in use", "pass --port N, or --port 0 for any free port") from None
        raise
    server.daemon_threads = True
    url = f"http://{HOST}:{server.server_address[1]}/"
    say(f"Previewing at {url} (rebuilt when config/, queries/, report_templates/ or an export changes; Ctrl-C stops)")
    watcher = threading.Thread(target=preview.watch, name="pulse-preview-watch", daemon=True)
    watcher.start()
    previous = signal.signal(signal.SIGTERM, _interrupt) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        say("preview stopped")
    finally:
        preview.stop.set()
        server.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        watcher.join(timeout=30)


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt
