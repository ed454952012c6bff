"""The SVG charts: data land where they must in the SVG, axes are nice, texts are safe."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import credit.charts.svg as charts
from credit.charts.svg import (
    CHART_CSS,
    BarSeries,
    ReferenceLine,
    Series,
    bar_chart,
    format_exact,
    format_value,
    horizontal_bar_chart,
    line_chart,
    nice_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def plot_area(root: ET.Element) -> tuple[float, float, float, float]:
    """Left, top, right, bottom of the plot, as the chart reports them."""
    (rect,) = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "plot-area"]
    left, top = float(rect.get("x")), float(rect.get("y"))
    return left, top, left + float(rect.get("width")), top + float(rect.get("height"))


def by_class(root: ET.Element, tag: str, css_class: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if css_class in (e.get("class") or "").split()]


def tooltip(element: ET.Element) -> str:
    return element.find(f"{SVG}title").text


def texts(root: ET.Element, css_class: str) -> list[str]:
    return [e.text for e in by_class(root, "text", css_class)]


def line_path(root: ET.Element, series_index: int = 0) -> str:
    (path,) = by_class(root, "path", f"series-{series_index}")
    return path.get("d")


def sub_paths(d: str) -> list[list[tuple[str, list[float]]]]:
    """Path data as sub-paths of (command, numbers)."""
    commands = [(c, [float(n) for n in args.split()]) for c, args in re.findall(r"([MLHV])([^MLHV]*)", d)]
    result: list[list[tuple[str, list[float]]]] = []
    for command in commands:
        if command[0] == "M":
            result.append([])
        result[-1].append(command)
    return result


# --------------------------------------------------------------------------- nice ticks


def test_ticks_of_0_to_0_034_by_hand():
    # Heckbert with 5 ticks: range = nicenum(0.034, loose) -> 3.4e-2, f = 3.4 <= 5 -> 0.05;
    # step = nicenum(0.05 / 4 = 0.0125, rounded) -> f = 1.25 < 1.5 -> 0.01;
    # from floor(0 / 0.01) * 0.01 = 0 to ceil(0.034 / 0.01) * 0.01 = 0.04; 2 decimals.
    ticks = nice_ticks(0, 0.034, 5)
    assert ticks.values == tuple(Decimal(v) for v in ("0", "0.01", "0.02", "0.03", "0.04"))
    assert ticks.step == Decimal("0.01")
    assert ticks.fraction_digits == 2


def test_ticks_of_0_to_0_034_with_eleven_ticks_step_by_half_percent():
    # range 0.05 as above; step = nicenum(0.05 / 10 = 0.005, rounded) -> f = 5 < 7 -> 0.005;
    # ceil(0.034 / 0.005) = 7 -> last tick 0.035; 3 decimals.
    ticks = nice_ticks(0, 0.034, 11)
    assert ticks.values == tuple(Decimal("0.005") * i for i in range(8))
    assert ticks.fraction_digits == 3


def test_ticks_of_0_to_100_by_hand():
    # range = nicenum(100, loose): f = 1 <= 1 -> 100; step = nicenum(25, rounded): f = 2.5 < 3 -> 20.
    assert nice_ticks(0, 100, 5).values == tuple(Decimal(v) for v in (0, 20, 40, 60, 80, 100))


def test_ticks_across_zero_by_hand():
    # range = nicenum(11.9, loose): f = 1.19 <= 2 -> 20; step = nicenum(5, rounded): f = 5 < 7 -> 5;
    # floor(-3.7 / 5) * 5 = -5, ceil(8.2 / 5) * 5 = 10.
    assert nice_ticks(-3.7, 8.2, 5).values == tuple(Decimal(v) for v in (-5, 0, 5, 10))


def test_ticks_are_exact_decimals():
    # 0.1 * 3 in floats is 0.30000000000000004; the ticks are computed in Decimal.
    # range = nicenum(0.3, loose) = 0.5; step = nicenum(0.125, rounded): f = 1.25 -> 0.1.
    assert nice_ticks(0, 0.3, 5).values == tuple(Decimal(v) for v in ("0", "0.1", "0.2", "0.3"))


def test_ticks_of_a_single_value_surround_it():
    ticks = nice_ticks(5, 5, 5)
    assert ticks.values[0] < 5 < ticks.values[-1]
    assert nice_ticks(0, 0, 5).values[0] == 0


def test_ticks_respect_a_minimum_step():
    # 0..3 minor units with 11 ticks: range 5, step = nicenum(0.5, rounded) = 0.5, half a cent,
    # which money never shows.
    assert nice_ticks(0, 3, 11).step == Decimal("0.5")
    assert nice_ticks(0, 3, 11, min_step=1).step == 1


@pytest.mark.parametrize(("minimum", "maximum", "count"), [(0, 1, 1), (2, 1, 5), (0, float("inf"), 5)])
def test_ticks_refuse_bad_arguments(minimum, maximum, count):
    with pytest.raises(ValueError):
        nice_ticks(minimum, maximum, count)


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(("value", "value_format", "expected"), [
    (0.034, "percent", "3.4%"),
    (0.1, "percent", "10.0%"),
    (-0.0125, "percent", "-1.2%"),
    (1_234_567, "money", "12.3k"),          # 12,345.67 EUR
    (123_456_789, "money", "1.2M"),         # 1,234,567.89 EUR
    (1_200_000_00, "money", "1.2M"),
    (99_996_000, "money", "1M"),            # 999,960 EUR rounds to 1000.0k: promoted to 1M
    (95_000, "money", "950"),
    (1_250, "money", "12.50"),
    (-5_000_000, "money", "-50k"),
    (0.12345, "ratio", "0.123"),
    (1234.5, "number", "1,234.5"),
    (1234, "number", "1,234"),
    (None, "number", "n/a"),
    (float("nan"), "percent", "n/a"),
])
def test_format_value(value, value_format, expected):
    assert format_value(value, value_format) == expected


@pytest.mark.parametrize(("value", "value_format", "currency", "expected"), [
    (1_234_567, "money", "EUR", "EUR 12,345.67"),    # as api.console writes money: code first
    (-5, "money", "EUR", "EUR -0.05"),
    (1_234_567, "money", "JPY", "JPY 1,234,567"),
    (1_234_567.0, "money", "EUR", "EUR 12,345.67"),   # an int column with NaNs arrives as floats
    (0.034285, "percent", "EUR", "3.43%"),
    (0.123456, "number", "EUR", "0.1235"),
    (0.1, "ratio", "EUR", "0.100"),
])
def test_format_exact(value, value_format, currency, expected):
    assert format_exact(value, value_format, currency=currency) == expected


def test_money_from_a_pandas_column_is_exact():
    import numpy as np

    amounts = np.array([1_234_567, 9_007_199_254_740_993], dtype=np.int64)  # the second is 2**53 + 1
    assert format_exact(amounts[0], "money") == "EUR 12,345.67"
    assert format_exact(amounts[1], "money") == "EUR 90,071,992,547,409.93"  # a float would end in .92
    root = parse(bar_chart(["A", "B"], [BarSeries("Drawn", list(amounts))], title="t", y_label="y", y_format="money"))
    assert [tooltip(r) for r in by_class(root, "rect", "bar")] == [
        "Drawn, A: EUR 12,345.67", "Drawn, B: EUR 90,071,992,547,409.93"]


def test_money_that_is_not_whole_minor_units_is_refused():
    with pytest.raises(ValueError, match="integer minor units"):
        format_value(12.5, "money")
    with pytest.raises(ValueError, match="integer minor units"):
        line_chart([Series("a", [("x", 12.5)])], title="t", y_label="y", y_format="money")


def test_unknown_format_and_currency_are_refused():
    with pytest.raises(ValueError, match="`y_format` must be one of"):
        line_chart([Series("a", [("x", 1)])], title="t", y_label="y", y_format="pct")
    with pytest.raises(ValueError, match="`currency`"):
        format_value(1, "money", currency="XXX")


# --------------------------------------------------------------------------- line chart


def test_value_50_on_a_0_to_100_axis_is_at_mid_plot():
    points = [(date(2024, 1, 1), 0.0), (date(2024, 1, 11), 50.0), (date(2024, 1, 21), 100.0)]
    root = parse(line_chart([Series("a", points)], title="t", y_label="y", height=300))
    left, top, right, bottom = plot_area(root)
    circles = by_class(root, "circle", "point")
    assert [float(c.get("cy")) for c in circles] == [bottom, round((top + bottom) / 2, 1), top]
    # The middle date sits halfway between the first and the last.
    xs = [float(c.get("cx")) for c in circles]
    assert xs[1] == pytest.approx((xs[0] + xs[2]) / 2, abs=0.1)
    assert left < xs[0] < xs[2] < right


def test_every_point_has_a_tooltip_with_its_exact_value():
    points = [(date(2024, 1, 1), 0.01234), (date(2024, 2, 1), None), (date(2024, 3, 1), 0.02)]
    root = parse(line_chart([Series("Default rate", points)], title="t", y_label="y", y_format="percent"))
    assert [tooltip(c) for c in by_class(root, "circle", "point")] == [
        "Default rate, 2024-01-01: 1.23%", "Default rate, 2024-03-01: 2%"]


def test_a_missing_value_breaks_the_line():
    points = [("a", 1.0), ("b", 2.0), ("c", None), ("d", 3.0), ("e", 4.0)]
    root = parse(line_chart([Series("s", points)], title="t", y_label="y"))
    paths = sub_paths(line_path(root))
    assert len(paths) == 2
    assert [len(p) for p in paths] == [2, 2]  # M L, M L: nothing bridges c
    assert len(by_class(root, "circle", "point")) == 4


def test_nan_is_a_gap_too():
    root = parse(line_chart([Series("s", [("a", 1.0), ("b", float("nan")), ("c", 3.0), ("d", 2.0)])],
                            title="t", y_label="y"))
    assert len(sub_paths(line_path(root))) == 1  # "a" alone draws no line, only its marker
    assert len(by_class(root, "circle", "point")) == 3


def test_a_step_series_holds_its_value_until_the_next_point():
    points = [(date(2024, 1, 1), 100.0), (date(2024, 3, 1), 200.0), (date(2024, 6, 1), 200.0)]
    root = parse(line_chart([Series("Credit limit", points, step=True)], title="t", y_label="y", y_min=0))
    (path,) = sub_paths(line_path(root))
    circles = by_class(root, "circle", "point")
    (x0, y0), (x1, y1) = [(float(c.get("cx")), float(c.get("cy"))) for c in circles[:2]]
    # From the first point, horizontally at the first value to the second date, then up.
    assert path[0] == ("M", [x0, y0])
    assert path[1] == ("H", [x1])
    assert path[2] == ("V", [y1])


def test_category_x_follows_first_appearance_across_series():
    first = Series("a", [("Q1", 1.0), ("Q2", 2.0)])
    second = Series("b", [("Q2", 1.0), ("Q3", 3.0)])
    root = parse(line_chart([first, second], title="t", y_label="y"))
    labels = texts(root, "tick-label")
    assert [label for label in labels if label.startswith("Q")] == ["Q1", "Q2", "Q3"]
    x_of_q2 = {tooltip(c).split(",")[0]: float(c.get("cx")) for c in by_class(root, "circle", "point")
               if "Q2" in tooltip(c)}
    assert x_of_q2["a"] == x_of_q2["b"]


def test_mixed_dates_and_categories_are_refused():
    with pytest.raises(ValueError, match="all be dates"):
        line_chart([Series("a", [(date(2024, 1, 1), 1.0), ("Q2", 2.0)])], title="t", y_label="y")


def test_numeric_x_places_each_point_by_its_value_on_nice_ticks():
    # a ROC-like curve: x 0..1 on a plot ~650 px wide asks for 9 ticks; Heckbert: span 1,
    # step nicenum(1 / 8 = 0.125, rounded) = 0.1, so 0%, 10%, ..., 100%
    points = [(0.0, 0.0), (0.25, 0.5), (1.0, 1.0)]
    root = parse(line_chart([Series("model", points)], title="t", y_label="TPR", y_format="percent",
                            x_format="percent"))
    left, _, right, _ = plot_area(root)
    x_labels = [t.text for t in by_class(root, "text", "tick-label") if t.get("text-anchor") == "middle"]
    assert x_labels == [f"{k}0%" if k else "0%" for k in range(11)]
    xs = [float(c.get("cx")) for c in by_class(root, "circle", "point")]
    assert xs == pytest.approx([left, left + 0.25 * (right - left), right], abs=0.1)
    assert [tooltip(c) for c in by_class(root, "circle", "point")] == [
        "model, 0%: 0%", "model, 25%: 50%", "model, 100%: 100%"]


def test_points_at_the_same_x_draw_a_vertical_segment_in_their_given_order():
    root = parse(line_chart([Series("KS", [(0.3, 0.2), (0.3, 0.7)])], title="t", y_label="y"))
    (path,) = sub_paths(line_path(root))
    assert path[0][1][0] == path[1][1][0]  # same x
    assert path[0][1][1] > path[1][1][1]  # from 0.2 (lower on the page) up to 0.7


def test_a_reference_series_is_a_dashed_guide_without_markers_outside_the_palette():
    diagonal = Series("chance", [(0.0, 0.0), (1.0, 1.0)], reference=True)
    models = [Series("a", [(0.0, 0.0), (0.5, 0.8), (1.0, 1.0)]), Series("b", [(0.0, 0.0), (0.5, 0.6), (1.0, 1.0)])]
    root = parse(line_chart([models[0], diagonal, models[1]], title="t", y_label="y"))
    assert [line_path_class(root, i) for i in range(3)] == ["line series-0", "line series-reference", "line series-1"]
    # markers (and their tooltips) only on the data: three points each for a and b
    assert {tooltip(c).split(",")[0] for c in by_class(root, "circle", "point")} == {"a", "b"}
    assert len(by_class(root, "circle", "point")) == 6
    swatches = [line.get("class") for line in by_class(root, "line", "swatch-line")]
    assert swatches == ["swatch-line series-0", "swatch-line series-reference", "swatch-line series-1"]
    assert ".chart .series-reference.line, .chart .series-reference.swatch-line { stroke-width: 1; " \
           "stroke-dasharray" in CHART_CSS


@pytest.mark.parametrize(("points", "message"), [
    ([(0.5, 1.0), ("Q2", 2.0)], "all numbers; got a mix"),
    ([(float("inf"), 1.0)], "x values must be finite"),
    ([(True, 1.0)], "got a mix"),
])
def test_bad_numeric_x_values_are_refused(points, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        line_chart([Series("a", points)], title="t", y_label="y")


def test_a_year_of_months_gets_month_ticks_with_the_year_where_it_changes():
    points = [(date(2024, m, 1), float(m)) for m in range(1, 13)] + [(date(2025, 1, 1), 13.0)]
    root = parse(line_chart([Series("s", points)], title="t", y_label="y"))
    month_labels = [t for t in texts(root, "tick-label") if not t[0].isdigit()]
    assert month_labels == ["Jan 2024", "Mar", "May", "Jul", "Sep", "Nov", "Jan 2025"]


def tick_positions(root: ET.Element) -> dict[str, float]:
    """Each x tick's label and where its tick mark is (the short axis lines below the plot)."""
    _, _, _, bottom = plot_area(root)
    marks = [float(line.get("x1")) for line in by_class(root, "line", "axis") if float(line.get("y2")) == bottom + 4]
    labels = [t for t in texts(root, "tick-label") if not t[0].isdigit() or " " in t]
    return dict(zip(labels[-len(marks):], marks, strict=True))


def test_two_months_of_monthly_data_get_one_tick_a_month_on_the_points_not_weekly_ticks():
    # "Credit-line applications by month" with two months: the two firsts of the month, on a 590 px chart
    points = [(date(2026, 11, 1), 0.2), (date(2026, 12, 1), 0.3)]
    root = parse(line_chart([Series("Declined", points)], title="t", y_label="y", width=590, height=230))
    ticks = tick_positions(root)
    assert list(ticks) == ["Nov 2026", "Dec"]
    assert sorted(ticks.values()) == sorted(float(c.get("cx")) for c in by_class(root, "circle", "point"))


def test_month_end_data_get_month_ticks_on_the_month_ends():
    points = [(date(2026, 10, 31), 1.0), (date(2026, 11, 30), 2.0), (date(2026, 12, 31), 3.0)]
    root = parse(line_chart([Series("Roll rate", points)], title="t", y_label="y", width=590, height=240))
    ticks = tick_positions(root)
    assert list(ticks) == ["Oct 2026", "Nov", "Dec"]
    assert sorted(ticks.values()) == sorted(float(c.get("cx")) for c in by_class(root, "circle", "point"))


def test_daily_data_over_a_month_keep_their_weekly_ticks():
    points = [(date(2026, 11, day), float(day)) for day in range(2, 31)]  # 2 Nov 2026 is a Monday
    root = parse(line_chart([Series("Exposure", points)], title="t", y_label="y", width=590, height=240))
    assert list(tick_positions(root)) == ["2 Nov 2026", "9 Nov", "16 Nov", "23 Nov", "30 Nov"]


def test_several_years_get_year_ticks():
    points = [(date(2016 + i, 6, 1), float(i)) for i in range(8)]
    root = parse(line_chart([Series("s", points)], title="t", y_label="y"))
    year_labels = [t for t in texts(root, "tick-label") if len(t) == 4 and t.startswith("20")]
    assert year_labels == [str(y) for y in range(2017, 2024)]


def test_y_min_brings_zero_into_the_axis_and_data_below_it_stay_visible():
    points = [("a", 40.0), ("b", 60.0)]
    without = parse(line_chart([Series("s", points)], title="t", y_label="y"))
    with_zero = parse(line_chart([Series("s", points)], title="t", y_label="y", y_min=0))
    assert "0" not in texts(without, "tick-label")
    assert "0" in texts(with_zero, "tick-label")
    below = parse(line_chart([Series("s", [("a", -10.0), ("b", 60.0)])], title="t", y_label="y", y_min=0))
    _, top, _, bottom = plot_area(below)
    assert all(top <= float(c.get("cy")) <= bottom for c in by_class(below, "circle", "point"))


def test_a_reference_line_sits_at_its_value():
    root = parse(line_chart([Series("s", [("a", 0.0), ("b", 100.0)])], title="t", y_label="y",
                            reference_lines=[ReferenceLine(50, "Target")]))
    _, top, _, bottom = plot_area(root)
    (line,) = by_class(root, "line", "reference-line")
    assert float(line.get("y1")) == round((top + bottom) / 2, 1)
    assert "Target: 50" in texts(root, "reference-label")


def test_money_axis_shows_compact_ticks_and_the_currency_once():
    points = [("a", 0), ("b", 1_500_000_00)]  # 1.5M EUR in cents
    root = parse(line_chart([Series("s", points)], title="t", y_label="Exposure", y_format="money"))
    assert texts(root, "axis-title") == ["Exposure (EUR)"]
    assert texts(root, "tick-label")[:2] == ["0", "500k"]
    assert "1.5M" in texts(root, "tick-label")


def test_legend_only_with_more_than_one_series():
    one = parse(line_chart([Series("a", [("x", 1.0)])], title="t", y_label="y"))
    two = parse(line_chart([Series("a", [("x", 1.0)]), Series("b", [("x", 2.0)])], title="t", y_label="y"))
    assert by_class(one, "g", "legend") == []
    assert texts(two, "legend-label") == ["a", "b"]


def test_series_colours_cycle_through_the_palette():
    many = [Series(f"s{i}", [("x", float(i)), ("y", float(i))]) for i in range(charts.PALETTE_SIZE + 1)]
    root = parse(line_chart(many, title="t", y_label="y"))
    classes = [c.get("class").split()[1:] for c in by_class(root, "circle", "point")][::2]
    assert classes == [[f"series-{i}"] for i in range(charts.PALETTE_SIZE)] + [["series-0", "series-repeat"]]
    # The ninth line shares the first one's colour, so it is dashed, in the legend too.
    assert "series-repeat" in line_path_class(root, 8)
    assert ".chart .series-repeat.line, .chart .series-repeat.swatch-line { stroke-dasharray" in CHART_CSS
    for index in range(charts.PALETTE_SIZE):
        assert f".chart .series-{index} {{ color: #" in CHART_CSS


def css_colour(css_class: str) -> tuple[int, int, int]:
    """The colour charts.css gives ``.chart .<css_class>``, as red, green, blue."""
    (hex_colour,) = re.findall(rf"\.chart \.{css_class} {{ color: #([0-9A-Fa-f]{{6}}); }}", CHART_CSS)
    return int(hex_colour[:2], 16), int(hex_colour[2:4], 16), int(hex_colour[4:], 16)


def test_outcomes_keep_their_colour_whatever_their_place_and_a_decline_is_never_green():
    points = [(date(2026, 11, 1), 0.2), (date(2026, 12, 1), 0.3)]
    orders = (("approved", "referred", "declined"), ("declined", "approved", "referred"))
    for order in orders:
        root = parse(line_chart([Series(outcome, points, outcome=outcome) for outcome in order],
                                title="t", y_label="y"))
        for outcome in order:
            (group,) = [g for g in root.iter(f"{SVG}g") if g.get("data-series") == outcome]
            assert group.find(f"{SVG}path").get("class") == f"line outcome-{outcome}"
        bars = parse(bar_chart(["Nov", "Dec"], [BarSeries(o, [1.0, 2.0], outcome=o) for o in order],
                               title="t", y_label="y"))
        assert [r.get("class") for r in by_class(bars, "rect", "swatch")] == [f"swatch outcome-{o}" for o in order]
        assert {r.get("class") for r in by_class(bars, "rect", "bar")} == {f"bar outcome-{o}" for o in order}
    red, green, blue = css_colour("outcome-declined")
    assert red > green and red > blue, "a decline reads red, never green"
    approved = css_colour("outcome-approved")
    assert approved[1] > approved[0], "an approval is the green one"
    assert len({css_colour(f"outcome-{o}") for o in charts.OUTCOMES}) == 3
    # the palette is defined once: each outcome's colour in one rule
    for outcome in charts.OUTCOMES:
        assert CHART_CSS.count(f".outcome-{outcome} ") == 1


def test_an_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match=re.escape("`outcome` must be one of 'approved', 'referred', 'declined'; "
                                                   "got 'lost'.")):
        line_chart([Series("x", [("a", 1.0)], outcome="lost")], title="t", y_label="y")
    with pytest.raises(ValueError, match="`outcome` must be one of"):
        bar_chart(["a"], [BarSeries("x", [None], outcome="approve")], title="t", y_label="y")  # no data either


def line_path_class(root: ET.Element, series_index: int) -> str:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "series"][series_index].find(f"{SVG}path").get("class")


def test_first_and_last_x_labels_stay_inside_the_chart():
    points = [(date(2023, 12, 1), 1.0), (date(2025, 1, 1), 2.0)]
    root = parse(line_chart([Series("s", points)], title="t", y_label="y", width=400))
    x_labels = [t for t in by_class(root, "text", "tick-label") if t.get("text-anchor") == "middle"]
    for label in x_labels:
        half = len(label.text) * 12 * 0.6 / 2
        assert half <= float(label.get("x")) <= 400 - half


# --------------------------------------------------------------------------- bar chart


def rects_of(root: ET.Element, series_index: int) -> list[ET.Element]:
    return [r for r in by_class(root, "rect", "bar") if f"series-{series_index}" in r.get("class").split()]


def test_grouped_bars_rise_from_zero_to_their_value():
    root = parse(bar_chart(["A", "B"], [BarSeries("s", [50.0, 100.0])], title="t", y_label="y"))
    _, top, _, bottom = plot_area(root)
    half, full = rects_of(root, 0)
    assert float(half.get("y")) + float(half.get("height")) == pytest.approx(bottom, abs=0.1)
    assert float(half.get("y")) == pytest.approx((top + bottom) / 2, abs=0.1)
    assert float(full.get("y")) == pytest.approx(top, abs=0.1)


def test_stacked_bars_sum():
    series = [BarSeries("a", [30.0, 10.0]), BarSeries("b", [70.0, None]), BarSeries("c", [0.0, 20.0])]
    root = parse(bar_chart(["A", "B"], series, title="t", y_label="y", stacked=True))
    _, top, _, bottom = plot_area(root)
    scale = (bottom - top) / 100  # the axis runs 0..100: the tallest stack is 100
    a_of_A, a_of_B = rects_of(root, 0)
    (b_of_A,) = rects_of(root, 1)
    c_of_A, c_of_B = rects_of(root, 2)
    # A: a from 0 to 30, b on top from 30 to 100.
    assert float(a_of_A.get("height")) == pytest.approx(30 * scale, abs=0.1)
    assert float(b_of_A.get("y")) + float(b_of_A.get("height")) == pytest.approx(float(a_of_A.get("y")), abs=0.1)
    assert float(b_of_A.get("y")) == pytest.approx(top, abs=0.1)
    # B: b is missing, so c sits right on a: 10 + 20 = 30.
    assert float(c_of_B.get("y")) == pytest.approx(bottom - 30 * scale, abs=0.1)
    assert float(c_of_B.get("y")) + float(c_of_B.get("height")) == pytest.approx(float(a_of_B.get("y")), abs=0.1)
    assert float(a_of_A.get("x")) == float(b_of_A.get("x"))  # one column, not side by side


def test_negative_bars_hang_from_the_zero_baseline():
    root = parse(bar_chart(["A", "B"], [BarSeries("s", [-40.0, 80.0])], title="t", y_label="y"))
    (baseline,) = by_class(root, "line", "baseline")[-1:]
    zero = float(baseline.get("y1"))
    negative, positive = rects_of(root, 0)
    assert float(negative.get("y")) == pytest.approx(zero, abs=0.1)
    assert float(positive.get("y")) + float(positive.get("height")) == pytest.approx(zero, abs=0.1)
    assert float(positive.get("height")) == pytest.approx(2 * float(negative.get("height")), abs=0.2)


def test_stacked_negative_values_stack_downwards():
    series = [BarSeries("drawn", [60.0]), BarSeries("repaid", [-20.0]), BarSeries("written off", [-20.0])]
    root = parse(bar_chart(["Jan"], series, title="t", y_label="y", stacked=True))
    (repaid,) = rects_of(root, 1)
    (written_off,) = rects_of(root, 2)
    assert float(written_off.get("y")) == pytest.approx(float(repaid.get("y")) + float(repaid.get("height")), abs=0.1)


def test_whiskers_span_lower_to_upper():
    realised = BarSeries("Realised", [40.0, None], lower=[20.0, 10.0], upper=[60.0, 100.0])
    root = parse(bar_chart(["A", "B"], [BarSeries("Predicted", [30.0, 50.0]), realised],
                           title="t", y_label="y", y_format="number"))
    _, top, _, bottom = plot_area(root)
    scale = (bottom - top) / 100
    spans = by_class(root, "line", "whisker-span")
    assert len(spans) == 2  # B has an interval but no realised value: the whisker still shows it
    assert float(spans[0].get("y1")) == pytest.approx(bottom - 20 * scale, abs=0.1)
    assert float(spans[0].get("y2")) == pytest.approx(bottom - 60 * scale, abs=0.1)
    (bar_a,) = rects_of(root, 1)
    centre = float(bar_a.get("x")) + float(bar_a.get("width")) / 2
    assert float(spans[0].get("x1")) == pytest.approx(centre, abs=1.1)  # through the realised bar
    assert tooltip(bar_a) == "Realised, A: 40 (interval 20 to 60)"


def test_every_bar_has_a_tooltip_with_its_exact_value():
    root = parse(bar_chart(["A"], [BarSeries("PD", [0.01234])], title="t", y_label="y", y_format="percent"))
    assert [tooltip(r) for r in by_class(root, "rect", "bar")] == ["PD, A: 1.23%"]


@pytest.mark.parametrize(("series", "message"), [
    (BarSeries("s", [1.0]), "one value per category"),
    (BarSeries("s", [1.0, 2.0], lower=[0.0, 1.0]), "both `lower` and `upper`"),
    (BarSeries("s", [1.0, 2.0], lower=[0.0], upper=[2.0]), "`lower` of series 's'"),
])
def test_bar_series_that_do_not_fit_the_categories_are_refused(series, message):
    with pytest.raises(ValueError, match=message):
        bar_chart(["A", "B"], [series], title="t", y_label="y")


def test_intervals_on_a_stacked_chart_are_refused():
    with pytest.raises(ValueError, match="stacked"):
        bar_chart(["A"], [BarSeries("s", [1.0], lower=[0.5], upper=[1.5])], title="t", y_label="y", stacked=True)


# --------------------------------------------------------------------------- horizontal bars


def test_psi_bars_and_thresholds_land_on_the_value_axis():
    svg = horizontal_bar_chart(["revenue", "age", "rating"], [0.3, 0.12, 0.05], title="PSI", x_format="ratio",
                               thresholds=[0.1, ReferenceLine(0.25, "act")])
    root = parse(svg)
    left, _, right, _ = plot_area(root)
    zero = left  # the axis starts at 0 and, for 0..0.3, ends at 0.3 (step 0.05 or 0.1)
    bars = by_class(root, "rect", "bar")
    assert [float(b.get("x")) for b in bars] == [zero] * 3
    assert float(bars[0].get("x")) + float(bars[0].get("width")) == pytest.approx(right, abs=0.1)
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] / widths[0] == pytest.approx(0.12 / 0.3, abs=0.01)
    lines = by_class(root, "line", "reference-line")
    assert [float(line.get("x1")) for line in lines] == pytest.approx(
        [left + (right - left) * 0.1 / 0.3, left + (right - left) * 0.25 / 0.3], abs=0.1)
    assert [b.get("class") for b in bars] == [
        "bar series-0 above-threshold-2", "bar series-0 above-threshold-1", "bar series-0"]


def test_negative_values_are_labelled_left_of_their_bar_clear_of_the_row_label():
    root = parse(horizontal_bar_chart(["Acme", "Beta"], [12_345_678_90, -2_000_000_00], title="Net exposure",
                                      x_format="money"))
    left, _, _, _ = plot_area(root)
    beta_bar = by_class(root, "rect", "bar")[1]
    beta_value = [t for t in by_class(root, "text", "value-label") if t.text == "-2M"][0]
    assert beta_value.get("text-anchor") == "end"
    assert float(beta_value.get("x")) < float(beta_bar.get("x"))
    row_label_end = max(float(t.get("x")) for t in by_class(root, "text", "tick-label") if t.text in ("Acme", "Beta"))
    assert float(beta_value.get("x")) - len("-2M") * 11 * 0.6 >= row_label_end
    assert tooltip(beta_bar) == "Beta: EUR -2,000,000.00"


def test_a_label_without_value_says_so():
    root = parse(horizontal_bar_chart(["a", "b"], [0.2, None], title="t", x_format="ratio"))
    assert len(by_class(root, "rect", "bar")) == 1
    assert "n/a" in texts(root, "value-label")


def test_labels_and_values_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="one value per label"):
        horizontal_bar_chart(["a", "b"], [0.2], title="t", x_format="ratio")


# --------------------------------------------------------------------------- every chart


def every_chart(name: str, title: str = "t") -> list[str]:
    return [
        line_chart([Series(name, [("x", 1.0), ("y", 2.0)]), Series("other", [("x", 2.0)])], title=title,
                   y_label=name, x_label=name),
        bar_chart([name, "B"], [BarSeries(name, [1.0, 2.0], lower=[0.5, 1.5], upper=[1.5, 2.5])], title=title,
                  y_label=name),
        horizontal_bar_chart([name, "b"], [0.3, 0.1], title=title, x_format="ratio",
                             thresholds=[ReferenceLine(0.25, name)]),
    ]


@pytest.mark.parametrize("index", range(3))
def test_names_from_data_are_escaped(index):
    name = '<script>alert("x")</script> & Söhne'
    svg = every_chart(name, title=name)[index]
    root = parse(svg)
    assert "<script" not in svg
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert root.get("aria-label") == name
    assert root.find(f"{SVG}title").text == name
    assert any((e.text or "") == name for e in root.iter())


def test_characters_xml_forbids_are_dropped_not_fatal():
    root = parse(line_chart([Series("firm\x00\x1b name", [("x", 1.0)])], title="t\x0c", y_label="y"))
    assert root.get("aria-label") == "t"
    assert tooltip(by_class(root, "circle", "point")[0]).startswith("firm name")


@pytest.mark.parametrize("index", range(3))
def test_charts_are_labelled_images(index):
    root = parse(every_chart("s", title="Exposure by month")[index])
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Exposure by month"
    assert list(root)[0].tag == f"{SVG}title"
    assert "Exposure by month" in texts(root, "chart-title")


@pytest.mark.parametrize("svg", [
    line_chart([], title="Empty", y_label="y"),
    line_chart([Series("a", [("x", None), ("y", float("nan"))])], title="Empty", y_label="y"),
    bar_chart([], [], title="Empty", y_label="y"),
    bar_chart(["A"], [BarSeries("a", [None])], title="Empty", y_label="y"),
    horizontal_bar_chart([], [], title="Empty", x_format="ratio"),
    horizontal_bar_chart(["a"], [None], title="Empty", x_format="ratio"),
], ids=["line-no-series", "line-all-missing", "bar-no-categories", "bar-all-missing", "hbar-none", "hbar-missing"])
def test_empty_data_shows_a_no_data_placeholder(svg):
    root = parse(svg)
    assert texts(root, "no-data") == ["No data"]
    assert root.get("aria-label") == "Empty"
    assert not by_class(root, "path", "line") and not by_class(root, "rect", "bar")


def test_same_input_same_string():
    def draw() -> list[str]:
        return every_chart("firm") + [line_chart(
            [Series("s", [(date(2024, m, 1), m / 7) for m in range(1, 13)])], title="t", y_label="y",
            y_format="percent", reference_lines=[0.5])]
    assert draw() == draw()


@pytest.mark.parametrize("index", range(3))
def test_coordinates_are_rounded_to_a_tenth_of_a_pixel(index):
    svg = every_chart("s")[index]
    root = parse(svg)
    numbers = []
    for element in root.iter():
        for key in ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "width", "height", "d"):
            if element.get(key):
                numbers += re.findall(r"-?\d+(?:\.\d+)?", element.get(key))
    assert numbers
    assert all(len(n.split(".")[1]) == 1 for n in numbers if "." in n)
    assert [n for n in numbers if "." in n]  # the charts do use sub-pixel positions


def test_infinite_values_are_refused():
    with pytest.raises(ValueError, match="finite"):
        line_chart([Series("a", [("x", float("inf"))])], title="t", y_label="y")



def test_embedded_with_safe_in_an_autoescaping_template_names_are_escaped_once():
    from jinja2 import Environment

    svg = bar_chart(["A & B"], [BarSeries("<i>Acme</i>", [1.0])], title="t", y_label="y")
    page = Environment(autoescape=True).from_string("<main>{{ chart|safe }}</main>").render(chart=svg)
    assert page == f"<main>{svg}</main>"
    assert "A &amp; B" in page and "&amp;amp;" not in page
    assert tooltip(by_class(parse(svg), "rect", "bar")[0]) == "<i>Acme</i>, A & B: 1"


def test_close_threshold_labels_take_rows_of_their_own_instead_of_overlapping() -> None:
    # PSI thresholds 0.1 and 0.25 on an axis to 8 (ticks 0, 2, ..., 8 over the plot's width):
    # 0.15 apart is a few pixels, far less than the labels' width, so the second label moves
    # up one row (14 px); far-apart thresholds on a 0..0.4 axis stay on one row.
    import xml.etree.ElementTree as ET

    def label_rows(values: list[float]) -> dict[str, float]:
        svg = horizontal_bar_chart(["a", "b"], values, title="PSI", x_format="ratio",
                                   thresholds=[(0.1, "watch"), (0.25, "alarm")])
        root = ET.fromstring(svg)
        texts = root.iter("{http://www.w3.org/2000/svg}text")
        return {t.text.split(":")[0]: float(t.get("y")) for t in texts
                if "reference-label" in (t.get("class") or "")}

    close = label_rows([7.5, 0.3])
    assert close["alarm"] == pytest.approx(close["watch"] - 14)
    apart = label_rows([0.38, 0.05])
    assert apart["alarm"] == apart["watch"]
