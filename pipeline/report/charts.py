"""Report charts as SVG, drawn by matplotlib and placed in the HTML as images (`svg_image`).

Three charts, each returned as an SVG string that starts at `<svg`:

- `trend_svg(TrendData)`: a KPI's last 12 periods, optionally with the same
  periods one year earlier (thin grey line) and a dashed target line;
- `sparkline_svg(values)`: a tiny line without axes for table cells;
- `bullet_svg(score, expected, status)`: an OKR score bar against the
  expected-progress marker.

Text stays text in the SVG (svg.fonttype = none), so it is selectable and
searchable in the PDF. Output is deterministic (fixed hash salt, no date
metadata), so re-running a report gives byte-identical HTML.

Speed (a report has ~13 trends, ~13 sparklines, ~8 bullets; together about
0.2 s): figures are plain `matplotlib.figure.Figure` objects outside pyplot,
one reused canvas per size (under a lock; cleared after each chart); the trend
chart's axes, grid, labels and legend are placed by hand from measured text
widths instead of matplotlib's tick machinery and `tight_layout` (which draws
every figure twice); sparklines and bullets are memoised per input.
matplotlib is imported by the first chart drawn (or, in `pulse run`, in a
thread while the exports load: `render.start_imports`), so commands that draw
none (`pulse kpis`, `pulse okrs`, `pulse query`) start without it.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:  # matplotlib itself is imported when the first chart is drawn (it takes ~0.8 s)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

INK = "#1f2933"
MUTED = "#7b8794"
ACCENT = "#1d4ed8"
TARGET = "#d97706"
LAST_YEAR = "#9aa5b1"
GRID = "#e4e7eb"
BAND = "#e4e7eb"

STATUS_COLORS = {
    "achieved": "#0f766e",
    "on_track": "#15803d",
    "at_risk": "#b45309",
    "off_track": "#b91c1c",
    "not_started": "#9aa5b1",
}

FONT = "DejaVu Sans"
FONT_SIZE = 7.0  # pt: tick labels
LEGEND_SIZE = 6.5  # pt

_RC = {
    "svg.fonttype": "none",  # text stays <text>, selectable and searchable in the PDF
    "svg.hashsalt": "pulse",  # fixed ids for markers: byte-identical output
    "font.family": FONT,
    "font.size": FONT_SIZE,
    "path.simplify": True,
}
_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


@dataclass(frozen=True)
class TrendData:
    """What a trend chart shows.

    labels: period labels ("2026-10"), oldest first; values: this series (None = gap);
    target: a constant target line or None; tick_format: float -> y tick text;
    last_year: the same periods one year earlier (None = not shown, None items = gaps);
    axis_format: all y ticks -> their texts at once (one unit and one number of
    decimals for the whole axis), used instead of tick_format when given;
    low_sample: per value, True when it rests on too few observations (drawn as a
    hollow marker, with a "low sample" legend entry); whole_ticks: y ticks on
    whole numbers only (counts); axis_scale: raw units per unit of the axis
    labels (24 when hours are labelled in days), so ticks fall on round numbers
    of what the labels say.
    """

    labels: tuple[str, ...]
    values: tuple[float | None, ...]
    target: float | None
    tick_format: Callable[[float], str]
    last_year: tuple[float | None, ...] | None = None
    axis_format: Callable[[list[float]], list[str]] | None = None
    low_sample: tuple[bool, ...] | None = None
    whole_ticks: bool = False  # counts: y ticks on whole numbers only
    axis_scale: float = 1.0  # raw units per axis unit (24: hours shown in days); ticks are round in axis units


# -- trend -------------------------------------------------------------------------
def trend_svg(data: TrendData, width_in: float = 3.3, height_in: float = 1.35) -> str:
    """A line chart of the series, the grey last-year line and the dashed target.

    A legend ("this year", "last year", "target") sits above the plot when
    there is more than the one line to tell apart. Every other period is
    labelled, counting back from the last one. The y axis starts at 0 or above
    unless a value shown is negative.

    Axes, grid, tick labels and legend are placed by hand (matplotlib's tick
    and legend machinery costs two thirds of the time); the labels are real
    <text> elements all the same.
    """
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    n = len(data.values)
    if len(data.labels) != n:
        raise ValueError(f"trend chart: {len(data.labels)} labels for {n} values")
    if data.last_year is not None and len(data.last_year) != n:
        raise ValueError(f"trend chart: last_year has {len(data.last_year)} values, expected {n}")
    if data.low_sample is not None and len(data.low_sample) != n:
        raise ValueError(f"trend chart: low_sample has {len(data.low_sample)} flags, expected {n}")
    xs = list(range(n))
    ys = _nan(data.values)
    last_year = _nan(data.last_year) if data.last_year is not None and _has_number(data.last_year) else None
    shown = [*ys, *(last_year or []), *([] if data.target is None else [float(data.target)])]
    lo, hi = _y_limits(shown, floor_at_zero=True)
    if any(not math.isnan(v) for v in shown):
        eps = 1e-9 * (hi - lo)
        scale = data.axis_scale
        ticks = [float(t) * scale for t in MaxNLocator(3, integer=data.whole_ticks).tick_values(lo / scale, hi / scale)
                 if lo - eps <= t * scale <= hi + eps]
        ticks = [0.0 if abs(t) <= eps else t for t in ticks]  # no "−0"
    else:
        ticks = []  # nothing to scale: an empty frame, no made-up numbers
    tick_labels = data.axis_format(ticks) if data.axis_format is not None else [data.tick_format(t) for t in ticks]
    low_points = [i for i in xs if data.low_sample and data.low_sample[i] and not math.isnan(ys[i])]
    x_ticks = [i for i in xs if i % 2 == (n - 1) % 2]
    x_labels = [_short(data.labels[i]) for i in x_ticks]

    legend = [("this year", ACCENT, "-", 1.6)]
    if last_year is not None:
        legend.append(("last year", LAST_YEAR, "-", 1.0))
    if data.target is not None:
        legend.append(("target", TARGET, (0, (4, 2)), 1.0))
    if low_points:
        legend.append(("low sample", ACCENT, "hollow", 1.0))
    show_legend = len(legend) > 1

    # layout in inches: room for the widest y label, the x labels and the legend
    pad = 0.04
    label_gap = 3 / 72
    line_h = FONT_SIZE * 1.2 / 72
    left = pad + max((_text_width_in(t, FONT_SIZE) for t in tick_labels), default=0.0) + label_gap
    bottom = pad + line_h + label_gap
    top = pad + (LEGEND_SIZE * 1.3 / 72 + 4 / 72 if show_legend else line_h / 2)
    right = pad + (_text_width_in(x_labels[-1], FONT_SIZE) / 2 if x_labels else 0.0)
    plot_w = max(0.3, width_in - left - right)
    plot_h = max(0.2, height_in - bottom - top)
    x_lo, x_hi = (-0.3, n - 0.7) if n > 1 else (-0.5, 0.5)

    with _canvas(width_in, height_in, (left / width_in, bottom / height_in, plot_w / width_in, plot_h / height_in)) as (
        fig,
        ax,
    ):
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(lo, hi)
        if ticks:
            ax.hlines(ticks, x_lo, x_hi, colors=GRID, linewidth=0.6, zorder=1, clip_on=False)
        ax.axhline(lo, color=MUTED, linewidth=0.6, zorder=1.5, clip_on=False)
        if last_year is not None:
            ax.plot(xs, last_year, color=LAST_YEAR, linewidth=1.0, zorder=2, clip_on=False)
        if data.target is not None:
            ax.axhline(data.target, color=TARGET, linewidth=1.0, linestyle=(0, (4, 2)), zorder=2.5, clip_on=False)
        ax.plot(xs, ys, color=ACCENT, linewidth=1.6, marker="o", markersize=2.2, zorder=3, clip_on=False)
        last = _last_number(ys)
        if last is not None:
            ax.plot([last], [ys[last]], marker="o", markersize=4, color=ACCENT, zorder=4, clip_on=False)
        if low_points:  # values from too few observations: hollow markers
            ax.plot(low_points, [ys[i] for i in low_points], linestyle="none", marker="o", markersize=4,
                    markerfacecolor="white", markeredgecolor=ACCENT, markeredgewidth=1.0, zorder=4.5, clip_on=False)
        y_text = blended_transform_factory(ax.transAxes, ax.transData)
        for tick, label in zip(ticks, tick_labels):
            ax.text(-label_gap / plot_w, tick, label, transform=y_text, ha="right", va="center",
                    color=MUTED, fontsize=FONT_SIZE)
        x_text = blended_transform_factory(ax.transData, ax.transAxes)
        for i, label in zip(x_ticks, x_labels):
            ax.text(i, -label_gap / plot_h, label, transform=x_text, ha="center", va="top",
                    color=MUTED, fontsize=FONT_SIZE)
        if show_legend:
            _legend(fig, legend, x=pad, y=height_in - pad - LEGEND_SIZE * 0.65 / 72, width_in=width_in,
                    height_in=height_in)
        return _svg(fig)


def _legend(fig: Figure, entries, x: float, y: float, width_in: float, height_in: float) -> None:
    """A one-row legend: a short line sample, then its label; (x, y) = left, middle (inches)."""
    from matplotlib.lines import Line2D

    sample = 0.16
    for label, color, style, width in entries:
        if style == "hollow":  # a marker, not a line
            fig.add_artist(Line2D([(x + sample / 2) / width_in], [y / height_in], color=color, linestyle="none",
                                  marker="o", markersize=4, markerfacecolor="white", markeredgewidth=width,
                                  transform=fig.transFigure))
        else:
            fig.add_artist(Line2D([x / width_in, (x + sample) / width_in], [y / height_in] * 2, color=color,
                                  linestyle=style, linewidth=width, transform=fig.transFigure))
        x += sample + 0.04
        fig.text(x / width_in, (y - LEGEND_SIZE * 0.36 / 72) / height_in, label, ha="left", va="baseline", color=INK,
                 fontsize=LEGEND_SIZE)
        x += _text_width_in(label, LEGEND_SIZE) + 0.12


def _y_limits(values: list[float], floor_at_zero: bool = False) -> tuple[float, float]:
    """The y range: the values with a margin; with `floor_at_zero`, never below 0 when no value is."""
    numbers = [v for v in values if not math.isnan(v)]
    if not numbers:
        return 0.0, 1.0
    lo, hi = min(numbers), max(numbers)
    span = hi - lo
    if span == 0:
        span = abs(hi) * 0.2 or 1.0
        low, high = lo - span / 2, hi + span / 2
    else:
        low, high = lo - span * 0.08, hi + span * 0.08
    if floor_at_zero and lo >= 0 and low < 0:
        low = 0.0
        if hi == 0:
            high = 1.0  # all zero: a 0..1 frame, the line on its floor
    return low, high


def _short(label: str) -> str:
    """'2026-10' -> '10/26'; other labels unchanged but shortened."""
    if len(label) == 7 and label[4] == "-" and label[5:].isdigit():
        return f"{label[5:]}/{label[2:4]}"
    return label[2:] if len(label) > 6 else label


# -- sparkline ---------------------------------------------------------------------
def sparkline_svg(values: tuple[float | None, ...], width_in: float = 0.9, height_in: float = 0.25) -> str:
    """A tiny line without axes: None leaves a gap, the last number gets a dot.

    A number with no neighbour (between gaps) is drawn as a small dot so it
    does not vanish. All-None or empty input gives an empty (blank) chart.
    Any iterable of numbers works; results are cached per input.
    """
    return _sparkline_svg(tuple(values), float(width_in), float(height_in))


@lru_cache(maxsize=256)
def _sparkline_svg(values: tuple[float | None, ...], width_in: float, height_in: float) -> str:
    ys = _nan(values)
    n = len(ys)
    marker_in = 2.6 / 72  # the end dot's diameter
    inset_x, inset_y = marker_in / 2 + 0.01, marker_in / 2 + 0.01
    box = (inset_x / width_in, inset_y / height_in, 1 - 2 * inset_x / width_in, 1 - 2 * inset_y / height_in)
    with _canvas(width_in, height_in, box) as (fig, ax):
        ax.set_xlim(0, max(n - 1, 1))
        ax.set_ylim(*_y_limits(ys))
        if _has_number(values):
            xs = list(range(n))
            ax.plot(xs, ys, color=ACCENT, linewidth=1.0, solid_capstyle="round", clip_on=False)
            lonely = [i for i in xs if not math.isnan(ys[i])
                      and (i == 0 or math.isnan(ys[i - 1])) and (i == n - 1 or math.isnan(ys[i + 1]))]
            last = _last_number(ys)
            lonely = [i for i in lonely if i != last]
            if lonely:
                ax.plot(lonely, [ys[i] for i in lonely], linestyle="none", marker="o", markersize=1.2,
                        color=ACCENT, clip_on=False)
            ax.plot([last], [ys[last]], linestyle="none", marker="o", markersize=2.6, color=ACCENT, clip_on=False)
        return _svg(fig)


# -- bullet ------------------------------------------------------------------------
def bullet_svg(score: float, expected: float, status: str, width_in: float = 1.6, height_in: float = 0.22) -> str:
    """An OKR bullet: light band 0..1, a bar of length `score` in the status colour,
    and a dark vertical marker at `expected`. Both are clamped to 0..1.

    `status` is an okrs.Status value ("achieved", "on_track", "at_risk",
    "off_track", "not_started"); a Status member works too.
    """
    key = getattr(status, "value", status)
    if key not in STATUS_COLORS:
        raise ValueError(f"bullet chart: unknown status {status!r}, expected one of {', '.join(STATUS_COLORS)}")
    return _bullet_svg(_clamp(score), _clamp(expected), key, float(width_in), float(height_in))


@lru_cache(maxsize=256)
def _bullet_svg(score: float, expected: float, key: str, width_in: float, height_in: float) -> str:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    marker_w = 1.4 / 72  # inches
    half = marker_w / 2 / width_in  # half the marker width in axes units, so it is never clipped
    with _canvas(width_in, height_in, (0, 0, 1, 1)) as (fig, ax):
        ax.set_xlim(-half, 1 + half)
        ax.set_ylim(0, 1)
        ax.add_patch(Rectangle((0, 0.18), 1, 0.64, facecolor=BAND, edgecolor="none", clip_on=False))
        ax.add_patch(Rectangle((0, 0.32), score, 0.36, facecolor=STATUS_COLORS[key], edgecolor="none",
                               clip_on=False))
        ax.add_line(Line2D([expected, expected], [0.04, 0.96], color=INK, linewidth=1.4,
                           solid_capstyle="butt", clip_on=False))
        return _svg(fig)


# -- shared ------------------------------------------------------------------------
_CANVASES: dict[tuple[float, float], tuple["Figure", "Axes"]] = {}
_CANVAS_LOCK = threading.Lock()


@contextmanager
def _canvas(width_in: float, height_in: float, box: tuple[float, float, float, float]) -> Iterator[tuple[Figure, Axes]]:
    """A blank transparent figure with one axis-less Axes at `box` (figure fractions).

    Figures live outside pyplot's registry and are reused per size: building an
    Axes is a third of a small chart's time. Everything drawn is removed again on
    exit, so a reused canvas renders exactly like a fresh one (the tests check).
    The lock makes the shared canvases safe to use from threads.
    """
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.use("Agg")  # draw without a display
    with _CANVAS_LOCK, matplotlib.rc_context(_RC):
        key = (width_in, height_in)
        if key not in _CANVASES:
            if len(_CANVASES) >= 16:
                _CANVASES.pop(next(iter(_CANVASES)))
            fig = Figure(figsize=(width_in, height_in), dpi=72)
            fig.patch.set_visible(False)
            ax = fig.add_axes(box)
            ax.set_axis_off()
            ax.patch.set_visible(False)
            _CANVASES[key] = (fig, ax)
        fig, ax = _CANVASES[key]
        ax.set_position(box)
        try:
            yield fig, ax
        finally:
            for artist in (*ax.lines, *ax.texts, *ax.collections, *ax.patches, *fig.texts, *fig.artists,
                           *fig.legends):
                artist.remove()


# matplotlib names every group (`<g id="line2d_3">`); nothing refers to these names, and a group
# without them (or any other attribute) is unwrapped by `compact_svg`. Marker and clip ids (content
# hashes, referenced by `use`) are kept.
_GROUP_ID = re.compile(r'<g id="[A-Za-z][\w.]*_\d+">')


def _svg(fig: Figure) -> str:
    """The figure as compact SVG text from `<svg` on (no XML declaration, doctype or group ids)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata=_METADATA)
    svg = buffer.getvalue()
    return compact_svg(_GROUP_ID.sub("<g>", svg[svg.index("<svg"):]))


def svg_image(svg: str, alt: str) -> str:
    """A chart as an `<img>` of its SVG (a data: URI) with `alt` text.

    An image rather than inline SVG: WeasyPrint reads it with the XML parser
    and computes no CSS cascade for its elements (the pages come out the same,
    pixel for pixel, with about a sixth less work), and the PDF's figure
    carries the alt text. Browsers show it as they show inline SVG."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(alt, quote=True)}">'


SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# the properties matplotlib writes in style attributes that SVG also takes as attributes
PRESENTATION = frozenset({
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin",
    "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit", "stroke-opacity", "opacity", "clip-path",
    "font-size", "font-family", "font-style", "font-weight", "text-anchor",
})
_UNIVERSAL_RULE = re.compile(r"^\s*\*\s*\{([^{}]*)\}\s*$")
_NO_ROTATION = re.compile(r"^rotate\(-?0 [-\d.e]+ [-\d.e]+\)$")


def compact_svg(svg: str) -> str:
    """matplotlib's SVG with the same drawing in fewer, simpler nodes, for WeasyPrint to lay out faster.

    Each chart is parsed and drawn again for every PDF, so what costs WeasyPrint
    time without changing a pixel goes (a report's PDF pages are identical
    either way; the tests compare them): style attributes become presentation
    attributes (no CSS to parse per node), the `*{...}` stylesheet becomes the
    root's inherited attributes (no stylesheet to match per chart), groups
    without attributes are unwrapped, whitespace between elements and
    rotations by 0 degrees are dropped, a path's spaces collapsed.
    """
    from xml.etree import ElementTree

    ElementTree.register_namespace("", SVG_NS)
    ElementTree.register_namespace("xlink", XLINK_NS)
    root = ElementTree.fromstring(svg)
    for defs in root.iter(f"{{{SVG_NS}}}defs"):
        for style in list(defs.findall(f"{{{SVG_NS}}}style")):
            rule = _UNIVERSAL_RULE.match(style.text or "")
            if rule is not None:
                for name, value in _declarations(rule.group(1)):
                    root.set(name, value)
                defs.remove(style)
    _simplify(root)
    return ElementTree.tostring(root, encoding="unicode")


def _simplify(parent) -> None:
    """Unwrap `parent`'s attribute-less <g> children, drop whitespace and empty <defs>, style -> attributes."""
    children = []
    for child in parent:
        _simplify(child)
        if child.tag in (f"{{{SVG_NS}}}g", f"{{{SVG_NS}}}defs") and not child.attrib and not len(child):
            continue
        if child.tag == f"{{{SVG_NS}}}g" and not child.attrib:
            children.extend(child)
            continue
        children.append(child)
    parent[:] = children
    for child in children:
        child.tail = None
    if parent.tag != f"{{{SVG_NS}}}text" and parent.text is not None and not parent.text.strip():
        parent.text = None
    style = parent.attrib.pop("style", None)
    if style is not None:
        kept = []
        for name, value in _declarations(style):
            if name in PRESENTATION:  # a style declaration wins over an attribute of the same name
                parent.set(name, value)
            else:
                kept.append(f"{name}: {value}")
        if kept:
            parent.set("style", "; ".join(kept))
    if "d" in parent.attrib:
        parent.set("d", " ".join(parent.get("d", "").split()))
    if _NO_ROTATION.match(parent.get("transform", "")):
        del parent.attrib["transform"]


def _declarations(text: str) -> list[tuple[str, str]]:
    """`a: b; c: d` as [(a, b), (c, d)]."""
    pairs = []
    for part in text.split(";"):
        name, colon, value = part.partition(":")
        if colon and name.strip():
            pairs.append((name.strip().lower(), value.strip()))
    return pairs


@lru_cache(maxsize=1024)
def _text_width_in(text: str, size: float) -> float:
    """Rendered width of `text` in the chart font, in inches."""
    from matplotlib.textpath import text_to_path

    width, _height, _descent = text_to_path.get_text_width_height_descent(text, _font(size), ismath=False)
    return width / 72


@lru_cache(maxsize=8)
def _font(size: float) -> FontProperties:
    from matplotlib.font_manager import FontProperties

    return FontProperties(family=FONT, size=size)


def _nan(values) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _has_number(values) -> bool:
    return any(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values)


def _last_number(ys: list[float]) -> int | None:
    for i in range(len(ys) - 1, -1, -1):
        if not math.isnan(ys[i]):
            return i
    return None


def _clamp(share: float) -> float:
    share = float(share)
    if math.isnan(share):
        return 0.0
    return max(0.0, min(1.0, share))
