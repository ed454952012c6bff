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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa

from credit.features.asof import AsOfGrid
from credit.features.block import FeatureBlock
from credit.features.definitions import ALL_HISTORY, Aggregate, Feature, Ratio, Window, check_definitions
from credit.features.history import History
from credit.features.sources import DAY_US, SOURCES, Source, prepare, reads_helper_tables
from credit.features.stages import stage

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
    by_stream = _by_stream(features)
    if any(reads_helper_tables(SOURCES[source_name]) for source_name, _ in by_stream):
        prepare_streams(history, grid)
    block = FeatureBlock(firms, grid.dates)
    # NumPy combines one stream's partials while DuckDB scans the next: both release the GIL,
    # so the combining runs on the core DuckDB leaves idle between its parallel phases
    with ThreadPoolExecutor(max_workers=1) as combiner:
        pending, pairs = [], {}
        for (source_name, role), stream_features in by_stream.items():
            with stage(f"  scan {source_name} as {role}"):
                scanned = _scan(history, SOURCES[source_name], role, stream_features, grid, pairs)
            pending.append(combiner.submit(_combine_scanned, scanned, block, grid, stream_features))
        with stage("  combining left after the last scan"):
            for done in pending:
                for name, values in done.result():
                    block.add(name, values)
    return block


def _by_stream(features: list[Feature]) -> dict[tuple[str, str], list[Feature]]:
    by_stream: dict[tuple[str, str], list[Feature]] = defaultdict(list)
    for feature in features:
        by_stream[(feature.source, feature.entity)].append(feature)
    return by_stream


def column_order(features: list[Feature]) -> list[str]:
    """The columns :func:`compute_features` returns for ``features``, in its order (stream by stream)."""
    return [name for stream_features in _by_stream(features).values()
            for feature in stream_features for name in feature.column_names()]


def _combine_scanned(scanned: _Scanned, block: FeatureBlock, grid: AsOfGrid,
                     features: list[Feature]) -> list[tuple[str, np.ndarray]]:
    partials = scanned.partials(block, grid)
    return [(name, partials.window_values(feature.of, window))
            for feature in features for window, name in zip(feature.windows, feature.column_names(), strict=True)]


def prepare_streams(history: History, grid: AsOfGrid) -> None:
    """Build the derived streams' helper tables for events before the grid's last date (once)."""
    until = datetime(grid.last.year, grid.last.month, grid.last.day)
    if history.prepared_until != until:
        prepare(history, until)
        history.prepared_until = until


def register_grid(history: History, grid: AsOfGrid, firms: np.ndarray) -> None:
    """Give the history connection the day -> segment map and the firms features are computed for."""
    days = grid.day_segments()
    history.connection.register("_day_segments", pa.table({
        "day": pa.array(days["day"].dt.date, type=pa.date32()), "segment": pa.array(days["segment"], type=pa.int32())}))
    history.connection.register("_universe", pa.table({"firm_id": pa.array(firms, type=pa.int64())}))
    history.whole_universe = len(firms) == history.one("SELECT count(*) FROM firms")[0]


def events_scope(source: Source, role: str, grid: AsOfGrid, whole_universe: bool) -> str:
    """FROM clause: the stream's events before the last as-of date, of the universe's firms, with their segment.

    The role's firm id is ``firm_id``. Without ``whole_universe`` only firms in ``_universe`` are read.
    """
    key, time = source.entities[role], source.event_time
    among = "" if whole_universe else f" AND e.{key} IN (SELECT firm_id FROM _universe)"
    return (f"FROM (SELECT *, {key} AS firm_id FROM ({source.select})) e "
            f"LEFT JOIN _day_segments d ON d.day = CAST(e.{time} AS DATE) "
            f"WHERE e.{time} < TIMESTAMP '{grid.last.isoformat()} 00:00:00'{among}")


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
    distinct: dict[Aggregate, tuple[np.ndarray, np.ndarray]]
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
                    out = np.vstack([reduce(values[a:b], axis=0, initial=initial) for a, b in zip(lo, hi, strict=True)])
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
        # a (firm, value) counts in a window when its segment mask meets the window's segments
        rows, masks = self.distinct[aggregate]
        out = np.empty((len(lo), self.rows))
        for k, (a, b) in enumerate(zip(lo, hi, strict=True)):
            present = np.zeros(len(rows), dtype=bool)
            for word in range(masks.shape[1]):
                present |= (masks[:, word] & _segment_bits(a, b, word)) != 0
            out[k] = np.bincount(rows[present], minlength=self.rows)
        return out


def _segment_bits(lo: int, hi: int, word: int) -> np.uint64:
    """Bits of segments ``[lo, hi)`` that fall in 64-segment word ``word``."""
    first, last = max(lo - 64 * word, 0), min(hi - 64 * word, 64)
    if last <= first:
        return np.uint64(0)
    return np.uint64(sum(1 << bit for bit in range(first, last)))


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
            condition = f"({aggregate.filter}) AND {column} IS NOT NULL" if aggregate.filter else f"{column} IS NOT NULL"
            # the key orders by time, then value: equal times resolve the same way in any batch
            key = f"CAST(epoch_us(e.{time}) AS HUGEINT) * {2**64} + CAST({column} AS HUGEINT)"
            return {"n": f"count({column}){where}", "last": f"arg_max({column}, {key}) FILTER (WHERE {condition})"}
    raise AssertionError(aggregate.function)


_FILLS = {"min": INT64_MAX, "max": INT64_MIN}


def _scan(history: History, source: Source, role: str, features: list[Feature], grid: AsOfGrid,
          pairs: dict[tuple, pa.Table]) -> _Scanned:
    """Partial aggregates of one stream role: one grouped query, plus one per distinct count.

    ``pairs`` keeps the segment masks of distinct partners (another role's firm, as the buyer's
    suppliers) for the partner's role, which reads the same (buyer, supplier) masks by the other key.
    """
    scope = events_scope(source, role, grid, history.whole_universe)
    # identical partial expressions (the count behind a mean and a count, say) are computed once
    expressions: dict[str, str] = {}
    parts: dict[Aggregate, dict[str, str]] = {}
    wanted = {a for f in features for a in f.aggregates}
    for aggregate in sorted(wanted, key=repr):
        if aggregate.function != "distinct_count":
            parts[aggregate] = {part: expressions.setdefault(expression, f"p{len(expressions)}")
                                for part, expression in _parts(aggregate, source.event_time).items()}
    grouped = None
    if expressions:
        select = ", ".join(f"{expression} AS {alias}" for expression, alias in expressions.items())
        grouped = history.connection.sql(f"SELECT firm_id, {SEGMENT} AS segment, {select} {scope} GROUP BY ALL"
                                         ).to_arrow_table()
    distinct = {}
    words = -(-grid.segments // 64)
    for aggregate in sorted((a for a in wanted if a.function == "distinct_count"), key=repr):
        # one row per (firm, value): a bitmask of the segments the value occurs in, 64 per word
        masks = ", ".join(f"CAST(bit_or(CASE WHEN segment // 64 = {w} THEN CAST(1 AS UBIGINT) << CAST(segment % 64 AS UBIGINT) "
                          f"ELSE CAST(0 AS UBIGINT) END) AS UBIGINT) AS w{w}" for w in range(words))
        condition = f" AND ({aggregate.filter})" if aggregate.filter else ""
        # a partner count of every firm: the other role's count of partners groups the same pairs
        # (only every firm's: for a subset the scope keeps this role's firms' events only)
        partner = history.whole_universe and aggregate.column in source.entities.values()
        key = (source.name, frozenset((source.entities[role], aggregate.column)), aggregate.filter)
        if partner and key in pairs:
            shared = pairs.pop(key)
            distinct[aggregate] = shared.select(["value", *shared.column_names[2:]]).rename_columns(
                ["firm_id", *shared.column_names[2:]])
            continue
        table = history.connection.sql(
            f"SELECT firm_id{', value' if partner else ''}, {masks} FROM (SELECT firm_id, {SEGMENT} AS segment, "
            f"e.{aggregate.column} AS value {scope} AND e.{aggregate.column} IS NOT NULL{condition}) "
            f"GROUP BY firm_id, value").to_arrow_table()
        if partner:
            pairs[key] = table
            table = table.drop_columns(["value"])
        distinct[aggregate] = table
    return _Scanned(parts, grouped, distinct, words)


@dataclass
class _Scanned:
    """What DuckDB returned for one stream role, before it is laid out per (segment, firm)."""

    parts: dict[Aggregate, dict[str, str]]
    grouped: pa.Table | None
    distinct: dict[Aggregate, pa.Table]
    words: int

    def partials(self, block: FeatureBlock, grid: AsOfGrid) -> _Partials:
        firms = len(block.firms)
        shape = (grid.segments, firms)
        arrays: dict[str, np.ndarray] = {}
        if self.grouped is not None:
            table = self.grouped
            cells = table.column("segment").to_numpy() * firms + block.positions(table.column("firm_id").to_numpy())
            fills = {alias: _FILLS[part] for names in self.parts.values() for part, alias in names.items()
                     if part in _FILLS}
            for alias in table.column_names[2:]:
                column, fill = table.column(alias), fills.get(alias, 0)
                dtype = np.float64 if pa.types.is_floating(column.type) else np.int64
                dense = np.zeros(shape, dtype=dtype) if fill == 0 else np.full(shape, fill, dtype=dtype)
                dense.reshape(-1)[cells] = column.fill_null(fill).to_numpy()
                arrays[alias] = dense
        distinct = {aggregate: (block.positions(table.column("firm_id").to_numpy()),
                                np.column_stack([table.column(f"w{w}").to_numpy() for w in range(self.words)]))
                    for aggregate, table in self.distinct.items()}
        return _Partials(grid, firms, self.parts, arrays, distinct)
