"""The SVG chart builders: well-formed, accessible, proportional, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gateway.staff.charts import (
    BAR_LABEL,
    BAR_VALUE,
    BAR_WIDTH,
    Bar,
    Point,
    bar_chart,
    nice_ceiling,
    series_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def rects(svg: ET.Element, kind: str) -> list[ET.Element]:
    return [rect for rect in svg.iter(f"{SVG}rect") if rect.get("class") == kind]


def test_a_bar_chart_is_named_for_screen_readers() -> None:
    svg = parsed(bar_chart("by-mutual", "Persons by mutual", "2 bars", [Bar("MS-KANDI", 2, "2")]))

    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "by-mutual-title by-mutual-desc"
    assert svg.find(f"{SVG}title").text == "Persons by mutual"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}desc").text == "2 bars"  # type: ignore[union-attr]


def test_bars_are_proportional_to_the_largest_value() -> None:
    svg = parsed(bar_chart("c", "t", "d", [Bar("a", 6, "6"), Bar("b", 3, "3"), Bar("c", 0, "0")]))

    widths = [float(rect.get("width", 0)) for rect in rects(svg, "bar")]
    room = BAR_WIDTH - BAR_LABEL - BAR_VALUE
    assert widths == [room, room / 2]  # a zero draws no bar, only its label and value
    values = [text.text for text in svg.iter(f"{SVG}text") if text.get("class") == "value"]
    assert values == ["6", "3", "0"]


def test_a_bar_over_its_total_shows_paid_out_of_due() -> None:
    svg = parsed(
        bar_chart(
            "c", "t", "d", [Bar("MS-PARAKOU", 5725, "5 725", total=8225), Bar("x", 0, "0", 0)]
        )
    )

    (total,) = rects(svg, "total")
    (paid,) = rects(svg, "bar")
    assert float(total.get("width", 0)) == pytest.approx(BAR_WIDTH - BAR_LABEL - BAR_VALUE)
    assert float(paid.get("width", 0)) / float(total.get("width", 1)) == pytest.approx(
        5725 / 8225, abs=0.001
    )


def test_labels_are_escaped_and_long_ones_cut() -> None:
    markup = bar_chart(
        "c",
        "<b>t</b>",
        "d",
        [Bar("<script>alert(1)</script>", 1, "1"), Bar("Mutuelle de Bembèrèkè", 2, "2")],
    )
    svg = parsed(markup)

    assert "<script>" not in markup and "&lt;script&gt;" in markup
    labels = [text.text for text in svg.iter(f"{SVG}text") if text.get("class") == "label"]
    assert labels[1] == "Mutuelle de Bembè…"
    tooltips = [title.text for title in svg.iter(f"{SVG}title")]
    assert "Mutuelle de Bembèrèkè: 2" in tooltips  # whole in the tooltip


def test_an_empty_chart_says_so() -> None:
    bars = parsed(bar_chart("c", "t", "d", []))
    series = parsed(series_chart("s", "t", "d", []))

    for svg in (bars, series):
        assert not rects(svg, "bar")
        assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "empty"] == ["—"]


def test_a_series_has_one_column_per_bucket_on_a_round_scale() -> None:
    points = [
        Point(f"2026-11-{day:02d}", value, str(value))
        for day, value in zip(range(1, 8), [0, 3, 7, 0, 1, 0, 2], strict=True)
    ]

    svg = parsed(series_chart("per-day", "Households per day", "7 days", points))

    columns = rects(svg, "bar")
    assert len(columns) == 7
    heights = [float(rect.get("height", 0)) for rect in columns]
    assert heights[2] == max(heights)
    assert heights[0] == 0.5  # a hairline for a day without any
    assert heights[1] / heights[2] == pytest.approx(3 / 7)
    scale = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "scale"]
    assert scale[:2] == ["10", "5"]  # 7 rounds up to 10
    assert scale[-2:] == ["2026-11-01", "2026-11-07"]
    tooltips = [title.text for title in svg.iter(f"{SVG}title")]
    assert "2026-11-03: 7" in tooltips


def test_a_long_series_stays_inside_its_drawing() -> None:
    points = [Point(str(n), n % 5, str(n % 5)) for n in range(400)]

    svg = parsed(series_chart("long", "t", "d", points))

    right = max(float(rect.get("x", 0)) + float(rect.get("width", 0)) for rect in rects(svg, "bar"))
    assert right <= 600
    assert len(rects(svg, "bar")) == 400


def test_money_scales_read_short() -> None:
    svg = parsed(series_chart("m", "t", "d", [Point("a", 1_350_000, "1 350 000 FCFA")]))

    scale = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "scale"]
    assert scale[:2] == ["2M", "1M"]


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [
        (0, 1),
        (1, 1),
        (3, 5),
        (7, 10),
        (10, 10),
        (11, 20),
        (0.3, 0.5),
        (12025, 20000),
        (50001, 100000),
    ],
)
def test_nice_ceiling(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_a_scale_of_one_has_no_half_mark() -> None:
    svg = parsed(series_chart("one", "t", "d", [Point("a", 1, "1"), Point("b", 0, "0")]))

    scale = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "scale"]
    assert scale == ["1", "a", "b"]
