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
    return [p for p in root.iter(f"{SVG}path") if p.get("fill") == colour]


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
    assert all("DejaVu Sans" in t.get("font-family", "") for t in root.iter(f"{SVG}text"))
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
    assert f'stroke="{charts.LAST_YEAR}"' in with_ly
    assert f'stroke="{charts.LAST_YEAR}"' not in without


def test_trend_legend_fits_at_print_width() -> None:
    """At 3.3 in, the three legend entries sit in one row inside the chart."""
    root = parse(trend_svg(TrendData(LABELS, VALUES, 520.0, money, LAST_YEAR)))
    legend = [t for t in root.iter(f"{SVG}text") if "".join(t.itertext()) in ("this year", "last year", "target")]
    xs = [float(t.get("x")) for t in legend]
    assert len({t.get("y") for t in legend}) == 1
    assert xs == sorted(xs)
    last_label_width = charts._text_width_in("target", charts.LEGEND_SIZE) * 72
    assert xs[-1] + last_label_width < width_pt(root)
    assert all(t.get("font-size") == "6.5px" for t in legend)


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
        assert root.find(f".//{SVG}path") is not None
    # the line breaks at a gap: a new "M" move inside the series path
    root = parse(trend_svg(TrendData(LABELS, gappy, None, money)))
    series = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == charts.ACCENT
              and p.get("stroke-width") == "1.6"]
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
    line = next(p for p in root.iter(f"{SVG}path") if p.get("fill") == "none")
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
    line = next(p for p in root.iter(f"{SVG}path") if p.get("fill") == "none")
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
    markers = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == charts.INK]
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
    assert f'fill="{STATUS_COLORS[status]}"' in svg
    others = set(STATUS_COLORS.values()) - {STATUS_COLORS[status]}
    assert not any(f'fill="{colour}"' in svg for colour in others)


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


# -- one axis, one unit; nothing below zero that is not there -----------------------
def tick_texts(root: ET.Element) -> list[str]:
    """The y tick labels: the texts at the left edge, right-aligned."""
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]


def percent_axis(ticks: list[float]) -> list[str]:
    from pipeline.config import Unit
    from pipeline.report.formatting import NumberStyle, axis_labels

    return axis_labels(ticks, NumberStyle(Unit.PERCENT, 1, "en"))


@pytest.mark.parametrize("values", [
    (0.0,) * 12,  # a late rate of 0 every month: was -40 %..40 %
    (0.0, 0.01, 0.0, 0.02, 0.0, 0.0, 0.03, 0.0, 0.01, 0.0, 0.0, 0.01),
    (0.001, 0.002, 0.001, 0.0, 0.003, 0.001, 0.002, 0.001, 0.0, 0.002, 0.001, 0.004),
])
def test_a_rate_axis_does_not_go_below_zero_unless_a_value_does(values):
    labels = tick_texts(parse(trend_svg(TrendData(LABELS, values, None, money, axis_format=percent_axis))))
    assert labels and not any(label.startswith(("-", "\u2212")) for label in labels), labels
    assert labels[0].startswith("0")
    negative = tick_texts(parse(trend_svg(TrendData(LABELS, (-0.02,) + values[1:], None, money,
                                                     axis_format=percent_axis))))
    assert negative[0].startswith("-") or negative[0].startswith("\u2212"), negative


def test_a_count_axis_has_whole_ticks():
    labels = tick_texts(parse(trend_svg(TrendData(LABELS, (0.0,) * 11 + (1.0,), None, lambda v: f"{v:g}",
                                                  whole_ticks=True))))
    assert labels == ["0", "1"]


def test_a_duration_axis_is_labelled_in_one_unit_on_round_numbers():
    from pipeline.config import Unit
    from pipeline.report.formatting import NumberStyle, axis_labels

    style = NumberStyle(Unit.DURATION, 1, "en")
    hours = (45.0, 47.5, 52.0, 44.0, 60.0, 46.0, 49.0, 45.5, 47.0, 51.0, 46.7, 52.8)  # 1.8 d .. 2.5 d
    labels = tick_texts(parse(trend_svg(TrendData(LABELS, hours, None, money, axis_scale=24.0,
                                                  axis_format=lambda ticks: axis_labels(ticks, style, 24.0)))))
    assert labels and all(label.endswith("\u00a0d") for label in labels), labels  # never "45.0 h" beside "2.5 d"
    assert all(len(label.split(".")[-1]) <= 3 for label in labels), labels  # 2.0 d, 2.5 d: not 1.875 d


def test_low_sample_values_are_hollow_and_explained():
    flags = (False,) * 11 + (True,)
    svg = trend_svg(TrendData(LABELS, VALUES, None, money, low_sample=flags))
    assert "low sample" in texts(parse(svg))
    assert 'fill="#ffffff"' in svg  # the hollow marker (white inside), in the chart and the legend
    plain = trend_svg(TrendData(LABELS, VALUES, None, money, low_sample=(False,) * 12))
    assert "low sample" not in texts(parse(plain)) and 'fill="#ffffff"' not in plain
    with pytest.raises(ValueError, match="low_sample"):
        trend_svg(TrendData(LABELS, VALUES, None, money, low_sample=(True,)))


# -- compact SVG -------------------------------------------------------------------
COMPACT = charts.compact_svg  # raw_charts replaces the module's own
DRAWN = {"path", "use", "text", "rect", "circle", "line", "polyline", "polygon", "ellipse", "image"}


def drawing(svg: str) -> list[tuple]:
    """What each drawn element draws: its geometry, its effective presentation properties (own style over the
    stylesheet's `*` rule over own attributes over inherited), the transforms and clips of its groups, its text."""
    root = ET.fromstring(svg)
    universal = {}
    for style in root.iter(f"{SVG}style"):
        match = re.match(r"\s*\*\s*\{([^}]*)\}\s*$", style.text or "")
        assert match, style.text  # matplotlib writes one universal rule
        universal = dict(charts._declarations(match.group(1)))
    out: list[tuple] = []

    def own(el) -> dict[str, str]:
        props = {k: v for k, v in el.attrib.items() if k in charts.PRESENTATION}
        props.update(universal)
        props.update(dict(charts._declarations(el.get("style", ""))))
        return props

    def walk(el, inherited: dict[str, str], chain: tuple) -> None:
        props = {**inherited, **own(el)}
        transform = el.get("transform", "")
        if re.fullmatch(r"rotate\(-?0 [-\d.e]+ [-\d.e]+\)", transform):
            transform = ""  # a rotation by 0 degrees
        if el.tag == f"{SVG}g" and (transform or el.get("clip-path")):
            chain = (*chain, (transform, el.get("clip-path", "")))
        tag = el.tag.removeprefix(SVG)
        if tag in DRAWN:
            geometry = {k: " ".join(v.split()) for k, v in el.attrib.items()
                        if k not in charts.PRESENTATION and k not in ("style", "transform")}
            out.append((tag, sorted(geometry.items()), sorted(props.items()), transform, chain,
                        "".join(el.itertext()) if tag == "text" else ""))
        if tag != "defs":
            for child in el:
                walk(child, props, chain)

    walk(root, {}, ())
    return out


def raw_charts(monkeypatch) -> list[str]:
    """matplotlib's own SVG for each kind of chart, before compact_svg."""
    monkeypatch.setattr(charts, "compact_svg", lambda svg: svg)
    charts._sparkline_svg.cache_clear()
    charts._bullet_svg.cache_clear()
    try:
        return [
            trend_svg(TrendData(LABELS, VALUES, 520.0, money, LAST_YEAR, low_sample=(False,) * 11 + (True,))),
            trend_svg(TrendData(LABELS, (None, 3.0) * 6, None, money)),
            sparkline_svg(VALUES),
            bullet_svg(0.4, 0.5, "at_risk"),
        ]
    finally:
        charts._sparkline_svg.cache_clear()
        charts._bullet_svg.cache_clear()


def test_compact_svg_draws_exactly_what_matplotlib_drew(monkeypatch) -> None:
    for raw in raw_charts(monkeypatch):
        compact = COMPACT(raw)
        assert drawing(compact) == drawing(raw)
        assert len(compact) < len(raw)
        root = parse(compact)
        assert not list(root.iter(f"{SVG}style")) and not any(el.get("style") for el in root.iter())
        assert not [g for g in root.iter(f"{SVG}g") if not g.attrib]  # groups that did nothing are gone
        assert root.get("stroke-linejoin") == "round"  # the stylesheet's rule, inherited from the root


def test_compact_svg_keeps_what_attributes_cannot_say() -> None:
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><style>rect{fill: red}</style>'
           '</defs><g transform="translate(1 1)"><g><rect width="2" height="2" fill="blue" '
           'style="fill: green; mix-blend-mode: multiply"/></g></g>'
           '<text x="1" y="9" transform="rotate(-0 1 9)"> a  b </text></svg>')
    root = parse(charts.compact_svg(svg))
    assert root.find(f"{SVG}defs/{SVG}style").text == "rect{fill: red}"  # not the universal rule: kept
    group = root.find(f"{SVG}g")
    assert group.get("transform") == "translate(1 1)"  # a group that moves its content stays
    rect = group.find(f"{SVG}rect")  # the group without attributes around it is gone
    assert rect.get("fill") == "green"  # a style declaration wins over the attribute
    assert rect.get("style") == "mix-blend-mode: multiply"  # no attribute for it: stays a style
    text = root.find(f"{SVG}text")
    assert text.text == " a  b " and text.get("transform") is None
