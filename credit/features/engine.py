"""The engine: every declarative feature, for every firm and as-of date, one read per stream.

For each stream one DuckDB query reads it once, keeps events before the last as-of date and
evaluates the columns and filters the definitions on it need. NumPy gives each event its time
segment (:mod:`credit.features.asof`) and, for every role of the stream at once, computes the
partial aggregates per (segment, firm) cell: counts, sums, sums of squares, minima, maxima,
the latest value and time. NumPy then turns them into each window of each as-of date:
cumulative sums for counts, sums and spreads, a running "latest non-empty segment" for last
values and recency, and slices for minima and maxima. Counts, sums, minima, maxima and latest
values are exact integers, so computing an as-of date alone or in a batch gives the same
numbers. Distinct counts of a column with few values (goods categories) are marked per
(value, segment, firm) in the same pass; the others are one grouped DuckDB query each, per
(firm, value). A caller may ask the same pass for a column's sum per firm and calendar month
(:class:`MonthlyTotals`), so that the monthly trends need no read of the stream of their own.
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
from credit.features.sources import DAY_US, SOURCES, Source, prepare, reads_helper_tables
from credit.features.stages import stage

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


@dataclass
class MonthlyTotals:
    """A request for one column's sum per firm and calendar month, taken in the pass over its stream.

    Months are numbered ``year * 12 + month - 1``; events before ``first_month`` are left out.
    :func:`compute_features` fills ``totals``: for every role of ``source``, an int64 array of
    shape ``(firms, months)`` (exact sums; null values count as none).
    """

    source: str
    column: str
    first_month: int
    months: int
    totals: dict[str, np.ndarray] = field(default_factory=dict)


def compute_features(history: History, grid: AsOfGrid, features: list[Feature], firms: np.ndarray,
                     monthly: MonthlyTotals | None = None) -> FeatureBlock:
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
    monthly
        Monthly sums to take in the same pass over their stream (which is read for them even
        when no feature needs it); filled in place.

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
    by_source: dict[str, dict[str, list[Feature]]] = defaultdict(dict)
    for (source_name, role), stream_features in by_stream.items():
        by_source[source_name][role] = stream_features
    if monthly is not None:
        for role in SOURCES[monthly.source].entities:
            by_source[monthly.source].setdefault(role, [])
    computed: dict[tuple[str, str], list[tuple[str, np.ndarray]]] = {}
    for source_name, roles in by_source.items():
        wanted = monthly if monthly is not None and monthly.source == source_name else None
        with stage(f"  scan {source_name} as {' and '.join(roles)}"):
            scanned = _scan_source(history, SOURCES[source_name], roles, grid, block, wanted)
        with stage(f"  windows of {source_name}"):
            for role in roles:  # each role's partials dropped once its windows are out: never two streams' at once
                computed[(source_name, role)] = _combine(scanned.pop(role), grid, roles[role])
    for stream in by_stream:  # in the streams' order, whatever order they were read in
        for name, values in computed.pop(stream):
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


def _combine(partials: _Partials, grid: AsOfGrid, features: list[Feature]) -> list[tuple[str, np.ndarray]]:
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
            out = np.empty((values.shape[0] + 1, values.shape[1]), dtype=values.dtype)
            out[0] = 0
            # segment by segment, each a contiguous row: the same additions in the same order as
            # np.cumsum(axis=0), which walks the segment-major array column by column, 2-3x slower
            for segment in range(values.shape[0]):
                np.add(out[segment], values[segment], out=out[segment + 1])
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


# A partial aggregate: (kind, column, filter). Kinds: "n" count (of the column's non-null values,
# or of events without a column), "s" sum, "q" sum of squares, "min", "max", "last" the value of
# the latest event (ties in time: the largest value), "t" the latest event time (epoch us).
Part = tuple[str, str | None, str | None]


def _parts(aggregate: Aggregate) -> dict[str, Part]:
    """The partial aggregates ``aggregate`` needs: part name -> partial."""
    column, where = aggregate.column, aggregate.filter
    match aggregate.function:
        case "count":
            return {"n": ("n", None, where)}
        case "days_since":
            return {"n": ("n", None, where), "t": ("t", None, where)}
        case "sum" | "mean":
            return {"n": ("n", column, where), "s": ("s", column, where)}
        case "std":
            return {"n": ("n", column, where), "s": ("s", column, where), "q": ("q", column, where)}
        case "min" | "max":
            return {"n": ("n", column, where), aggregate.function: (aggregate.function, column, where)}
        case "last":
            return {"n": ("n", column, where), "last": ("last", column, where)}
    raise AssertionError(aggregate.function)


BATCH_ROWS = 1 << 19
"""Events read from DuckDB and aggregated at a time (both roles' partials from each batch)."""
SQUARE_EXACT = 1 << 31
"""Values below this in magnitude have squares that split into two 32-bit halves summed in int64."""


def _scan_source(history: History, source: Source, roles: dict[str, list[Feature]], grid: AsOfGrid,
                 block: FeatureBlock, monthly: MonthlyTotals | None = None) -> dict[str, _Partials]:
    """Partial aggregates of every role of one stream from one read of it, plus one query per distinct count.

    DuckDB evaluates the stream, its filters and its columns; NumPy gives each event its
    (segment, firm) cell and sums, counts and takes extremes per cell for every role at once,
    in integers, so the partials are exactly those a grouped query returns. ``monthly`` (of
    this stream) is summed per (month, firm) in the same pass.
    """
    plans: dict[str, tuple[dict[Aggregate, dict[str, str]], dict[str, Part]]] = {}
    for role, features in roles.items():
        parts: dict[Aggregate, dict[str, str]] = {}
        aliases: dict[Part, str] = {}
        for aggregate in sorted({a for f in features for a in f.aggregates}, key=repr):
            if aggregate.function != "distinct_count":
                parts[aggregate] = {name: aliases.setdefault(part, f"p{len(aliases)}")
                                    for name, part in _parts(aggregate).items()}
        plans[role] = (parts, {alias: part for part, alias in aliases.items()})
    wanted = [part for _, by_alias in plans.values() for part in by_alias.values()]
    accumulators = {role: _Accumulator(grid.segments, len(block.firms), by_alias)
                    for role, (_, by_alias) in plans.items() if by_alias}
    # distinct counts of a column that is not a firm: tried in the pass (a partner count is not)
    few = {(role, aggregate): _FewValues(grid.segments, len(block.firms))
           for role in accumulators for aggregate in sorted({a for f in roles[role] for a in f.aggregates}, key=repr)
           if aggregate.function == "distinct_count" and aggregate.column not in source.entities.values()}
    months = {role: _MonthSums(monthly, len(block.firms)) for role in roles} if monthly is not None else {}
    if accumulators or months:
        columns = sorted({column for _, column, _ in wanted if column is not None}
                         | ({monthly.column} if monthly is not None else set()))
        filters = sorted({where for _, _, where in wanted if where is not None}
                         | {a.filter for _, a in few if a.filter is not None})
        raw = sorted({a.column for _, a in few})
        keys = {role: source.entities[role] for role in roles if role in accumulators or role in months}
        select = [f"e.{key} AS k_{role}" for role, key in keys.items()]
        select += [f"epoch_us(e.{source.event_time}) AS t"]
        select += [f"CAST(e.{column} AS BIGINT) AS c{i}" for i, column in enumerate(columns)]
        select += [f"coalesce(({where}), false) AS f{i}" for i, where in enumerate(filters)]
        select += [f"e.{column} AS v{i}" for i, column in enumerate(raw)]
        among = "" if history.whole_universe else \
            " AND (" + " OR ".join(f"e.{key} IN (SELECT firm_id FROM _universe)" for key in keys.values()) + ")"
        reader = history.connection.sql(
            f"SELECT {', '.join(select)} FROM ({source.select}) e "
            f"WHERE e.{source.event_time} < TIMESTAMP '{grid.last.isoformat()} 00:00:00'{among}"
        ).to_arrow_reader(BATCH_ROWS)
        segment_of = _SegmentOf(grid)
        for batch in reader:
            segments = segment_of(batch.column("t").to_numpy())
            values = {column: _integers(batch.column(f"c{i}")) for i, column in enumerate(columns)}
            masks = {where: batch.column(f"f{i}").to_numpy(zero_copy_only=False) for i, where in enumerate(filters)}
            month = _month_number(batch.column("t").to_numpy()) if months else None
            # both roles mark the same values: encoded once per batch
            encoded = [batch.column(f"v{i}").dictionary_encode() for i in range(len(raw))]
            for role in keys:
                ids = batch.column(f"k_{role}").to_numpy()
                if history.whole_universe:
                    rows, known = block.positions(ids), None
                else:
                    rows = block.rows_or_missing(ids)
                    known = rows >= 0
                if role in months:
                    months[role].add(month, rows, known, values[monthly.column])
                if role not in accumulators:
                    continue
                accumulator = accumulators[role]
                cells = segments * len(block.firms) + rows
                accumulator.add(cells, known, batch.column("t").to_numpy(), values, masks)
                for (of_role, aggregate), marks in few.items():
                    if of_role == role:
                        keep = known
                        if aggregate.filter is not None:
                            keep = masks[aggregate.filter] if keep is None else keep & masks[aggregate.filter]
                        marks.add(cells, keep, encoded[raw.index(aggregate.column)])
    if monthly is not None:
        monthly.totals.update({role: sums.dense.reshape(sums.shape).T for role, sums in months.items()})
    out = {}
    pairs: dict[tuple, pa.Table] = {}
    for role, features in roles.items():
        parts, _ = plans[role]
        arrays = accumulators[role].arrays() if role in accumulators else {}
        counted = {aggregate: marks.rows_and_masks() for (of_role, aggregate), marks in few.items()
                   if of_role == role and marks.present is not None}
        distinct = counted | _distinct(history, source, role, features, grid, block, pairs, set(counted))
        out[role] = _Partials(grid, len(block.firms), parts, arrays, distinct)
    return out


class _SegmentOf:
    """Event time (epoch microseconds) -> segment of the grid, by the event's calendar day."""

    def __init__(self, grid: AsOfGrid) -> None:
        days = grid.day_segments()
        # the day before the first boundary leads the table: a clipped index sends every earlier
        # day to it (segment 0), and days past the table's end (not read) to its last day
        self.first = _day_number(grid.boundaries[0]) - 1
        self.table = np.concatenate([[0], days["segment"].to_numpy().astype(np.int64)])

    def __call__(self, times_us: np.ndarray) -> np.ndarray:
        return np.take(self.table, np.floor_divide(times_us, DAY_US) - self.first, mode="clip")


def _month_number(times_us: np.ndarray) -> np.ndarray:
    """Calendar month (``year * 12 + month - 1``) of each event time (epoch microseconds)."""
    return times_us.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64) + 1970 * 12


class _MonthSums:
    """One role's sums of a column per (month, firm) cell of a :class:`MonthlyTotals`, batch by batch."""

    def __init__(self, monthly: MonthlyTotals, firms: int) -> None:
        self.first, self.shape = monthly.first_month, (monthly.months, firms)
        self.dense = np.zeros(monthly.months * firms, dtype=np.int64)

    def add(self, month: np.ndarray, rows: np.ndarray, known: np.ndarray | None,
            values: tuple[np.ndarray, np.ndarray | None]) -> None:
        index = month - self.first
        keep = (index >= 0) & (index < self.shape[0])
        for extra in (known, values[1]):
            if extra is not None:
                keep &= extra
        at = np.flatnonzero(keep)
        value = values[0][at]
        _check_sum(value, len(at), "a monthly total")
        np.add.at(self.dense, index[at] * self.shape[1] + rows[at], value)


def _day_number(day: object) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


def _integers(column: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """An integer column's values (0 where null) and where it is not null (None: nowhere null)."""
    if column.null_count == 0:
        return column.to_numpy(), None
    return column.fill_null(0).to_numpy(), column.is_valid().to_numpy(zero_copy_only=False)


class _Accumulator:
    """Dense (segment, firm) partials of one role, summed batch by batch."""

    def __init__(self, segments: int, firms: int, parts: dict[str, Part]) -> None:
        self.size, self.shape, self.parts = segments * firms, (segments, firms), parts
        self.dense: dict[str, np.ndarray] = {}
        self.big_squares: dict[str, dict[int, int]] = {}
        # Counts under the same filter differ only where a counted column is null, which most
        # columns never are: each such count follows a leader (the count of events if asked
        # for) and keeps only its difference from it, summed in the batches that have nulls.
        self.leaders: dict[str, str] = {}
        self.differences: dict[str, np.ndarray] = {}
        counts = sorted((column is not None, alias, where) for alias, (kind, column, where) in parts.items()
                        if kind == "n")
        first_of: dict[str | None, str] = {}
        for _, alias, where in counts:
            if where in first_of:
                self.leaders[alias] = first_of[where]
            else:
                first_of[where] = alias
        for alias, (kind, _, _) in parts.items():
            if alias in self.leaders:
                continue
            if kind == "q":  # the squares' high and low 32 bits, summed apart so neither sum overflows
                self.dense[alias + ":hi"] = np.zeros(self.size, dtype=np.int64)
                self.dense[alias + ":lo"] = np.zeros(self.size, dtype=np.int64)
                self.big_squares[alias] = {}
            elif kind == "last":
                self.dense[alias + ":t"] = np.full(self.size, INT64_MIN, dtype=np.int64)
                self.dense[alias] = np.full(self.size, INT64_MIN, dtype=np.int64)
            else:
                fill = {"min": INT64_MAX, "max": INT64_MIN, "t": INT64_MIN}.get(kind, 0)
                self.dense[alias] = np.full(self.size, fill, dtype=np.int64)

    def add(self, cells: np.ndarray, known: np.ndarray | None, times: np.ndarray,
            values: dict[str, tuple[np.ndarray, np.ndarray | None]], masks: dict[str, np.ndarray]) -> None:
        selected: dict[tuple[str | None, str | None], np.ndarray | None] = {}

        def select(column: str | None, where: str | None) -> np.ndarray | None:
            """The batch's events of a part: None for all of them, else their positions."""
            key = (column, where)
            if key not in selected:
                keep = known
                for extra in ((values[column][1] if column else None), (masks[where] if where else None)):
                    if extra is not None:
                        keep = extra if keep is None else keep & extra
                selected[key] = None if keep is None else np.flatnonzero(keep)
            return selected[key]

        for alias, (kind, column, where) in self.parts.items():
            if alias in self.leaders:
                leader_column = self.parts[self.leaders[alias]][1]
                if all(c is None or values[c][1] is None for c in (column, leader_column)):
                    continue  # no nulls in either counted column: the same events as the leader's
                difference = self.differences.setdefault(alias, np.zeros(self.size, dtype=np.int64))
                mine, leaders = select(column, where), select(leader_column, where)
                np.add.at(difference, cells if mine is None else cells[mine], 1)
                np.subtract.at(difference, cells if leaders is None else cells[leaders], 1)
                continue
            rows = select(column, where)
            at = cells if rows is None else cells[rows]
            value = None if column is None else (values[column][0] if rows is None else values[column][0][rows])
            dense = self.dense.get(alias)
            match kind:
                case "n":
                    np.add.at(dense, at, 1)
                case "s":
                    _check_sum(value, len(at), column)
                    np.add.at(dense, at, value)
                case "q":
                    self._add_squares(alias, at, value)
                case "min":
                    np.minimum.at(dense, at, value)
                case "max":
                    np.maximum.at(dense, at, value)
                case "t":
                    np.maximum.at(dense, at, times if rows is None else times[rows])
                case "last":
                    self._add_last(alias, at, times if rows is None else times[rows], value)

    def _add_squares(self, alias: str, at: np.ndarray, value: np.ndarray) -> None:
        big = np.abs(value) >= SQUARE_EXACT
        if big.any():  # squares past int64: summed as Python integers, cell by cell
            extra = self.big_squares[alias]
            for cell, v in zip(at[big].tolist(), value[big].tolist(), strict=True):
                extra[cell] = extra.get(cell, 0) + v * v
            at, value = at[~big], value[~big]
        square = value * value
        np.add.at(self.dense[alias + ":hi"], at, square >> 32)
        np.add.at(self.dense[alias + ":lo"], at, square & 0xFFFFFFFF)

    def _add_last(self, alias: str, at: np.ndarray, times: np.ndarray, value: np.ndarray) -> None:
        # the latest time per cell so far, then the largest value among the cell's events at it
        # (a cell whose latest time moves on forgets the value it held)
        held_time, held = self.dense[alias + ":t"], self.dense[alias]
        before = held_time[at]
        np.maximum.at(held_time, at, times)
        latest = held_time[at]
        held[at[before < latest]] = INT64_MIN
        at_latest = times == latest
        np.maximum.at(held, at[at_latest], value[at_latest])

    def arrays(self) -> dict[str, np.ndarray]:
        """The partials as a grouped query would give them, nulls filled as :class:`_Partials` expects."""
        out = {}
        for alias, (kind, _, _) in self.parts.items():
            if alias in self.leaders:
                leader = self.dense[self.leaders[alias]]
                # read only: a count without a difference shares its leader's array
                out[alias] = leader + self.differences.pop(alias) if alias in self.differences else leader
            elif kind == "q":
                out[alias] = self._squares(alias)
            elif kind in ("t", "last"):  # no event: null, filled with 0
                empty = (self.dense[alias + ":t"] if kind == "last" else self.dense[alias]) == INT64_MIN
                out[alias] = np.where(empty, 0, self.dense[alias])
            else:
                out[alias] = self.dense[alias]
            out[alias] = out[alias].reshape(self.shape)
        self.dense.clear()
        return out

    def _squares(self, alias: str) -> np.ndarray:
        hi, lo = self.dense.pop(alias + ":hi"), self.dense.pop(alias + ":lo")
        small = (hi < 1 << 30) & (lo < 1 << 62)  # below 2**63: exact in int64, then rounded once
        out = np.where(small, (hi << 32) + lo, 0).astype(np.float64)
        extra = self.big_squares.pop(alias)
        for cell in sorted(set(np.flatnonzero(~small).tolist()) | set(extra)):
            out[cell] = _hugeint_to_double((int(hi[cell]) << 32) + int(lo[cell]) + extra.get(cell, 0))
        return out


FEW_VALUES = 64
"""A distinct count's column with at most this many values is counted in the pass over its stream."""


class _FewValues:
    """Where each value of a column occurs, per (segment, firm) cell, while the column has few values.

    ``present`` holds one row of cells per value (``rows`` gives a value's row), so a batch is
    marked with one scatter whatever its values; it is None once the column has shown more
    than :data:`FEW_VALUES` values (a grouped query counts it then).
    """

    def __init__(self, segments: int, firms: int) -> None:
        self.size, self.shape = segments * firms, (segments, firms)
        self.rows: dict[object, int] = {}
        self.present: np.ndarray | None = np.zeros((0, self.size), dtype=bool)

    def add(self, cells: np.ndarray, keep: np.ndarray | None, encoded: pa.DictionaryArray) -> None:
        if self.present is None:
            return
        values = encoded.dictionary.to_pylist()
        new = [value for value in values if value not in self.rows]
        if len(self.rows) + len(new) > FEW_VALUES:
            self.present = None
            return
        if new:  # rare: a column of few values shows most of them in its first batch
            self.rows.update({value: len(self.rows) + k for k, value in enumerate(new)})
            grown = np.zeros((len(self.rows), self.size), dtype=bool)
            grown[:len(self.present)] = self.present
            self.present = grown
        codes = encoded.indices.fill_null(-1).to_numpy()
        hit = codes >= 0
        if keep is not None:
            hit &= keep
        at = np.flatnonzero(hit)
        row_of_code = np.array([self.rows[value] for value in values], dtype=np.int64)
        self.present.reshape(-1)[row_of_code[codes[at]] * self.size + cells[at]] = True

    def rows_and_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """(firm row, segment bitmask) per (firm, value) that occurs, as the grouped query gives them."""
        segments, firms = self.shape
        rows, masks = [np.zeros(0, dtype=np.int64)], [np.zeros((0, -(-segments // 64)), dtype=np.uint64)]
        for present in self.present:
            cells = present.reshape(self.shape)
            where = np.flatnonzero(cells.any(axis=0))
            mask = np.zeros((len(where), -(-segments // 64)), dtype=np.uint64)
            for segment in range(segments):
                mask[cells[segment, where], segment // 64] |= np.uint64(1 << (segment % 64))
            rows.append(where)
            masks.append(mask)
        return np.concatenate(rows), np.vstack(masks)


def _hugeint_to_double(value: int) -> float:
    """DuckDB's cast of a HUGEINT to DOUBLE: the low 64 bits, plus the high ones times 2**64 (as doubles)."""
    return float(value & (2**64 - 1)) + float(value >> 64) * float(2**64 - 1)


def _check_sum(value: np.ndarray, rows: int, column: str | None) -> None:
    """Refuse sums that could pass int64 (a grouped query's BIGINT would overflow and raise too)."""
    if not rows:
        return
    # the extremes as Python integers: no array of magnitudes per batch, and no overflow at -2**63
    largest = max(abs(int(value.max())), abs(int(value.min())))
    if float(largest) * rows >= 2.0**62:
        raise OverflowError(f"sum of {column} may pass the 64-bit range: {rows:,} values up to "
                            f"{largest:,} in magnitude")


def _distinct(history: History, source: Source, role: str, features: list[Feature], grid: AsOfGrid,
              block: FeatureBlock, pairs: dict[tuple, pa.Table],
              counted: set[Aggregate]) -> dict[Aggregate, tuple[np.ndarray, np.ndarray]]:
    """Distinct counts' (firm row, segment bitmask) rows: one grouped query per distinct count not ``counted``.

    ``pairs`` keeps the segment masks of distinct partners (another role's firm, as the buyer's
    suppliers) for the partner's role, which reads the same (buyer, supplier) masks by the other key.
    """
    scope = events_scope(source, role, grid, history.whole_universe)
    words = -(-grid.segments // 64)
    distinct = {}
    for aggregate in sorted({a for f in features for a in f.aggregates
                             if a.function == "distinct_count" and a not in counted}, key=repr):
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
            table = shared.select(["value", *shared.column_names[2:]]).rename_columns(
                ["firm_id", *shared.column_names[2:]])
        else:
            table = history.connection.sql(
                f"SELECT firm_id{', value' if partner else ''}, {masks} FROM (SELECT firm_id, {SEGMENT} AS segment, "
                f"e.{aggregate.column} AS value {scope} AND e.{aggregate.column} IS NOT NULL{condition}) "
                f"GROUP BY firm_id, value").to_arrow_table()
            if partner:
                pairs[key] = table
                table = table.drop_columns(["value"])
        distinct[aggregate] = (block.positions(table.column("firm_id").to_numpy()),
                               np.column_stack([table.column(f"w{w}").to_numpy() for w in range(words)]))
    return distinct
