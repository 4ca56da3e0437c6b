"""KPI trend charts as SVG, drawn by matplotlib.

Text stays text in the SVG (svg.fonttype = none), so it is selectable and
searchable in the PDF. Output is deterministic (fixed hash salt, no date
metadata), so re-running a report gives byte-identical HTML.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

INK = "#1f2933"
MUTED = "#7b8794"
ACCENT = "#1d4ed8"
TARGET = "#d97706"

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "pulse",
    "font.family": "DejaVu Sans",
    "font.size": 7,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
}


@dataclass(frozen=True)
class TrendData:
    """What a trend chart shows: labels, values (None = gap), target, tick text."""

    labels: tuple[str, ...]
    values: tuple[float | None, ...]
    target: float | None
    tick_format: object  # callable(float) -> str


def trend_svg(data: TrendData, width_in: float = 3.3, height_in: float = 1.35) -> str:
    """A small line chart of the series with an optional dashed target line."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(width_in, height_in))
        try:
            xs = list(range(len(data.values)))
            ys = [float("nan") if v is None else v for v in data.values]
            ax.plot(xs, ys, color=ACCENT, linewidth=1.6, marker="o", markersize=2.2)
            if ys and ys[-1] == ys[-1]:
                ax.plot([xs[-1]], [ys[-1]], marker="o", markersize=4, color=ACCENT)
            if data.target is not None:
                ax.axhline(data.target, color=TARGET, linewidth=1, linestyle=(0, (4, 2)), label="target")
            ax.set_xticks(xs)
            ax.set_xticklabels([_short(label) if i % 2 == (len(xs) - 1) % 2 else "" for i, label in enumerate(data.labels)])
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: data.tick_format(v)))
            ax.yaxis.set_major_locator(plt.MaxNLocator(3))
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            ax.grid(axis="y", color="#e4e7eb", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.tick_params(length=0, pad=2)
            ax.margins(x=0.03)
            fig.tight_layout(pad=0.3)
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "Pulse"})
        finally:
            plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def _short(label: str) -> str:
    """'2026-10' -> '10/26'; other labels unchanged but shortened."""
    if len(label) == 7 and label[4] == "-" and label[5:].isdigit():
        return f"{label[5:]}/{label[2:4]}"
    return label[2:] if len(label) > 6 else label
