"""Charts for the dashboard, drawn on the server as inline SVG: nothing to download, no
script, readable on a phone (the drawing scales to the page's width) and by a screen
reader (`<title>` and `<desc>`; the same numbers are always in the table next to it).

Pure functions, data in, markup out:

    bar_chart("by-mutual", "Persons by mutual", "3 mutuals", [
        Bar("MS-PARAKOU", 6, "6"), Bar("MS-KANDI", 2, "2"),
    ])
    series_chart("per-day", "Households per day", "2026-11-01 to 2026-11-30", [
        Point("2026-11-01", 0, "0"), Point("2026-11-02", 1, "1"), ...
    ])

Colours come from classes styled in `static/admin.css`, so the charts follow the
dashboard's palette and print well.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Bars: a drawing 400 units wide keeps 13-unit text legible once shrunk to a phone's width.
BAR_WIDTH = 400
BAR_LABEL = 130  # room for the labels on the left
BAR_VALUE = 90  # room for the value written after each bar: "12 600 FCFA"
BAR_ROW = 26
LABEL_CHARS = 18  # longer labels are cut, whole in the bar's tooltip and in the table
# Series: one column per day or week of the period (at most 400, see stats.filters).
SERIES_WIDTH = 600
SERIES_HEIGHT = 200
SERIES_LEFT = 48  # room for the scale
SERIES_BOTTOM = 22  # room for the first and last dates
SERIES_TOP = 10


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as the page writes it ("1 575 FCFA", "41,2 %")
    total: float | None = None  # drawn pale behind the bar: "paid out of due"


@dataclass(frozen=True)
class Point:
    label: str  # the bucket's date
    value: float
    shown: str


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 × 10ⁿ at or above `value`: a scale people read at once."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def bar_chart(chart_id: str, title: str, description: str, bars: Sequence[Bar]) -> Markup:
    """Horizontal bars, one per row, longest scale on the largest value (or total)."""
    height = max(len(bars), 1) * BAR_ROW + 4
    parts = [_open(chart_id, title, description, BAR_WIDTH, height, "chart chart-bars")]
    if not bars:
        parts.append(_empty(BAR_WIDTH, height))
    top = max(max(bar.value, bar.total or 0) for bar in bars) if bars else 0
    room = BAR_WIDTH - BAR_LABEL - BAR_VALUE
    for row, bar in enumerate(bars):
        y = row * BAR_ROW + 2
        middle = y + BAR_ROW / 2
        parts.append(f'<g class="bar-row"><title>{escape(bar.label)}: {escape(bar.shown)}</title>')
        parts.append(
            f'<text class="label" x="{BAR_LABEL - 6}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_cut(bar.label))}</text>'
        )
        if bar.total:
            parts.append(_rect("total", BAR_LABEL, y + 4, _share(bar.total, top, room), 18))
        width = _share(bar.value, top, room)
        if width > 0:
            parts.append(_rect("bar", BAR_LABEL, y + 4, width, 18))
        end = BAR_LABEL + max(width, _share(bar.total or 0, top, room)) + 4
        parts.append(
            f'<text class="value" x="{end:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="middle">{escape(bar.shown)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def series_chart(chart_id: str, title: str, description: str, points: Sequence[Point]) -> Markup:
    """One column per bucket over a scale from 0; the first and last dates underneath."""
    parts = [_open(chart_id, title, description, SERIES_WIDTH, SERIES_HEIGHT, "chart chart-series")]
    plot_height = SERIES_HEIGHT - SERIES_TOP - SERIES_BOTTOM
    base = SERIES_TOP + plot_height
    room = SERIES_WIDTH - SERIES_LEFT - 4
    if not points:
        parts.append(_empty(SERIES_WIDTH, SERIES_HEIGHT))
        parts.append("</svg>")
        return Markup("".join(parts))
    top = nice_ceiling(max(point.value for point in points))
    # A half mark only where it is a whole number: half a household means nothing.
    for level in (top, top / 2) if top >= 2 else (top,):
        y = base - plot_height * level / top
        parts.append(
            f'<line class="grid" x1="{SERIES_LEFT}" y1="{y:.1f}" x2="{SERIES_WIDTH - 4}" '
            f'y2="{y:.1f}"/><text class="scale" x="{SERIES_LEFT - 4}" y="{y:.1f}" '
            f'text-anchor="end" dominant-baseline="middle">{_scale(level)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{SERIES_LEFT}" y1="{base}" x2="{SERIES_WIDTH - 4}" y2="{base}"/>'
    )
    step = room / len(points)
    gap = min(2.0, step * 0.2)
    for index, point in enumerate(points):
        height = plot_height * point.value / top
        x = SERIES_LEFT + index * step + gap / 2
        parts.append(f"<g><title>{escape(point.label)}: {escape(point.shown)}</title>")
        # A zero still gets a hairline, so that a day without enrolment is seen as a day.
        parts.append(
            _rect("bar", x, base - max(height, 0.5), max(step - gap, 0.5), max(height, 0.5))
        )
        parts.append("</g>")
    for anchor, point, x in (
        ("start", points[0], SERIES_LEFT),
        ("end", points[-1], SERIES_WIDTH - 4),
    ):
        parts.append(
            f'<text class="scale" x="{x}" y="{SERIES_HEIGHT - 6}" '
            f'text-anchor="{anchor}">{escape(point.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(chart_id: str, title: str, description: str, width: int, height: int, kind: str) -> str:
    key = escape(chart_id)
    return (
        f'<svg class="{kind}" id="{key}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{key}-title {key}-desc" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(description)}</desc>'
    )


def _empty(width: int, height: int) -> str:
    return (
        f'<text class="empty" x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
        f'dominant-baseline="middle">—</text>'
    )


def _rect(kind: str, x: float, y: float, width: float, height: float) -> str:
    return (
        f'<rect class="{kind}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}"/>'
    )


def _share(value: float, top: float, room: float) -> float:
    return room * value / top if top > 0 else 0.0


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _scale(value: float) -> str:
    """A scale mark, short: 500, 2k, 1.5M."""
    for limit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"
