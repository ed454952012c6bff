"""Charts as inline SVG drawn from data, no JavaScript: the finance console's and the model report's.

Every function returns one self-contained ``<svg>`` element as a string, ready to embed in a
Jinja template with ``|safe`` (every text inside is XML-escaped here). The SVG refers to no
external asset; colours and line styles come from CSS classes (``series-0`` ... ``series-7``,
the Okabe-Ito palette, which colour-blind readers can tell apart) defined in
:data:`CHART_CSS`, read from ``static/charts.css``: the console serves it, the model report
inlines it.

Each chart has a visible title, a ``<title>`` and ``aria-label`` for screen readers, and a
``<title>`` tooltip with the exact value on every point and bar. Axes use Heckbert's "nice
numbers" (steps of 1, 2 or 5 times a power of ten). Output is deterministic: the same input
gives the same string, with coordinates rounded to 0.1 px.

Value formats (``y_format`` / ``x_format``):

``"number"``
    ``1234.5`` -> ``"1,234.5"``.
``"percent"``
    A fraction: ``0.034`` -> ``"3.4%"``.
``"money"``
    Integer minor units of ``currency``: ``1_234_567`` EUR cents -> ``"12.3k"`` on axes,
    ``"EUR 12,345.67"`` in tooltips (exact, from the integer, never through a float).
``"ratio"``
    Three decimals: ``0.1234`` -> ``"0.123"``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal, NamedTuple

from credit.money import CURRENCY_EXPONENTS, MARKETPLACE_CURRENCY, from_minor

ValueFormat = Literal["number", "percent", "money", "ratio"]
VALUE_FORMATS: tuple[str, ...] = ("number", "percent", "money", "ratio")

PALETTE_SIZE = 8
"""Series colours before they repeat: ``series-{i % PALETTE_SIZE}``."""

OUTCOMES: tuple[str, ...] = ("approved", "referred", "declined")
"""Outcomes of a credit decision with a colour of their own on every chart (``outcome-*`` in charts.css):
a series given one keeps that colour whatever its place in the chart, and a decline is never green."""

CHART_CSS = (Path(__file__).parent / "static" / "charts.css").read_text(encoding="utf-8")
"""The charts' stylesheet (``credit/charts/static/charts.css``; the console serves it once per page,
the model report inlines it): the ``series-*`` classes the SVG uses are styled there."""

_SVG_NS = "http://www.w3.org/2000/svg"
_FONT_SIZE = 12
_TITLE_FONT_SIZE = 14
_CHAR_WIDTH = 0.6  # average advance of a sans-serif glyph, in em: enough to lay labels out
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class Series:
    """One line of a :func:`line_chart`.

    Parameters
    ----------
    name
        Shown in the legend and tooltips (escaped, may come from data).
    points
        ``(x, y)`` pairs; ``x`` is a ``date`` (time axis), a ``str`` (ordered category) or a
        number (numeric axis), the same kind in every series of a chart; ``y`` ``None`` or
        NaN leaves a gap.
    step
        Draw a step line (the value holds until the next point), e.g. a credit limit.
    reference
        A guide rather than data, e.g. the diagonal of a ROC chart: drawn thin, dashed and
        grey, without markers, outside the palette (the data series keep their colours).
    outcome
        One of :data:`OUTCOMES` when the series counts decisions of that outcome: drawn in
        the outcome's colour, the same on every chart.
    """

    name: str
    points: Sequence[tuple[date | str | float, float | None]]
    step: bool = False
    reference: bool = False
    outcome: str | None = None


@dataclass(frozen=True)
class BarSeries:
    """One series of a :func:`bar_chart`: one value per category.

    Parameters
    ----------
    name
        Shown in the legend and tooltips.
    values
        One value per category; ``None`` or NaN draws no bar.
    lower, upper
        Optional interval bounds per category (e.g. a 95% confidence interval), drawn as
        whiskers; both or neither.
    outcome
        As :attr:`Series.outcome`: the outcome's own colour.
    """

    name: str
    values: Sequence[float | None]
    lower: Sequence[float | None] | None = None
    upper: Sequence[float | None] | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class ReferenceLine:
    """A labelled constant line across the plot (a target, a limit, a threshold)."""

    value: float
    label: str = ""


class AxisTicks(NamedTuple):
    """Tick values of a numeric axis, exact, with the decimals needed to label them."""

    values: tuple[Decimal, ...]
    step: Decimal
    fraction_digits: int


# --------------------------------------------------------------------------- formats


def _check_format(value_format: str, parameter: str) -> None:
    if value_format not in VALUE_FORMATS:
        raise ValueError(f"`{parameter}` must be one of {', '.join(map(repr, VALUE_FORMATS))}; got {value_format!r}.")


def _check_currency(currency: str) -> None:
    if currency not in CURRENCY_EXPONENTS:
        raise ValueError(f"`currency` must be one of {', '.join(sorted(CURRENCY_EXPONENTS))}; got {currency!r}.")


def _minor_units(value: float | int | Decimal) -> int:
    if isinstance(value, numbers.Integral):  # int, and NumPy's int64 from a pandas column
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, float) and value.is_integer():  # an int column with NaNs comes as float64
        return int(value)
    raise ValueError(f"money values must be integer minor units; got {value!r}.")


def _trimmed(number: Decimal) -> str:
    """``Decimal('1.50')`` -> ``'1.5'``, ``Decimal('2.0')`` -> ``'2'``, with thousands separators."""
    text = f"{number:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_COMPACT_UNITS = ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k"), (Decimal(1), ""))


def _compact_major(major: Decimal, digits: int | None) -> str:
    """A major-unit amount with a k/M/B suffix; ``digits`` decimals (trimmed), or exact."""
    for position, (unit, suffix) in enumerate(_COMPACT_UNITS):
        if abs(major) < unit and unit != 1:
            continue
        scaled = major / unit
        if digits is not None:
            scaled = scaled.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
            if abs(scaled) >= 1000 and position > 0:  # 999.96k rounds to "1000k": say "1M"
                unit, suffix = _COMPACT_UNITS[position - 1]
                scaled = (major / unit).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        return _trimmed(scaled) + suffix
    raise AssertionError("unreachable: the last unit is 1")


def _to_decimal(value: float | int | Decimal) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    return Decimal(repr(float(value)))  # the shortest repr: 0.1 is 0.1, not 0.1000000000000000055


def format_value(value: float | int | Decimal | None, value_format: ValueFormat = "number", *,
                 currency: str = MARKETPLACE_CURRENCY) -> str:
    """Format a value the short way charts and tables show it.

    Parameters
    ----------
    value
        The value; for ``"money"`` integer minor units, for ``"percent"`` a fraction.
    value_format
        ``"number"`` (``1,234.5``, at most 2 decimals), ``"percent"`` (``0.034`` ->
        ``"3.4%"``), ``"money"`` (``1_234_567`` cents -> ``"12.3k"``, ``123_456_789`` ->
        ``"1.2M"``; below a thousand major units: ``"950"`` or ``"12.50"``) or ``"ratio"``
        (``"0.123"``).
    currency
        ISO 4217 code of money values; sets the minor unit.

    Returns
    -------
    str
        The text; ``"n/a"`` for ``None`` or NaN.

    Raises
    ------
    ValueError
        Unknown format or currency, or a money value that is not a whole number of minor
        units.
    """
    _check_format(value_format, "value_format")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value_format == "percent":
        return f"{float(value) * 100:,.1f}%"
    if value_format == "ratio":
        return f"{float(value):,.3f}"
    if value_format == "money":
        _check_currency(currency)
        major = from_minor(_minor_units(value), currency)
        if abs(major) < 1000:
            return _trimmed(major) if major == major.to_integral_value() else f"{major:,f}"
        return _compact_major(major, 1)
    number = _to_decimal(value)
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return _trimmed(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def format_exact(value: float | int | Decimal | None, value_format: ValueFormat = "number", *,
                 currency: str = MARKETPLACE_CURRENCY) -> str:
    """Format a value in full, as tooltips show it.

    Parameters
    ----------
    value
        The value; for ``"money"`` integer minor units, for ``"percent"`` a fraction.
    value_format
        ``"number"`` (up to 4 decimals), ``"percent"`` (up to 2 decimals of a percent:
        ``0.03428`` -> ``"3.43%"``), ``"money"`` (every minor unit and the currency code:
        ``"EUR 12,345.67"``, as the console writes money) or ``"ratio"`` (3 decimals).
    currency
        ISO 4217 code of money values.

    Returns
    -------
    str
        The text; ``"n/a"`` for ``None`` or NaN.

    Raises
    ------
    ValueError
        Unknown format or currency, or a money value that is not a whole number of minor
        units.
    """
    _check_format(value_format, "value_format")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value_format == "money":
        _check_currency(currency)
        return f"{currency} {from_minor(_minor_units(value), currency):,f}"
    if value_format == "ratio":
        return f"{float(value):,.3f}"
    if value_format == "percent":
        percent = (_to_decimal(value) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return _trimmed(percent) + "%"
    return _trimmed(_to_decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _tick_label(tick: Decimal, ticks: AxisTicks, value_format: str, currency: str) -> str:
    if value_format == "percent":
        return f"{tick * 100:,.{max(ticks.fraction_digits - 2, 0)}f}%"
    if value_format == "money":
        return _compact_major(from_minor(int(tick), currency), None)
    return f"{tick:,.{ticks.fraction_digits}f}"


# --------------------------------------------------------------------------- nice numbers


def _nice_number(x: Decimal, round_to_nearest: bool) -> Decimal:
    """Heckbert's nicenum: 1, 2, 5 or 10 times a power of ten, near (or just above) ``x``."""
    exponent = x.adjusted()  # floor(log10(x)) for a positive Decimal
    fraction = x.scaleb(-exponent)
    if round_to_nearest:
        nice = 1 if fraction < Decimal("1.5") else 2 if fraction < 3 else 5 if fraction < 7 else 10
    else:
        nice = 1 if fraction <= 1 else 2 if fraction <= 2 else 5 if fraction <= 5 else 10
    return Decimal(nice).scaleb(exponent)


def nice_ticks(minimum: float, maximum: float, count: int = 5, *, min_step: float | None = None) -> AxisTicks:
    """Ticks of an axis covering ``minimum..maximum`` (Heckbert, "Nice numbers for graph labels").

    The "loose" labelling of Graphics Gems I: the first and last ticks enclose the data, and
    the step is 1, 2 or 5 times a power of ten, giving roughly ``count`` ticks. Computed in
    ``Decimal`` so the ticks are exact (``0.3``, not ``0.30000000000000004``).

    Parameters
    ----------
    minimum, maximum
        The data range; an empty range (equal ends) is widened around the value.
    count
        The number of ticks wanted (Heckbert's ``nticks``), at least 2.
    min_step
        Smallest step allowed, e.g. ``1`` for integer minor units of money.

    Returns
    -------
    AxisTicks
        ``values`` from the first to the last tick, the ``step`` and the
        ``fraction_digits`` that show the step (``max(-floor(log10(step)), 0)``).

    Raises
    ------
    ValueError
        ``count`` below 2, ``minimum`` above ``maximum`` or a bound that is not finite.
    """
    if count < 2:
        raise ValueError(f"`count` must be an integer >= 2; got {count}.")
    if not (math.isfinite(minimum) and math.isfinite(maximum)):
        raise ValueError(f"axis bounds must be finite; got {minimum!r}..{maximum!r}.")
    if minimum > maximum:
        raise ValueError(f"`minimum` must be <= `maximum`; got {minimum!r} > {maximum!r}.")
    low, high = _to_decimal(minimum), _to_decimal(maximum)
    if low == high:  # one value: an axis around it (from zero when it is zero)
        spread = abs(low) / 10 if low else Decimal(1)
        low, high = (low - spread, high + spread) if low else (low, high + spread)
    span = _nice_number(high - low, round_to_nearest=False)
    step = _nice_number(span / (count - 1), round_to_nearest=True)
    if min_step is not None and step < _to_decimal(min_step):
        step = _to_decimal(min_step)
    first = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    last = (high / step).to_integral_value(rounding=ROUND_CEILING) * step
    steps = int((last - first) / step)
    values = tuple((first + step * i).normalize() + 0 for i in range(steps + 1))  # + 0 turns -0 into 0
    return AxisTicks(values, step, max(-step.adjusted(), 0))


# --------------------------------------------------------------------------- SVG writing


def _px(value: float) -> str:
    """A coordinate rounded to 0.1 px, without a trailing ``.0``."""
    rounded = round(value, 1) + 0.0
    if rounded == 0:
        return "0"
    text = f"{rounded:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _clean_text(text: object) -> str:
    # Characters XML 1.0 forbids (most control characters) would make the page unparseable.
    return "".join(ch for ch in str(text) if ch in "\t\n\r" or ord(ch) >= 0x20 and ch not in "\ufffe\uffff")


def _escape(text: object) -> str:
    return (_clean_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def _tag(name: str, attributes: dict[str, object], content: str | None = None) -> str:
    rendered = []
    for key, value in attributes.items():
        if value is None:
            continue
        text = _px(value) if isinstance(value, float) else str(value) if isinstance(value, int) else _escape(value)
        rendered.append(f' {key}="{text}"')
    opening = f"<{name}{''.join(rendered)}"
    return f"{opening}/>" if content is None else f"{opening}>{content}</{name}>"


def _title(text: str) -> str:
    return f"<title>{_escape(text)}</title>"


def _text(x: float, y: float, text: str, css_class: str, anchor: str = "start", **attributes: object) -> str:
    return _tag("text", {"x": float(x), "y": float(y), "class": css_class,
                         "text-anchor": anchor if anchor != "start" else None, **attributes}, _escape(text))


def _text_width(text: str, font_size: float = _FONT_SIZE) -> float:
    return len(text) * font_size * _CHAR_WIDTH


def _fit_text(text: str, max_width: float, font_size: float = _FONT_SIZE) -> str:
    """``text``, cut with an ellipsis when it would be wider than ``max_width``."""
    fitting = max(int(max_width / (font_size * _CHAR_WIDTH)), 1)
    return text if len(text) <= fitting else text[: max(fitting - 1, 1)].rstrip() + "\u2026"


def _svg(width: int, height: int, title: str, description: str, body: list[str], kind: str) -> str:
    head = (f'<svg xmlns="{_SVG_NS}" class="chart chart-{kind}" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-label="{_escape(title)}">')
    return head + _title(title) + f"<desc>{_escape(description)}</desc>" + "".join(body) + "</svg>"


def _no_data(width: int, height: int, title: str, kind: str) -> str:
    body = [
        _text(12, 20, _fit_text(title, width - 24, _TITLE_FONT_SIZE), "chart-title"),
        _tag("rect", {"class": "no-data-frame", "x": 12.0, "y": 32.0, "width": float(width - 24),
                      "height": float(max(height - 44, 20)), "rx": 4}),
        _text(width / 2, 32 + max(height - 44, 20) / 2 + 5, "No data", "no-data", "middle"),
    ]
    return _svg(width, height, title, "No data.", body, kind)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _finite(value: float, where: str) -> float:
    number = float(value)
    if math.isinf(number):
        raise ValueError(f"{where} must be finite; got {value!r}.")
    return number


def _check_size(width: int, height: int) -> None:
    if width < 200 or height < 120:
        raise ValueError(f"a chart must be at least 200 x 120 px; got {width} x {height}.")


class _Scale:
    """Maps a numeric domain linearly onto pixels (``start`` is where ``low`` lands)."""

    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value: float) -> float:
        if self.high == self.low:
            return (self.start + self.end) / 2
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


@dataclass
class _Legend:
    rows: list[list[tuple[float, str, str, str]]]  # x, series class, shown name, full name
    height: float


def _series_class(index: int) -> str:
    # Past the palette the colours repeat: a dashed line / lighter bar tells the series apart.
    return f"series-{index % PALETTE_SIZE}" + (" series-repeat" if index >= PALETTE_SIZE else "")


def _outcome_class(outcome: str) -> str:
    if outcome not in OUTCOMES:
        raise ValueError(f"`outcome` must be one of {', '.join(map(repr, OUTCOMES))}; got {outcome!r}.")
    return f"outcome-{outcome}"


def _palette_classes(series: Sequence[Series | BarSeries]) -> list[str]:
    """Each series' CSS class: its outcome's colour, a guide's grey, or the palette in order for the others."""
    classes, data_index = [], 0
    for one in series:
        if one.outcome is not None:
            classes.append(_outcome_class(one.outcome))
        elif getattr(one, "reference", False):
            classes.append("series-reference")
        else:
            classes.append(_series_class(data_index))
            data_index += 1
    return classes


def _legend_layout(names: Sequence[str], classes: Sequence[str], left: float, max_width: float) -> _Legend:
    rows: list[list[tuple[float, str, str, str]]] = [[]]
    x = left
    for name, css in zip(names, classes, strict=True):
        shown = _fit_text(name, min(max_width - 20, 260))
        item_width = 18 + _text_width(shown) + 16
        if rows[-1] and x + item_width > left + max_width:
            rows.append([])
            x = left
        rows[-1].append((x, css, shown, name))
        x += item_width
    return _Legend(rows, 18.0 * len(rows))


def _legend_svg(legend: _Legend, top: float, marker: Literal["line", "square"]) -> list[str]:
    parts = []
    for row_index, row in enumerate(legend.rows):
        y = top + row_index * 18
        for x, css, shown, full in row:
            if marker == "line":
                swatch = _tag("line", {"class": f"swatch-line {css}", "x1": float(x), "y1": y + 6.0,
                                       "x2": float(x + 14), "y2": y + 6.0})
            else:
                swatch = _tag("rect", {"class": f"swatch {css}", "x": float(x + 2), "y": y + 1.0,
                                       "width": 10.0, "height": 10.0})
            label = _text(x + 18, y + 10, shown, "legend-label")
            parts.append(_tag("g", {"class": "legend-item"}, _title(full) + swatch + label))
    return [_tag("g", {"class": "legend"}, "".join(parts))]


@dataclass
class _Frame:
    """Where the plot sits inside the SVG, and what is drawn above it."""

    left: float
    top: float
    right: float
    bottom: float
    header: list[str]

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def _frame(*, width: int, height: int, title: str, names: Sequence[str], axis_title: str,
           tick_labels: Sequence[str], bottom_space: float, legend_marker: Literal["line", "square"],
           classes: Sequence[str] | None = None) -> _Frame:
    """Lay out title, legend and axis title above the plot, tick labels to its left.

    ``classes`` are the series' CSS classes, palette order by default.
    """
    header = [_text(12, 18, _fit_text(title, width - 24, _TITLE_FONT_SIZE), "chart-title")]
    y = 26.0
    if len(names) > 1:
        legend = _legend_layout(names, classes or [_series_class(i) for i in range(len(names))], 12, width - 24)
        header += _legend_svg(legend, y, legend_marker)
        y += legend.height
    if axis_title:
        header.append(_text(12, y + 11, _fit_text(axis_title, width - 24), "axis-title"))
        y += 16
    left = 12 + max((_text_width(label) for label in tick_labels), default=0) + 8
    return _Frame(left=left, top=y + 8, right=width - 16.0, bottom=height - bottom_space, header=header)


def _y_axis(frame: _Frame, scale: _Scale, ticks: AxisTicks, value_format: str, currency: str) -> list[str]:
    parts = []
    for tick in ticks.values:
        y = scale(float(tick))
        css = "baseline" if tick == 0 else "grid"
        parts.append(_tag("line", {"class": css, "x1": frame.left, "y1": y, "x2": frame.right, "y2": y}))
        parts.append(_text(frame.left - 6, y + 4, _tick_label(tick, ticks, value_format, currency),
                           "tick-label", "end"))
    return parts


def _reference_svg(line: ReferenceLine, frame: _Frame, scale: _Scale, value_format: str, currency: str) -> str:
    y = scale(line.value)
    value_text = format_exact(line.value, value_format, currency=currency)
    label = f"{line.label}: {value_text}" if line.label else value_text
    return _tag("g", {"class": "reference"},
                _title(label)
                + _tag("line", {"class": "reference-line", "x1": frame.left, "y1": y, "x2": frame.right, "y2": y})
                + _text(frame.right - 2, y - 4, _fit_text(label, frame.width / 2, 11), "reference-label", "end"))


def _as_reference_lines(lines: Sequence[ReferenceLine | float | tuple[float, str]]) -> list[ReferenceLine]:
    result = []
    for line in lines:
        if isinstance(line, ReferenceLine):
            result.append(line)
        elif isinstance(line, tuple):
            result.append(ReferenceLine(float(line[0]), str(line[1])))
        else:
            result.append(ReferenceLine(float(line)))
    for line in result:
        _finite(line.value, "a reference line")
    return result


def _ticks_for(low: float, high: float, length: float, value_format: str, spacing: float) -> AxisTicks:
    count = max(3, min(10, int(length // spacing) + 1))
    return nice_ticks(low, high, count, min_step=1 if value_format == "money" else None)


def _axis_title(label: str, value_format: str, currency: str) -> str:
    # Money ticks read "12.3k": the currency goes in the axis title, once.
    if value_format == "money" and label and currency not in label:
        return f"{label} ({currency})"
    return label


# --------------------------------------------------------------------------- x axes of line charts


def _x_position_of_date(x: date) -> float:
    if isinstance(x, datetime):
        return x.toordinal() + (x.hour * 3600 + x.minute * 60 + x.second) / 86400
    return float(x.toordinal())


def _month_anchor(days: Sequence[date]) -> Literal["start", "end"] | None:
    """``"start"`` when every date is the first of its month, ``"end"`` when every one is the last: monthly data."""
    if all(day.day == 1 for day in days):
        return "start"
    if all((day + timedelta(days=1)).day == 1 for day in days):
        return "end"
    return None


def _month_tick(month_index: int, anchor: Literal["start", "end"] | None) -> date:
    first = date(month_index // 12, month_index % 12 + 1, 1)
    if anchor != "end":
        return first
    following = month_index + 1
    return date(following // 12, following % 12 + 1, 1) - timedelta(days=1)


def _time_ticks(first: float, last: float, max_ticks: int,
                monthly: Literal["start", "end"] | None = None) -> list[tuple[float, str]]:
    """Month/year (or day/week for short spans) ticks inside ``first..last`` (ordinals).

    Monthly data (``monthly``: every point on the first, or on the last, of its month) gets
    month or year ticks whatever its span, on the days its points fall on: two months of
    data read "Nov 2026, Dec", never weekly dates.
    """
    start, end = date.fromordinal(math.ceil(first)), date.fromordinal(math.floor(last))
    if end < start:
        return []
    span_days = end.toordinal() - start.toordinal()
    for unit, step in (("day", 1), ("day", 2), ("week", 1), ("week", 2), ("month", 1), ("month", 2),
                       ("month", 3), ("month", 6), ("year", 1), ("year", 2), ("year", 5), ("year", 10),
                       ("year", 20), ("year", 50), ("year", 100)):
        dates: list[date] = []
        if unit in ("day", "week") and (monthly or span_days > 7 * 2 * max_ticks):
            continue  # a fortnightly tick would already be too many, or the data are monthly
        if unit == "day":
            dates = [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1) if o % step == 0]
        elif unit == "week":
            dates = [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1)
                     if date.fromordinal(o).weekday() == 0 and (o // 7) % step == 0]
        elif unit == "month":
            for month_index in range(start.year * 12 + start.month - 1, end.year * 12 + end.month):
                tick = _month_tick(month_index, monthly)
                if month_index % step == 0 and start <= tick <= end:
                    dates.append(tick)
        else:
            dates = [date(year, 1, 1) for year in range(start.year, end.year + 1)
                     if year % step == 0 and start <= date(year, 1, 1) <= end]
        if 1 <= len(dates) <= max_ticks:
            return _label_dates(dates, unit)
    return _label_dates([start], "day")


def _label_dates(dates: list[date], unit: str) -> list[tuple[float, str]]:
    labelled = []
    previous_year = None
    for tick in dates:
        if unit == "year":
            label = str(tick.year)
        else:
            base = _MONTHS[tick.month - 1] if unit == "month" else f"{tick.day} {_MONTHS[tick.month - 1]}"
            # The year on the first tick and wherever it changes: "Nov, Dec, Jan 2025, Feb".
            label = f"{base} {tick.year}" if tick.year != previous_year else base
        previous_year = tick.year
        labelled.append((float(tick.toordinal()), label))
    return labelled


def _inside(centre: float, label: str, width: float) -> float:
    """Where to centre a label so that it stays inside ``0..width`` (first and last ticks)."""
    half = _text_width(label) / 2
    return min(max(centre, half + 2), width - half - 2)


def _x_label_of(x: date | str) -> str:
    if isinstance(x, datetime):
        return x.isoformat(sep=" ", timespec="minutes")
    return x.isoformat() if isinstance(x, date) else str(x)


# --------------------------------------------------------------------------- line chart


def line_chart(series: Sequence[Series], *, title: str, y_label: str, y_format: ValueFormat = "number",
               x_label: str = "", x_format: ValueFormat = "number", width: int = 720, height: int = 260,
               y_min: float | None = None, reference_lines: Sequence[ReferenceLine | float | tuple[float, str]] = (),
               currency: str = MARKETPLACE_CURRENCY) -> str:
    """Draw one or more series over time, over ordered categories or against a number as an inline SVG.

    Parameters
    ----------
    series
        The lines, each a :class:`Series`; ``x`` values are all ``date`` (a time axis with
        day, week, month or year ticks), all ``str`` (categories in order of first
        appearance) or all numbers (a numeric axis with nice ticks, e.g. a ROC curve).
        ``None`` or NaN values break the line; ``Series(step=True)`` holds each value until
        the next point; ``Series(reference=True)`` is a guide such as a diagonal.
    title
        Visible title, SVG ``<title>`` and ``aria-label``.
    y_label
        Title of the value axis, shown above it (money charts add the currency code).
    y_format
        ``"number"``, ``"percent"``, ``"money"`` (integer minor units) or ``"ratio"``.
    x_label
        Optional title under the x axis.
    x_format
        How a numeric x axis labels its ticks and tooltips its values (formats as
        ``y_format``); ignored for dates and categories.
    width, height
        Size in px (the SVG also scales down to its container).
    y_min
        Lowest value the axis must show (e.g. ``0``); the data are never cut off.
    reference_lines
        :class:`ReferenceLine` values (or plain numbers, or ``(value, label)``) drawn as
        dashed lines across the plot.
    currency
        ISO 4217 code of money values.

    Returns
    -------
    str
        One ``<svg>`` element; a "No data" placeholder when no series has a value.

    Raises
    ------
    ValueError
        Mixed kinds of x values, infinite values, an unknown format, currency or outcome,
        money that is not integer minor units, or a size below 200 x 120 px.
    """
    _check_format(y_format, "y_format")
    _check_format(x_format, "x_format")
    _check_currency(currency)
    _check_size(width, height)
    classes = _palette_classes(series)
    references = _as_reference_lines(reference_lines)
    values = [_finite(y, f"values of series {s.name!r}") for s in series for _, y in s.points if not _is_missing(y)]
    if y_format == "money":
        for value in values:
            _minor_units(value)
    if not values:
        return _no_data(width, height, title, "line")

    x_values = [x for s in series for x, _ in s.points]
    is_time = all(isinstance(x, date) for x in x_values)
    is_numeric = all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in x_values)
    if not (is_time or is_numeric or all(isinstance(x, str) for x in x_values)):
        raise ValueError("x values must all be dates (a time axis), all strings (categories) or all numbers; "
                         "got a mix.")
    if is_numeric:
        for x in x_values:
            _finite(x, "x values")  # type: ignore[arg-type]
    categories: list[str] = []
    if not (is_time or is_numeric):
        categories = list(dict.fromkeys(x_values))  # type: ignore[arg-type]

    low = min(values + [line.value for line in references] + ([y_min] if y_min is not None else []))
    high = max(values + [line.value for line in references] + ([y_min] if y_min is not None else []))
    axis_title = _axis_title(y_label, y_format, currency)
    names = [s.name for s in series]
    # The tick count depends on the plot height, which depends on the legend: estimate with
    # the legend's height first, the tick labels only change the left margin.
    probe = _frame(width=width, height=height, title=title, names=names, axis_title=axis_title, tick_labels=[],
                   bottom_space=22 + (16 if x_label else 0), legend_marker="line", classes=classes)
    ticks = _ticks_for(low, high, probe.height, y_format, spacing=40)
    tick_labels = [_tick_label(t, ticks, y_format, currency) for t in ticks.values]
    frame = _frame(width=width, height=height, title=title, names=names, axis_title=axis_title,
                   tick_labels=tick_labels, bottom_space=22 + (16 if x_label else 0), legend_marker="line",
                   classes=classes)
    y_scale = _Scale(float(ticks.values[0]), float(ticks.values[-1]), frame.bottom, frame.top)

    inset = 8.0  # keeps the first and last markers off the axis edges
    if is_time:
        positions = [_x_position_of_date(x) for x in x_values]  # type: ignore[arg-type]
        first, last = min(positions), max(positions)
        x_scale = _Scale(first, last, frame.left + inset, frame.right - inset)
        days = [x.date() if isinstance(x, datetime) else x for x in x_values]  # type: ignore[union-attr]
        x_ticks = _time_ticks(first, last, max(2, int(frame.width // 72)), _month_anchor(days))  # type: ignore[arg-type]

        def position_of(x: date | str | float) -> float:
            return _x_position_of_date(x)  # type: ignore[arg-type]
    elif is_numeric:
        numeric = [float(x) for x in x_values]  # type: ignore[arg-type]
        axis = _ticks_for(min(numeric), max(numeric), frame.width, x_format, spacing=80)
        x_scale = _Scale(float(axis.values[0]), float(axis.values[-1]), frame.left, frame.right)
        x_ticks = [(float(tick), _tick_label(tick, axis, x_format, currency)) for tick in axis.values]

        def position_of(x: date | str | float) -> float:
            return float(x)  # type: ignore[arg-type]
    else:
        x_scale = _Scale(-0.5, len(categories) - 0.5, frame.left, frame.right)
        index_of = {category: index for index, category in enumerate(categories)}
        band = frame.width / len(categories)
        widest = max(_text_width(c) for c in categories)
        every = max(1, math.ceil((min(widest, 120) + 10) / band))
        x_ticks = [(float(i), _fit_text(c, band * every - 6)) for i, c in enumerate(categories) if i % every == 0]

        def position_of(x: date | str | float) -> float:
            return float(index_of[x])  # type: ignore[index]

    body = list(frame.header)
    body += _y_axis(frame, y_scale, ticks, y_format, currency)
    body.append(_tag("rect", {"class": "plot-area", "x": frame.left, "y": frame.top,
                              "width": frame.width, "height": frame.height}))
    if float(ticks.values[0]) != 0:
        body.append(_tag("line", {"class": "axis", "x1": frame.left, "y1": frame.bottom,
                                  "x2": frame.right, "y2": frame.bottom}))
    for tick_position, label in x_ticks:
        x = x_scale(tick_position)
        body.append(_tag("line", {"class": "axis", "x1": x, "y1": frame.bottom, "x2": x, "y2": frame.bottom + 4}))
        body.append(_text(_inside(x, label, width), frame.bottom + 16, label, "tick-label", "middle"))
    if x_label:
        body.append(_text((frame.left + frame.right) / 2, height - 6, _fit_text(x_label, frame.width), "axis-title",
                          "middle"))
    for line in references:
        body.append(_reference_svg(line, frame, y_scale, y_format, currency))

    point_count = max(len(s.points) for s in series)
    dense = point_count > 1 and frame.width / point_count < 9
    for one, css in zip(series, classes, strict=True):
        ordered = sorted(one.points, key=lambda point: position_of(point[0]))
        path = _line_path(ordered, position_of, x_scale, y_scale, one.step)
        markers = []
        for point_index, (x, y) in enumerate(ordered):
            if _is_missing(y) or one.reference:
                continue
            isolated = all(_is_missing(ordered[j][1]) for j in (point_index - 1, point_index + 1)
                           if 0 <= j < len(ordered))
            marker_css = f"point {css}" if isolated or not dense else f"point point-dense {css}"
            x_text = format_exact(x, x_format, currency=currency) if is_numeric else _x_label_of(x)  # type: ignore
            tip = f"{one.name}, {x_text}: {format_exact(y, y_format, currency=currency)}"
            markers.append(_tag("circle", {"class": marker_css, "cx": x_scale(position_of(x)),
                                           "cy": y_scale(float(y)), "r": 3.5 if not dense else 3.0},
                                _title(tip)))
        group = _tag("path", {"class": f"line {css}", "d": path, "fill": "none"}) if path else ""
        body.append(_tag("g", {"class": "series", "data-series": one.name}, group + "".join(markers)))

    description = _describe(names, low=min(values), high=max(values),
                            value_format=y_format, currency=currency, kind="Line chart")
    return _svg(width, height, title, description, body, "line")


def _line_path(points: Sequence[tuple[date | str | float, float | None]], position_of, x_scale: _Scale,
               y_scale: _Scale, step: bool) -> str:
    """SVG path data; a missing value ends the sub-path, so the line has a gap there."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if _is_missing(y):
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x_scale(position_of(x)), y_scale(float(y))))
    sub_paths = []
    for run in runs:
        if len(run) < 2:  # a lone point draws no line; its marker shows it
            continue
        commands = [f"M{_px(run[0][0])} {_px(run[0][1])}"]
        for px, py in run[1:]:
            commands.append(f"H{_px(px)} V{_px(py)}" if step else f"L{_px(px)} {_px(py)}")
        sub_paths.append(" ".join(commands))
    return " ".join(sub_paths)


def _describe(names: Sequence[str], *, low: float, high: float, value_format: str, currency: str, kind: str) -> str:
    shown = ", ".join(names) if len(names) <= 6 else ", ".join(names[:6]) + f" and {len(names) - 6} more"
    count = f"{len(names)} series" if len(names) != 1 else "1 series"
    return (f"{kind}, {count}: {shown}. Values from {format_exact(low, value_format, currency=currency)} "
            f"to {format_exact(high, value_format, currency=currency)}.")


# --------------------------------------------------------------------------- bar chart


def bar_chart(categories: Sequence[str], series: Sequence[BarSeries], *, title: str, y_label: str,
              y_format: ValueFormat = "number", stacked: bool = False, width: int = 720, height: int = 260,
              currency: str = MARKETPLACE_CURRENCY) -> str:
    """Draw grouped (or stacked) vertical bars per category, with optional interval whiskers.

    Parameters
    ----------
    categories
        The x-axis categories, in the order shown.
    series
        One :class:`BarSeries` per bar of a group; ``lower``/``upper`` draw whiskers (e.g.
        "realised default rate with its 95% confidence interval" next to "predicted").
    title
        Visible title, SVG ``<title>`` and ``aria-label``.
    y_label
        Title of the value axis, shown above it (money charts add the currency code).
    y_format
        ``"number"``, ``"percent"``, ``"money"`` (integer minor units) or ``"ratio"``.
    stacked
        Stack the series per category: positive values upwards from zero, negative ones
        downwards. Intervals cannot be stacked.
    width, height
        Size in px.
    currency
        ISO 4217 code of money values.

    Returns
    -------
    str
        One ``<svg>`` element; a "No data" placeholder when there is nothing to draw.

    Raises
    ------
    ValueError
        A series without one value (and bound) per category, only one of ``lower`` and
        ``upper``, intervals on a stacked chart, infinite values, an unknown format,
        currency or outcome, or a size below 200 x 120 px.
    """
    _check_format(y_format, "y_format")
    _check_currency(currency)
    _check_size(width, height)
    classes = _palette_classes(series)
    categories = [str(c) for c in categories]
    for one in series:
        _check_bar_series(one, len(categories), stacked)
    numbers = [_finite(v, f"values of series {s.name!r}") for s in series
               for bounds in (s.values, s.lower or (), s.upper or ()) for v in bounds if not _is_missing(v)]
    if y_format == "money":
        for value in numbers:
            _minor_units(value)
    if not categories or not numbers:
        return _no_data(width, height, title, "bar")

    extents = [0.0, *numbers]
    if stacked:
        for index in range(len(categories)):
            column = [float(s.values[index]) for s in series if not _is_missing(s.values[index])]
            extents += [sum(v for v in column if v > 0), sum(v for v in column if v < 0)]
    axis_title = _axis_title(y_label, y_format, currency)
    names = [s.name for s in series]
    probe = _frame(width=width, height=height, title=title, names=names, axis_title=axis_title, tick_labels=[],
                   bottom_space=22, legend_marker="square", classes=classes)
    ticks = _ticks_for(min(extents), max(extents), probe.height, y_format, spacing=40)
    tick_labels = [_tick_label(t, ticks, y_format, currency) for t in ticks.values]
    frame = _frame(width=width, height=height, title=title, names=names, axis_title=axis_title,
                   tick_labels=tick_labels, bottom_space=22, legend_marker="square", classes=classes)
    y_scale = _Scale(float(ticks.values[0]), float(ticks.values[-1]), frame.bottom, frame.top)

    body = list(frame.header)
    body += _y_axis(frame, y_scale, ticks, y_format, currency)
    body.append(_tag("rect", {"class": "plot-area", "x": frame.left, "y": frame.top,
                              "width": frame.width, "height": frame.height}))
    band = frame.width / len(categories)
    group_width = min(band * 0.72, 56.0 * (1 if stacked else len(series)))
    bar_width = group_width if stacked else group_width / len(series)
    gap = 2.0 if not stacked and len(series) > 1 and bar_width > 8 else 0.0
    every = max(1, math.ceil((min(max(_text_width(c) for c in categories), 120) + 10) / band))

    bars: list[str] = []
    whiskers: list[str] = []
    for category_index, category in enumerate(categories):
        centre = frame.left + band * (category_index + 0.5)
        group_left = centre - group_width / 2
        if category_index % every == 0:
            body.append(_text(centre, frame.bottom + 16, _fit_text(category, band * every - 6), "tick-label", "middle"))
        positive_top, negative_bottom = 0.0, 0.0
        for series_index, one in enumerate(series):
            css = classes[series_index]
            value = one.values[category_index]
            left = group_left if stacked else group_left + series_index * bar_width
            tip = f"{one.name}, {category}: {format_exact(value, y_format, currency=currency)}"
            interval = _interval(one, category_index)
            if interval is not None:
                tip += (f" (interval {format_exact(interval[0], y_format, currency=currency)}"
                        f" to {format_exact(interval[1], y_format, currency=currency)})")
            if not _is_missing(value):
                value = float(value)
                if stacked:
                    start = positive_top if value >= 0 else negative_bottom
                    end = start + value
                    if value >= 0:
                        positive_top = end
                    else:
                        negative_bottom = end
                else:
                    start, end = 0.0, value
                y_start, y_end = y_scale(start), y_scale(end)
                bars.append(_tag("rect", {"class": f"bar {css}", "x": left + gap / 2, "y": min(y_start, y_end),
                                          "width": bar_width - gap, "height": abs(y_start - y_end)}, _title(tip)))
            if interval is not None:
                whiskers.append(_whisker(left + bar_width / 2, y_scale(interval[0]), y_scale(interval[1]),
                                         min(bar_width * 0.5, 14.0), tip))
    body += bars
    body.append(_tag("line", {"class": "baseline", "x1": frame.left, "y1": y_scale(0.0), "x2": frame.right,
                              "y2": y_scale(0.0)}))
    body += whiskers
    description = _describe(names, low=min(numbers), high=max(numbers), value_format=y_format, currency=currency,
                            kind=("Stacked bar chart" if stacked else "Bar chart") + f" of {len(categories)} categories")
    return _svg(width, height, title, description, body, "bar")


def _check_bar_series(one: BarSeries, category_count: int, stacked: bool) -> None:
    if len(one.values) != category_count:
        raise ValueError(f"`values` of series {one.name!r} must have one value per category "
                         f"({category_count}); got {len(one.values)}.")
    if (one.lower is None) != (one.upper is None):
        raise ValueError(f"series {one.name!r} must give both `lower` and `upper`, or neither.")
    if one.lower is not None and one.upper is not None:
        if stacked:
            raise ValueError(f"series {one.name!r} has intervals: a stacked bar chart cannot show them.")
        for bound_name, bounds in (("lower", one.lower), ("upper", one.upper)):
            if len(bounds) != category_count:
                raise ValueError(f"`{bound_name}` of series {one.name!r} must have one value per category "
                                 f"({category_count}); got {len(bounds)}.")


def _interval(one: BarSeries, index: int) -> tuple[float, float] | None:
    if one.lower is None or one.upper is None:
        return None
    lower, upper = one.lower[index], one.upper[index]
    if _is_missing(lower) or _is_missing(upper):
        return None
    return float(lower), float(upper)


def _whisker(x: float, y_lower: float, y_upper: float, cap_width: float, tip: str) -> str:
    half = cap_width / 2
    return _tag("g", {"class": "whisker"}, _title(tip)
                + _tag("line", {"class": "whisker-span", "x1": x, "y1": y_lower, "x2": x, "y2": y_upper})
                + _tag("line", {"class": "whisker-cap", "x1": x - half, "y1": y_lower, "x2": x + half, "y2": y_lower})
                + _tag("line", {"class": "whisker-cap", "x1": x - half, "y1": y_upper, "x2": x + half, "y2": y_upper}))


# --------------------------------------------------------------------------- horizontal bar chart


def horizontal_bar_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str,
                         x_format: ValueFormat = "number", thresholds: Sequence[ReferenceLine | float | tuple[float, str]] = (),
                         x_label: str = "", width: int = 720, height: int | None = None,
                         currency: str = MARKETPLACE_CURRENCY) -> str:
    """Draw one horizontal bar per label, e.g. the PSI of each feature, with threshold lines.

    Parameters
    ----------
    labels
        One label per bar, top to bottom (sort them before if order matters).
    values
        One value per label; ``None`` or NaN shows "n/a".
    title
        Visible title, SVG ``<title>`` and ``aria-label``.
    x_format
        ``"number"``, ``"percent"``, ``"money"`` (integer minor units) or ``"ratio"``.
    thresholds
        Vertical dashed lines (:class:`ReferenceLine`, numbers or ``(value, label)``), e.g.
        PSI 0.1 and 0.25; a bar at or beyond the k-th lowest threshold gets the CSS class
        ``above-threshold-k`` (k = 1, 2) and its warning colour.
    x_label
        Optional title of the value axis, under it.
    width, height
        Size in px; the height by default grows with the number of bars (24 px each).
    currency
        ISO 4217 code of money values.

    Returns
    -------
    str
        One ``<svg>`` element; a "No data" placeholder when no label has a value.

    Raises
    ------
    ValueError
        Labels and values of different lengths, infinite values, an unknown format or
        currency, or a size below 200 x 120 px.
    """
    _check_format(x_format, "x_format")
    _check_currency(currency)
    if len(labels) != len(values):
        raise ValueError(f"`values` must have one value per label ({len(labels)}); got {len(values)}.")
    row_height = 24.0
    top = 26.0 + (16 if thresholds else 0)
    bottom_space = 26.0 + (16 if x_label else 0)
    if height is None:
        height = max(120, int(top + 8 + row_height * max(len(labels), 3) + bottom_space))
    _check_size(width, height)
    references = sorted(_as_reference_lines(thresholds), key=lambda line: line.value)
    numbers = [_finite(v, "`values`") for v in values if not _is_missing(v)]
    if x_format == "money":
        for value in numbers:
            _minor_units(value)
    if not numbers:
        return _no_data(width, height, title, "horizontal-bar")

    labels = [str(label) for label in labels]
    label_width = min(max(_text_width(label) for label in labels), width * 0.35)
    value_labels = [format_value(v, x_format, currency=currency) for v in values]
    value_label_width = max(_text_width(v, 11) for v in value_labels) + 6
    has_negative = any(not _is_missing(v) and float(v) < 0 for v in values)
    left = 12 + label_width + 8 + (value_label_width if has_negative else 0)
    right = width - 12 - value_label_width
    frame = _Frame(left=left, top=top + 8, right=right, bottom=height - bottom_space, header=[])
    extents = [0.0, *numbers, *(line.value for line in references)]
    ticks = _ticks_for(min(extents), max(extents), frame.width, x_format, spacing=80)
    x_scale = _Scale(float(ticks.values[0]), float(ticks.values[-1]), frame.left, frame.right)
    reference_labels = _staggered_reference_labels(references, x_scale, x_format, currency)
    extra_rows = max((level for *_, level in reference_labels), default=0)
    if extra_rows:  # close thresholds (PSI 0.1 and 0.25 on an axis to 7): their labels take rows of their own
        frame = _Frame(left=left, top=top + 8 + 14 * extra_rows, right=right, bottom=height - bottom_space,
                       header=[])
    row = frame.height / len(labels)
    bar_thickness = min(row * 0.64, 16.0)

    body = [_text(12, 18, _fit_text(title, width - 24, _TITLE_FONT_SIZE), "chart-title")]
    for tick in ticks.values:
        x = x_scale(float(tick))
        body.append(_tag("line", {"class": "baseline" if tick == 0 else "grid", "x1": x, "y1": frame.top,
                                  "x2": x, "y2": frame.bottom}))
        tick_label = _tick_label(tick, ticks, x_format, currency)
        body.append(_text(_inside(x, tick_label, width), frame.bottom + 16, tick_label, "tick-label", "middle"))
    body.append(_tag("rect", {"class": "plot-area", "x": frame.left, "y": frame.top,
                              "width": frame.width, "height": frame.height}))
    if x_label:
        body.append(_text((frame.left + frame.right) / 2, height - 6, _fit_text(x_label, frame.width),
                          "axis-title", "middle"))
    for index, (label, value) in enumerate(zip(labels, values)):
        centre = frame.top + row * (index + 0.5)
        body.append(_tag("g", {"class": "bar-label"}, _title(label)
                         + _text(12 + label_width, centre + 4, _fit_text(label, label_width), "tick-label", "end")))
        if _is_missing(value):
            body.append(_text(frame.left + 4, centre + 4, "n/a", "value-label"))
            continue
        value = float(value)
        level = sum(1 for line in references if value >= line.value > 0 or value <= line.value < 0)
        css = "bar series-0" + (f" above-threshold-{min(level, 2)}" if level else "")
        x_zero, x_value = x_scale(0.0), x_scale(value)
        tip = f"{label}: {format_exact(value, x_format, currency=currency)}"
        body.append(_tag("rect", {"class": css, "x": min(x_zero, x_value), "y": centre - bar_thickness / 2,
                                  "width": abs(x_value - x_zero), "height": bar_thickness}, _title(tip)))
        value_x = max(x_zero, x_value) + 4 if value >= 0 else min(x_zero, x_value) - 4
        body.append(_text(value_x, centre + 4, value_labels[index], "value-label", "start" if value >= 0 else "end"))
    for x, label, level in reference_labels:
        label_y = frame.top - 8 - 14 * level
        body.append(_tag("g", {"class": "reference"}, _title(label)
                         + _tag("line", {"class": "reference-line", "x1": x, "y1": frame.top - 4, "x2": x,
                                         "y2": frame.bottom})
                         + _text(x, label_y, _fit_text(label, 140, 11), "reference-label", "middle")))
    description = (f"Horizontal bar chart of {len(labels)} bars. Values from "
                   f"{format_exact(min(numbers), x_format, currency=currency)} to "
                   f"{format_exact(max(numbers), x_format, currency=currency)}.")
    return _svg(width, height, title, description, body, "horizontal-bar")


def _staggered_reference_labels(references: list[ReferenceLine], x_scale: _Scale, x_format: ValueFormat,
                                currency: str) -> list[tuple[float, str, int]]:
    """Each reference line's x, label and label row: 0 nearest the plot, one row up per overlap."""
    placed: list[tuple[float, str, int]] = []
    extents: list[tuple[float, float, int]] = []  # left, right, row of each label placed
    for line in references:
        x = x_scale(line.value)
        value_text = format_exact(line.value, x_format, currency=currency)
        label = f"{line.label}: {value_text}" if line.label else value_text
        half = min(_text_width(label, 11), 140) / 2 + 3
        level = 0
        while any(row == level and left < x + half and x - half < right for left, right, row in extents):
            level += 1
        extents.append((x - half, x + half, level))
        placed.append((x, label, level))
    return placed
