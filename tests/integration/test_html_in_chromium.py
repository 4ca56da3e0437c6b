"""The demo report's HTML in a real browser: headless Chromium with the network off.

The report must be self-contained: every stylesheet, image, font and chart
inline (data: URIs, inline <style>; the charts are SVG images in data: URIs).
Two independent checks:

1. statically, no attribute or CSS url() in the HTML, nor in an SVG image
   it holds, points anywhere but a data: URI or a #fragment (this also
   catches references a browser would only follow later: print-only CSS,
   lazy images);
2. dynamically, Debian's /usr/bin/chromium loads the file over the Chrome
   DevTools protocol (--remote-debugging-pipe, standard library only) with
   network emulation offline and every host name unresolvable; any request
   other than the page itself or a data: URI, any failed load, console error,
   error log entry or uncaught exception fails the test. The same session
   checks the rendered DOM and takes a full-page screenshot that must not be
   blank and must show the charts' blue.

Without /usr/bin/chromium (or PULSE_CHROMIUM) the browser tests skip with a
one-line reason, or fail when PULSE_REQUIRE_BROWSER=1 (CI; see support.browser).
"""

from __future__ import annotations

import base64
import io
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.app import runner
from pipeline.config import load_project
from pipeline.report.charts import ACCENT
from support import project as conftest
from support.browser import VIEWPORT, DevTools, DevToolsError, problems_in
from support.project import make_project

PERIOD = "2026-10"


# -- load the page once --------------------------------------------------------------
DOM_FACTS = """JSON.stringify({
  title: document.title,
  kpiRows: document.querySelectorAll("tr.kpi").length,
  charts: [...document.images].filter(i => i.src.startsWith("data:image/svg+xml"))
          .map(i => { const r = i.getBoundingClientRect(); return [r.width, r.height, i.alt]; }),
  brokenImages: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80)),
  bodyText: document.body.innerText.length,
  height: Math.ceil(document.documentElement.scrollHeight),
})"""


@dataclass(frozen=True)
class Report:
    """The demo report as run_report wrote it."""

    html_path: Path
    html: str
    company: str
    kpi_count: int


@dataclass(frozen=True)
class LoadedPage:
    """The report as Chromium saw it."""

    report: Report
    facts: dict
    problems: list[str]
    screenshot: bytes
    screenshot_path: Path


@dataclass
class Loaded:
    """What one page load in the browser gave."""

    url: str
    facts: dict
    problems: list[str]
    screenshot: bytes


def load(browser: DevTools, path: Path) -> Loaded:
    """Open `path` in a fresh tab, offline; collect DOM facts, problems and a full-page PNG."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.send("Network.emulateNetworkConditions",
                 {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}, session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False}, session)
    url = path.as_uri()
    navigated = browser.send("Page.navigate", {"url": url}, session)
    if "errorText" in navigated:
        raise DevToolsError(f"Chromium could not open {url}: {navigated['errorText']}")
    browser.wait_for("Page.loadEventFired", session)
    browser.send("Runtime.evaluate", {"expression": "document.fonts.ready.then(() => true)", "awaitPromise": True},
                 session)
    browser.drain(0.3)
    facts = json.loads(browser.send("Runtime.evaluate", {"expression": DOM_FACTS, "returnByValue": True},
                                    session)["result"]["value"])
    # the whole page in one picture: the viewport grown to the document's height
    height = max(VIEWPORT[1], min(facts["height"], 16000))
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": VIEWPORT[0], "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
    shot = base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"}, session)["data"])
    browser.drain(0.2)
    problems = problems_in(browser.events, session, url)
    browser.send("Target.closeTarget", {"targetId": target})
    return Loaded(url, facts, problems, shot)


def load_or_fail(browser: DevTools, path: Path) -> Loaded:
    try:
        return load(browser, path)
    except DevToolsError as exc:
        pytest.fail(f"headless Chromium failed: {exc}\n{browser.log_tail()}", pytrace=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory, demo_exports) -> Report:
    """The default report for 2026-10, rendered once for this module (what the `project` fixture builds)."""
    project = make_project(tmp_path_factory.mktemp("chromium") / "project", demo_exports)
    result = runner.run_report(project, None, PERIOD, now=conftest.NOW)
    html_path = project / "reports" / "monthly" / PERIOD / "monthly.html"
    assert html_path.is_file(), [str(f) for f in result.files]
    return Report(html_path, html_path.read_text(encoding="utf-8"), load_project(project).project.company,
                  len(result.kpis))


@pytest.fixture(scope="module")
def page(browser, report) -> LoadedPage:
    loaded = load_or_fail(browser, report.html_path)
    screenshot_path = report.html_path.parents[3] / "monthly-chromium.png"  # beside reports/, to look at after a failure
    screenshot_path.write_bytes(loaded.screenshot)
    return LoadedPage(report, loaded.facts, loaded.problems, loaded.screenshot, screenshot_path)


# -- static: nothing points outside the file -----------------------------------------
URL_ATTRIBUTES = {"src", "href", "xlink:href", "srcset", "poster", "data", "action", "formaction", "background",
                  "manifest", "icon", "ping", "longdesc", "cite", "lowsrc", "dynsrc", "codebase", "archive"}
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.I | re.S)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?['"]?([^'")\s;]+)""", re.I)


def _srcset_urls(value: str) -> list[str]:
    """The URLs of a srcset: a URL is a run of non-blanks (a data: URI may hold commas)."""
    return [m.group(1).rstrip(",") for m in re.finditer(r"[\s,]*(\S+)[^,]*", value) if m.group(1).rstrip(",")]


def _inline(reference: str) -> bool:
    reference = reference.strip()
    return reference == "" or reference.startswith("#") or reference.lower().startswith("data:")


class References(HTMLParser):
    """Every URL the HTML or its inline CSS refers to, with where it was found."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        if tag in ("base", "link", "script", "iframe", "frame", "object", "embed", "applet", "portal"):
            attributes = dict(attrs)
            reference = attributes.get("src") or attributes.get("href") or attributes.get("data") or ""
            if tag != "script" or reference:  # inline <script> is fine, <script src> is not
                self.found.append((f"<{tag}>", reference or "(element)"))
        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == "refresh":
            self.found.append(("<meta http-equiv=refresh>", dict(attrs).get("content", "")))
        for name, value in attrs:
            if value is None:
                continue
            name = name.lower()
            if name in URL_ATTRIBUTES:
                candidates = _srcset_urls(value) if name == "srcset" else [value]
                self.found += [(f"<{tag} {name}>", c) for c in candidates]
            self.found += [(f"<{tag} {name}> url()", m.group(2)) for m in CSS_URL.finditer(value)]

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found += [("<style> url()", m.group(2)) for m in CSS_URL.finditer(data)]
            self.found += [("<style> @import", m.group(1)) for m in CSS_IMPORT.finditer(data)]


SVG_IMAGE = "data:image/svg+xml;base64,"


def svg_images(html: str) -> list[str]:
    """The SVG documents the HTML holds as base64 data: URIs (the charts)."""
    return [base64.b64decode(m.group(1)).decode("utf-8")
            for m in re.finditer(re.escape(SVG_IMAGE) + r"([A-Za-z0-9+/=]+)", html)]


def external_references(html: str) -> list[tuple[str, str]]:
    parser = References()
    parser.feed(html)
    parser.close()
    inner = [(f"SVG image: {where}", ref) for svg in svg_images(html) for where, ref in external_references(svg)]
    return [(where, ref) for where, ref in parser.found if not _inline(ref) or where.startswith(("<base", "<link",
            "<script", "<iframe", "<frame", "<object", "<embed", "<applet", "<portal", "<meta"))] + inner


def test_reference_check_catches_external_resources() -> None:
    """The static check itself: it must see what a browser would fetch."""
    bad = """<html><head><link rel=stylesheet href="x.css"><style>@import "y.css"; body{background:url(img.png)}
    .a{background:url('data:image/png;base64,AAAA')}</style><script src="https://cdn.example/x.js"></script></head>
    <body><img src="logo.png" srcset="a.png 1x, data:image/png;base64,AA 2x"><div style="background: url(file:///etc/x)">
    <svg><use xlink:href="#m1"/><image href="http://x/y.png"/><rect clip-path="url(#p1)"/></svg></div></body></html>"""
    inside = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"><image href="https://x/z.png"/></svg>')
    bad = bad.replace("</body>", f'<img src="{SVG_IMAGE}{inside.decode()}"></body>')
    refs = {ref for _, ref in external_references(bad)}
    assert refs == {"x.css", "y.css", "img.png", "https://cdn.example/x.js", "logo.png", "a.png", "file:///etc/x",
                    "http://x/y.png", "https://x/z.png"}
    good = """<html><head><style>.a{background:url(data:image/png;base64,AA)}</style></head>
    <body><a href="#kpi-revenue">x</a><img src="data:image/png;base64,AA"><svg><use xlink:href="#m1"/></svg></body></html>"""
    assert external_references(good) == []


def test_html_refers_to_nothing_outside_itself(report: Report) -> None:
    found = external_references(report.html)
    assert found == [], "the report HTML must be self-contained (data: URIs and inline CSS only):\n" + "\n".join(
        f"  {where}: {ref[:120]}" for where, ref in found)


# -- dynamic: Chromium, offline ------------------------------------------------------
def test_browser_check_catches_requests_and_errors(browser, tmp_path) -> None:
    """The dynamic check itself, on a page that breaks every rule."""
    (tmp_path / "present.png").write_bytes(b"not really a png")
    bad = tmp_path / "bad.html"
    bad.write_text("""<!DOCTYPE html><html><head><title>bad</title><link rel="stylesheet" href="missing.css"></head>
    <body><img src="https://example.com/logo.png"><img src="present.png">
    <script>console.error("canary console error"); console.log("harmless log line"); notDefined();</script></body></html>""")
    loaded = load_or_fail(browser, bad)
    text = "\n".join(loaded.problems)
    for expected in ("missing.css", "https://example.com/logo.png", "present.png", "canary console error",
                     "notDefined"):
        assert expected in text, f"{expected!r} not reported:\n{text}"
    assert "harmless log line" not in text
    assert loaded.facts["title"] == "bad"


def test_chromium_loads_the_page_without_requests_or_errors(page: LoadedPage) -> None:
    assert page.problems == [], f"{page.report.html_path}:\n" + "\n".join(f"  {p}" for p in page.problems)


def test_chromium_renders_title_kpis_and_charts(page: LoadedPage) -> None:
    facts = page.facts
    kpi_count = page.report.kpi_count
    assert page.report.company in facts["title"] and "October 2026" in facts["title"], facts["title"]
    assert facts["kpiRows"] == kpi_count
    charts = facts["charts"]
    assert len(charts) >= 2 * kpi_count, f"{len(charts)} SVG charts for {kpi_count} KPIs (a trend and a sparkline each)"
    assert all(w > 10 and h > 5 for w, h, _ in charts), f"a chart rendered with no size: {charts}"
    assert all(alt for _, _, alt in charts), "every chart has alt text"
    assert sum(svg.count("<text") for svg in svg_images(page.report.html)) > 0, "chart labels should be SVG <text>"
    assert facts["brokenImages"] == []
    assert facts["bodyText"] > 1000


def test_chromium_screenshot_is_not_blank(page: LoadedPage) -> None:
    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(page.screenshot)).convert("RGB")
    assert image.width == VIEWPORT[0] and image.height >= VIEWPORT[1], image.size
    pixels = np.asarray(image, dtype=np.int32).reshape(-1, 3)
    counts = np.bincount((pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2])
    colours = int((counts > 0).sum())
    inked = len(pixels) - int(counts.max())  # pixels not of the most common (background) colour
    assert colours > 50 and inked > 0.02 * len(pixels), (
        f"screenshot looks blank: {colours} colours, {inked} non-background pixels ({page.screenshot_path})")
    accent = np.array([int(ACCENT[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    blue = int((np.abs(pixels - accent) <= 12).all(axis=1).sum())
    assert blue > 200, f"the charts' line colour {ACCENT} hardly appears ({blue} px) in {page.screenshot_path}"
