"""pipeline.report.charts: valid, deterministic, small SVG with text kept as text."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from pipeline.report import charts
from pipeline.report.charts import STATUS_COLORS, TrendData, bullet_svg, sparkline_svg, trend_svg

SVG = "{http://www.w3.org/2000/svg}"
LABELS = tuple(f"{2025 + (m + 10) // 12}-{(m + 10) % 12 + 1:02d}" for m in range(12))  # 2025-11 .. 2026-10
VALUES = (410.0, 420.5, 433.0, 455.0, 470.0, 462.0, 480.0, 510.0, 495.0, 530.0, 545.0, 560.0)
LAST_YEAR = (380.0, 392.0, 401.0, 399.0, 420.0, 431.0, 440.0, 450.0, 452.0, 470.0, 488.0, 501.0)


def money(v: float) -> str:
    return f"DKK\u00a0{v:,.0f}"


def parse(svg: str) -> ET.Element:
    assert svg.startswith("<svg"), svg[:80]
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def filled_paths(root: ET.Element, colour: str) -> list[ET.Element]:
    return [p for p in root.iter(f"{SVG}path") if f"fill: {colour}" in p.get("style", "")]


def x_extent(path: ET.Element) -> float:
    """Width of a path's bounding box (straight segments, as matplotlib writes rectangles)."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
    xs = numbers[0::2]
    return max(xs) - min(xs)


def width_pt(root: ET.Element) -> float:
    return float(root.get("viewBox").split()[2])


# -- trend -------------------------------------------------------------------------
def test_trend_is_valid_svg_with_text_labels_and_legend() -> None:
    root = parse(trend_svg(TrendData(LABELS, VALUES, 520.0, money, LAST_YEAR)))
    labels = texts(root)
    assert any(label.startswith("DKK\u00a0") for label in labels), labels  # y tick labels via tick_format
    assert "10/26" in labels and "12/25" in labels  # every other period, counting back from the last
    assert "11/25" not in labels
    assert {"this year", "last year", "target"} <= set(labels)
    # fonttype none: real text in DejaVu Sans, no glyph outlines
    assert all("DejaVu Sans" in t.get("style", "") for t in root.iter(f"{SVG}text"))
    assert not any((p.get("id") or "").startswith("DejaVu") for p in root.iter(f"{SVG}path"))
    # the default size: 3.3 x 1.35 in
    assert root.get("width") == "237.6pt" and root.get("height") == "97.2pt"


def test_trend_legend_only_when_there_is_something_to_tell_apart() -> None:
    alone = texts(parse(trend_svg(TrendData(LABELS, VALUES, None, money))))
    assert not {"this year", "last year", "target"} & set(alone)
    with_target = texts(parse(trend_svg(TrendData(LABELS, VALUES, 500.0, money))))
    assert {"this year", "target"} <= set(with_target) and "last year" not in with_target
    # a last year without a single number is not shown (nor announced)
    empty_last_year = texts(parse(trend_svg(TrendData(LABELS, VALUES, None, money, (None,) * 12))))
    assert "last year" not in empty_last_year


def test_trend_draws_the_last_year_line_in_grey() -> None:
    with_ly = trend_svg(TrendData(LABELS, VALUES, None, money, LAST_YEAR))
    without = trend_svg(TrendData(LABELS, VALUES, None, money))
    assert f"stroke: {charts.LAST_YEAR}" in with_ly
    assert f"stroke: {charts.LAST_YEAR}" not in without


def test_trend_legend_fits_at_print_width() -> None:
    """At 3.3 in, the three legend entries sit in one row inside the chart."""
    root = parse(trend_svg(TrendData(LABELS, VALUES, 520.0, money, LAST_YEAR)))
    legend = [t for t in root.iter(f"{SVG}text") if "".join(t.itertext()) in ("this year", "last year", "target")]
    xs = [float(t.get("x")) for t in legend]
    assert len({t.get("y") for t in legend}) == 1
    assert xs == sorted(xs)
    last_label_width = charts._text_width_in("target", charts.LEGEND_SIZE) * 72
    assert xs[-1] + last_label_width < width_pt(root)
    assert all("font-size: 6.5px" in t.get("style") for t in legend)


def test_trend_gaps_do_not_crash() -> None:
    gappy = (None, 420.5, None, 455.0, 470.0, None, None, 510.0, 495.0, 530.0, 545.0, None)
    for data in (
        TrendData(LABELS, gappy, 500.0, money, (None, 1.0) * 6),
        TrendData(LABELS, (None,) * 12, None, money, (None,) * 12),
        TrendData(LABELS, (None,) * 12, 500.0, money),
        TrendData(LABELS, (7.0,) * 12, 7.0, money),  # flat line on the target
        TrendData(LABELS[-1:], (3.0,), None, money),
        TrendData((), (), None, money),
    ):
        root = parse(trend_svg(data))
        assert root.find(f".//{SVG}g") is not None
    # the line breaks at a gap: a new "M" move inside the series path
    root = parse(trend_svg(TrendData(LABELS, gappy, None, money)))
    series = [p for p in root.iter(f"{SVG}path") if f"stroke: {charts.ACCENT}" in p.get("style", "")
              and "stroke-width: 1.6" in p.get("style", "")]
    assert any(p.get("d").count("M") >= 3 for p in series)
    # no made-up numbers on an empty chart
    empty = texts(parse(trend_svg(TrendData(LABELS, (None,) * 12, None, money))))
    assert not any(label.startswith("DKK") for label in empty)


def test_trend_keeps_the_old_signature_and_checks_lengths() -> None:
    data = TrendData(LABELS, VALUES, None, lambda v: f"{v:.0f} %")  # four positional fields, as before
    assert data.last_year is None
    assert "%" in "".join(texts(parse(trend_svg(data, width_in=2.5, height_in=1.2))))
    with pytest.raises(ValueError, match="last_year"):
        trend_svg(TrendData(LABELS, VALUES, None, money, LAST_YEAR[:-1]))
    with pytest.raises(ValueError, match="labels"):
        trend_svg(TrendData(LABELS[:-1], VALUES, None, money))


def test_trend_is_deterministic_and_canvas_reuse_leaves_no_trace() -> None:
    a = TrendData(LABELS, VALUES, 520.0, money, LAST_YEAR)
    first = trend_svg(a)
    assert trend_svg(a) == first
    trend_svg(TrendData(LABELS, tuple(v * 1000 for v in VALUES), None, money))  # other chart in between
    sparkline_svg((1.0, 2.0, 3.0), width_in=3.3, height_in=1.35)  # same canvas size, other kind
    assert trend_svg(a) == first
    charts._CANVASES.clear()  # a fresh figure draws the same bytes
    assert trend_svg(a) == first


def test_no_duplicate_ids_when_inlined_many_times() -> None:
    """Group ids are stripped; what is left are content-hashed defs that `use` refers to."""
    for svg in (trend_svg(TrendData(LABELS, VALUES, 520.0, money, LAST_YEAR)), sparkline_svg(VALUES),
                bullet_svg(0.5, 0.4, "on_track")):
        root = parse(svg)
        ids = {el.get("id") for el in root.iter() if el.get("id")}
        referenced = {el.get("{http://www.w3.org/1999/xlink}href", "").lstrip("#") for el in root.iter(f"{SVG}use")}
        assert ids <= referenced, ids - referenced


def test_trend_is_small_and_has_no_date() -> None:
    svg = trend_svg(TrendData(LABELS, VALUES, 520.0, money, LAST_YEAR))
    assert len(svg) < 12_000, len(svg)
    assert "<metadata" not in svg and "dc:date" not in svg
    assert "<image" not in svg and "clipPath" not in svg


# -- sparkline ---------------------------------------------------------------------
def test_sparkline_is_a_bare_line_with_the_last_point_marked() -> None:
    svg = sparkline_svg(VALUES)
    root = parse(svg)
    assert texts(root) == []  # no axes, no labels
    assert root.get("width") == "64.8pt" and root.get("height") == "18pt"  # 0.9 x 0.25 in
    uses = list(root.iter(f"{SVG}use"))
    assert len(uses) == 1  # one dot, on the last value
    line = next(p for p in root.iter(f"{SVG}path") if "fill: none" in p.get("style", ""))
    last_x = float(re.findall(r"(-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?)", line.get("d"))[-1][0])
    assert math.isclose(float(uses[0].get("x")), last_x, abs_tol=0.01)
    assert len(svg) < 3_000, len(svg)


def test_sparkline_gaps_and_edge_cases() -> None:
    gappy = (1.0, None, 3.0, None, 2.0, 2.5, None)
    root = parse(sparkline_svg(gappy, width_in=1.2, height_in=0.3))
    uses = list(root.iter(f"{SVG}use"))
    # the lone 1.0 and 3.0 get a small dot each, the last number (2.5) the end dot, though a gap follows it
    assert len(uses) == 3
    end_dot = uses[-1]
    line = next(p for p in root.iter(f"{SVG}path") if "fill: none" in p.get("style", ""))
    segment_ends = re.findall(r"L (-?\d+(?:\.\d+)?) ", line.get("d"))
    assert math.isclose(float(end_dot.get("x")), float(segment_ends[-1]), abs_tol=0.01)
    for values in ((None,) * 5, (), (4.0,), (2.0, 2.0, 2.0), [1, None, 2]):
        parse(sparkline_svg(values))


def test_sparkline_is_deterministic() -> None:
    values = (3.0, None, 4.5, 4.0, 5.5)
    first = sparkline_svg(values)
    charts._sparkline_svg.cache_clear()
    assert sparkline_svg(values) == first
    charts._CANVASES.clear()
    charts._sparkline_svg.cache_clear()
    assert sparkline_svg(values) == first


# -- bullet ------------------------------------------------------------------------
def bar_width(svg: str, status: str) -> float:
    bars = filled_paths(parse(svg), STATUS_COLORS[status])
    assert len(bars) == 1, svg
    return x_extent(bars[0])


def test_bullet_is_valid_svg_with_band_bar_and_marker() -> None:
    svg = bullet_svg(0.62, 0.5, "on_track")
    root = parse(svg)
    assert root.get("width") == "115.2pt" and root.get("height") == "15.84pt"  # 1.6 x 0.22 in
    band = filled_paths(root, charts.BAND)
    assert len(band) == 1
    assert filled_paths(root, STATUS_COLORS["on_track"])
    markers = [p for p in root.iter(f"{SVG}path") if f"stroke: {charts.INK}" in p.get("style", "")]
    assert len(markers) == 1
    marker_x = float(markers[0].get("d").split()[1])
    band_x0 = float(band[0].get("d").split()[1])
    assert math.isclose(marker_x - band_x0, 0.5 * x_extent(band[0]), rel_tol=0.01)
    assert len(svg) < 1_500, len(svg)


def test_bullet_bar_is_proportional_to_the_score() -> None:
    quarter = bar_width(bullet_svg(0.25, 0.5, "at_risk"), "at_risk")
    three_quarters = bar_width(bullet_svg(0.75, 0.5, "at_risk"), "at_risk")
    full_band = x_extent(filled_paths(parse(bullet_svg(0.75, 0.5, "at_risk")), charts.BAND)[0])
    assert math.isclose(three_quarters / quarter, 3.0, rel_tol=0.01)
    assert math.isclose(three_quarters, 0.75 * full_band, rel_tol=0.01)


@pytest.mark.parametrize("status", list(STATUS_COLORS))
def test_bullet_colour_by_status(status) -> None:
    svg = bullet_svg(0.5, 0.5, status)
    assert f"fill: {STATUS_COLORS[status]}" in svg
    others = set(STATUS_COLORS.values()) - {STATUS_COLORS[status]}
    assert not any(f"fill: {colour}" in svg for colour in others)


def test_bullet_accepts_the_status_enum_and_clamps() -> None:
    from pipeline.okrs.scoring import Status

    assert bullet_svg(0.4, 0.3, Status.OFF_TRACK) == bullet_svg(0.4, 0.3, "off_track")
    assert bullet_svg(1.7, 1.2, "achieved") == bullet_svg(1.0, 1.0, "achieved")
    assert bullet_svg(-0.3, -1, "not_started") == bullet_svg(0.0, 0.0, "not_started")
    assert bar_width(bullet_svg(float("nan"), 0.5, "not_started"), "not_started") == 0
    with pytest.raises(ValueError, match="unknown status"):
        bullet_svg(0.5, 0.5, "green")


def test_bullet_is_deterministic() -> None:
    first = bullet_svg(0.33, 0.6, "at_risk")
    charts._bullet_svg.cache_clear()
    charts._CANVASES.clear()
    assert bullet_svg(0.33, 0.6, "at_risk") == first
