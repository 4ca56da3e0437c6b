"""Headless Chromium for tests: a minimal Chrome DevTools client over --remote-debugging-pipe.

`chromium()` finds the browser (/usr/bin/chromium, or PULSE_CHROMIUM). Without
one, browser tests skip with a one-line reason, so `make test` passes on a
machine with only Python and pip; with PULSE_REQUIRE_BROWSER=1 (set by .ci/run,
which installs Chromium) a missing browser is a failure instead, so CI always
runs them. `problems_in` lists what a page did that a self-contained page must
not (requests elsewhere, failed loads, console errors, exceptions).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("PULSE_CHROMIUM", "/usr/bin/chromium"))
VIEWPORT = (1200, 3000)
TIMEOUT = 60.0  # seconds for any one browser step
FLAGS = (
    "--headless",
    "--no-sandbox",  # CI containers run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    # no name resolves, so nothing can reach the network; loopback stays (pulse preview serves there)
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
)


SKIPPED = "no Chromium"  # how the skip reason starts (tests/conftest.py sums the skips up in one line)
INSTALL = "sudo apt-get install -y chromium, or set PULSE_CHROMIUM to the browser"


def chromium() -> Path:
    """The browser; without one the test skips, or fails when PULSE_REQUIRE_BROWSER=1 (CI: .ci/run)."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if os.environ.get("PULSE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{CHROMIUM} not found and PULSE_REQUIRE_BROWSER=1: the browser tests must run here "
                    f"({INSTALL})", pytrace=False)
    pytest.skip(f"{SKIPPED} at {CHROMIUM} ({INSTALL})")


def open_browser(tmp_path_factory) -> Iterator[DevTools]:
    """One headless Chromium (the `browser` fixture of tests/conftest.py), closed afterwards."""
    exe = chromium()
    work = tmp_path_factory.mktemp("chromium_profile")
    devtools = DevTools(exe, work / "profile", work / "chromium.log")
    try:
        yield devtools
    finally:
        devtools.close()


# -- a minimal DevTools client ------------------------------------------------------
class DevToolsError(RuntimeError):
    pass


class DevTools:
    """Chrome DevTools protocol over --remote-debugging-pipe.

    The browser reads NUL-terminated JSON commands on its fd 3 and writes
    responses and events on fd 4. Events are collected in `events` while
    waiting for responses.
    """

    def __init__(self, exe: Path, profile: Path, log: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the child's ends above fd 10, so the redirections to 3 and 4 cannot clobber them
        # (bash, not sh: dash cannot redirect fds above 9)
        child_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", f'exec "$@" 3<&{child_r} 4>&{child_w} {child_r}<&- {child_w}>&-', "bash", str(exe),
             *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(child_r, child_w),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,  # its own process group, so close() can end all of it
        )
        os.close(child_r)
        os.close(child_w)
        self.log_path = log
        self.events: list[dict] = []
        self._buffer = b""
        self._next_id = 0

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Run one command and return its result; protocol errors raise."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._read(deadline)
            if reply is None:
                raise DevToolsError(f"no answer to {method} within {TIMEOUT:.0f} s")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, event: str, session: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while True:
            for seen in self.events:
                if seen.get("method") == event and seen.get("sessionId") == session:
                    return seen
            message = self._read(deadline)
            if message is None:
                raise DevToolsError(f"no {event} within {TIMEOUT:.0f} s")
            if "method" in message:
                self.events.append(message)

    def drain(self, seconds: float) -> None:
        """Collect events for a moment (late console messages, failed loads)."""
        deadline = time.monotonic() + seconds
        while (message := self._read(deadline)) is not None:
            if "method" in message:
                self.events.append(message)

    def _read(self, deadline: float) -> dict | None:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise DevToolsError(f"Chromium exited (code {self.proc.poll()}); log:\n{self.log_tail()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self._next_id += 1
                os.write(self._to_browser, json.dumps({"id": self._next_id, "method": "Browser.close"}).encode() + b"\0")
                self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group we started, by its id
                self.proc.wait(timeout=10)
            os.close(self._to_browser)
            os.close(self._from_browser)
            self._log.close()



def problems_in(events: list[dict], session: str, page_url: str) -> list[str]:
    """Everything that says the page is not self-contained or not clean."""
    found = []
    urls: dict[str, str] = {}
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            if url != page_url and not url.startswith("data:"):
                found.append(f"request for a resource outside the page: {url[:200]}")
        elif method == "Network.loadingFailed":
            url = urls.get(params["requestId"], "?")
            found.append(f"failed to load {url[:200]}: {params.get('errorText')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            found.append(f"console.{params['type']}: {text[:300]}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            found.append(f"uncaught exception: {text[:300]}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            found.append(f"browser error ({entry.get('source')}): {entry.get('text', '')[:300]} {entry.get('url', '')[:200]}")
    return found
