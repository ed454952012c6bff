"""The engine: every declarative feature, for every firm and as-of date, one scan per stream role.

For each (stream, role) pair one DuckDB query reads the stream once, keeps events before the
last as-of date, gives each its time segment (:mod:`credit.features.asof`) and computes the
partial aggregates every definition on that stream needs, grouped by (firm, segment):
counts, sums, sums of squares, minima, maxima, the latest value and time. NumPy then turns
them into each window of each as-of date: cumulative sums for counts, sums and spreads, a
running "latest non-empty segment" for last values and recency, and slices for minima and
maxima. Counts, sums, minima, maxima and latest values are exact integers, so computing an
as-of date alone or in a batch gives the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa

from credit.features.asof import AsOfGrid
from credit.features.block import FeatureBlock
from credit.features.definitions import ALL_HISTORY, Aggregate, Feature, Ratio, Window, check_definitions
from credit.features.history import History
from credit.features.sources import DAY_US, SOURCES, Source, prepare

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def compute_features(history: History, grid: AsOfGrid, features: list[Feature], firms: np.ndarray) -> FeatureBlock:
    """Compute ``features`` for ``firms`` at every as-of date of ``grid``.

    Parameters
    ----------
    history
        The transaction history.
    grid
        As-of dates; it must know every finite window the features use.
    features
        Declarative definitions (checked first).
    firms
        Sorted firm ids to compute for; events of other firms are not read.

    Returns
    -------
    FeatureBlock
        One column per feature and window.

    Raises
    ------
    FeatureDefinitionError
        If a definition cannot be computed.
    """
    check_definitions(features)
    missing = {w for f in features for w in f.windows if w != ALL_HISTORY} - set(grid.windows)
    if missing:
        raise ValueError(f"the as-of grid lacks window(s) {sorted(missing)}")
    register_grid(history, grid, firms)
    block = FeatureBlock(firms, grid.dates)
    by_stream: dict[tuple[str, str], list[Feature]] = defaultdict(list)
    for feature in features:
        by_stream[(feature.source, feature.entity)].append(feature)
    for (source_name, role), stream_features in by_stream.items():
        partials = _scan(history, SOURCES[source_name], role, stream_features, grid, len(firms))
        for feature in stream_features:
            for window, name in zip(feature.windows, feature.column_names(), strict=True):
                block.add(name, partials.window_values(feature.of, window))
    return block


def register_grid(history: History, grid: AsOfGrid, firms: np.ndarray) -> None:
    """Give the history connection the day -> segment map, the firms (with their row) and helpers."""
    until = datetime(grid.last.year, grid.last.month, grid.last.day)
    if history.prepared_until != until:
        prepare(history, until)
        history.prepared_until = until
    days = grid.day_segments()
    history.connection.register("_day_segments", pa.table({
        "day": pa.array(days["day"].dt.date, type=pa.date32()), "segment": pa.array(days["segment"], type=pa.int32())}))
    history.connection.register("_universe", pa.table({
        "firm_id": pa.array(firms, type=pa.int64()), "row": pa.array(np.arange(len(firms)), type=pa.int64())}))


def events_scope(source: Source, role: str, grid: AsOfGrid) -> str:
    """FROM clause: the stream's events before the last as-of date, of the universe's firms, with row and segment."""
    key, time = source.entities[role], source.event_time
    return (f"FROM ({source.select}) e JOIN _universe u ON u.firm_id = e.{key} "
            f"LEFT JOIN _day_segments d ON d.day = CAST(e.{time} AS DATE) "
            f"WHERE e.{time} < TIMESTAMP '{grid.last.isoformat()} 00:00:00'")


SEGMENT = "coalesce(d.segment, 0)"


@dataclass
class _Partials:
    """Dense (segment, firm row) arrays of one stream role's partial aggregates.

    Segment-major, so a window's edges are whole rows of the cumulative arrays.
    """

    grid: AsOfGrid
    rows: int
    parts: dict[Aggregate, dict[str, str]]
    arrays: dict[str, np.ndarray]
    distinct: dict[Aggregate, tuple[np.ndarray, np.ndarray, np.ndarray]]
    _cache: dict[str, np.ndarray] = field(default_factory=dict)

    def window_values(self, of: Aggregate | Ratio, window: Window) -> np.ndarray:
        """Values at every as-of date, shape (rows, dates)."""
        ranges = [self.grid.range(d, window) for d in self.grid.dates]
        lo = np.array([r.lo for r in ranges])
        hi = np.array([r.hi for r in ranges])
        if isinstance(of, Ratio):
            numerator, denominator = self._values(of.numerator, lo, hi), self._values(of.denominator, lo, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)
        else:
            values = self._values(of, lo, hi)
        return values.T

    def _cumulative(self, name: str) -> np.ndarray:
        key = "cum:" + name
        if key not in self._cache:
            values = self.arrays[name]
            out = np.zeros((values.shape[0] + 1, values.shape[1]), dtype=values.dtype)
            np.cumsum(values, axis=0, out=out[1:])
            self._cache[key] = out
        return self._cache[key]

    def _latest_segment(self, count_name: str) -> np.ndarray:
        """For each segment s and firm, the last segment <= s with an event (-1 if none)."""
        key = "latest:" + count_name
        if key not in self._cache:
            segments = np.arange(self.grid.segments)[:, None]
            self._cache[key] = np.maximum.accumulate(np.where(self.arrays[count_name] > 0, segments, -1), axis=0)
        return self._cache[key]

    def _values(self, aggregate: Aggregate, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        if aggregate.function == "distinct_count":
            return self._distinct(aggregate, lo, hi)
        names = self.parts[aggregate]

        def windowed(name: str) -> np.ndarray:
            cumulative = self._cumulative(name)
            return cumulative[hi] - cumulative[lo]

        n = windowed(names["n"]).astype(np.float64)
        has = n > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            match aggregate.function:
                case "count":
                    return n
                case "sum":
                    return windowed(names["s"]).astype(np.float64)
                case "mean":
                    return np.where(has, windowed(names["s"]) / n, np.nan)
                case "std":
                    s, q = windowed(names["s"]).astype(np.float64), windowed(names["q"])
                    variance = np.maximum((q - s * s / n) / (n - 1), 0.0)
                    return np.where(n >= 2, np.sqrt(variance), np.nan)
                case "min" | "max":
                    values = self.arrays[names[aggregate.function]]
                    reduce = np.min if aggregate.function == "min" else np.max
                    initial = INT64_MAX if aggregate.function == "min" else INT64_MIN
                    out = np.vstack([reduce(values[a:b], axis=0, initial=initial) for a, b in zip(lo, hi)])
                    return np.where(has, out, np.nan)
                case "last" | "days_since":
                    latest = self._latest_segment(names["n"])[hi - 1]
                    valid = latest >= lo[:, None]
                    index = np.maximum(latest, 0)
                    firm_rows = np.arange(self.rows)[None, :]
                    if aggregate.function == "last":
                        return np.where(valid, self.arrays[names["last"]][index, firm_rows], np.nan)
                    as_of_us = self.grid.as_of_timestamps().astype(np.int64)
                    elapsed = as_of_us[:, None] - self.arrays[names["t"]][index, firm_rows]
                    return np.where(valid, elapsed / DAY_US, np.nan)
        raise AssertionError(aggregate.function)

    def _distinct(self, aggregate: Aggregate, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        # a value counts once per window: at its first segment inside it, the one whose
        # previous occurrence (same firm and value) lies before the window
        rows, segments, previous = self.distinct[aggregate]  # sorted by segment
        out = np.empty((len(lo), self.rows))
        for k, (a, b) in enumerate(zip(lo, hi)):
            start, stop = np.searchsorted(segments, [a, b])
            first = previous[start:stop] < a
            out[k] = np.bincount(rows[start:stop][first], minlength=self.rows)
        return out


def _parts(aggregate: Aggregate, time: str) -> dict[str, str]:
    """The partial aggregates ``aggregate`` needs: part name -> DuckDB expression."""
    where = f" FILTER (WHERE {aggregate.filter})" if aggregate.filter else ""
    column = aggregate.column
    match aggregate.function:
        case "count":
            return {"n": f"count(*){where}"}
        case "days_since":
            return {"n": f"count(*){where}", "t": f"max(epoch_us(e.{time})){where}"}
        case "sum" | "mean":
            return {"n": f"count({column}){where}", "s": f"CAST(sum({column}){where} AS BIGINT)"}
        case "std":
            return {"n": f"count({column}){where}", "s": f"CAST(sum({column}){where} AS BIGINT)",
                    "q": f"CAST(sum(CAST({column} AS HUGEINT) * {column}){where} AS DOUBLE)"}
        case "min" | "max":
            return {"n": f"count({column}){where}", aggregate.function: f"{aggregate.function}({column}){where}"}
        case "last":
            # the latest event wins; equal times fall back to the larger value, so ties are deterministic
            condition = f"({aggregate.filter}) AND {column} IS NOT NULL" if aggregate.filter else f"{column} IS NOT NULL"
            return {"n": f"count({column}){where}",
                    "last": f"max({{'t': epoch_us(e.{time}), 'v': {column}}}) FILTER (WHERE {condition}).v"}
    raise AssertionError(aggregate.function)


_FILLS = {"min": INT64_MAX, "max": INT64_MIN}


def _scan(history: History, source: Source, role: str, features: list[Feature], grid: AsOfGrid,
          firms: int) -> _Partials:
    """Partial aggregates of one stream role: one grouped query, plus one per distinct count."""
    scope = events_scope(source, role, grid)
    # identical partial expressions (the count behind a mean and a count, say) are computed once
    expressions: dict[str, str] = {}
    parts: dict[Aggregate, dict[str, str]] = {}
    wanted = {a for f in features for a in f.aggregates}
    for aggregate in sorted(wanted, key=repr):
        if aggregate.function != "distinct_count":
            parts[aggregate] = {part: expressions.setdefault(expression, f"p{len(expressions)}")
                                for part, expression in _parts(aggregate, source.event_time).items()}
    shape = (grid.segments, firms)
    arrays: dict[str, np.ndarray] = {}
    if expressions:
        select = ", ".join(f"{expression} AS {alias}" for expression, alias in expressions.items())
        table = history.connection.sql(f"SELECT u.row, {SEGMENT} AS segment, {select} {scope} GROUP BY ALL").to_arrow_table()
        cells = table.column("segment").to_numpy() * firms + table.column("row").to_numpy()
        fills = {alias: _FILLS[part] for names in parts.values() for part, alias in names.items() if part in _FILLS}
        for alias in expressions.values():
            column, fill = table.column(alias), fills.get(alias, 0)
            dtype = np.float64 if pa.types.is_floating(column.type) else np.int64
            dense = np.zeros(shape, dtype=dtype) if fill == 0 else np.full(shape, fill, dtype=dtype)
            dense.reshape(-1)[cells] = column.fill_null(fill).to_numpy()
            arrays[alias] = dense
    distinct = {}
    for aggregate in sorted((a for a in wanted if a.function == "distinct_count"), key=repr):
        condition = f" AND ({aggregate.filter})" if aggregate.filter else ""
        table = history.connection.sql(
            f"SELECT row, segment, lag(segment, 1, -1) OVER (PARTITION BY row, value ORDER BY segment) AS previous "
            f"FROM (SELECT DISTINCT u.row, {SEGMENT} AS segment, e.{aggregate.column} AS value {scope} "
            f"AND e.{aggregate.column} IS NOT NULL{condition}) ORDER BY segment").to_arrow_table()
        distinct[aggregate] = tuple(table.column(c).to_numpy() for c in ("row", "segment", "previous"))
    return _Partials(grid, firms, parts, arrays, distinct)
