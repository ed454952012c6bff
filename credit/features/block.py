"""Feature values for a set of firms at a set of as-of dates, one firm x date grid per column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd


@dataclass
class FeatureBlock:
    """Columns of shape ``(len(firms), len(dates))``: row ``i`` is ``firms[i]``, column ``k`` is ``dates[k]``.

    Every value is float64 with NaN for "no value" (a mean of no events, a ratio over zero);
    counts and sums of minor units are whole numbers well inside float64's exact range.
    """

    firms: np.ndarray
    dates: list[date]
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    _id_rows: np.ndarray | None = field(default=None, repr=False)

    def empty(self) -> np.ndarray:
        return np.full((len(self.firms), len(self.dates)), np.nan)

    def add(self, name: str, values: np.ndarray) -> None:
        if name in self.columns:
            raise ValueError(f"feature column {name!r} computed twice")
        if values.shape != (len(self.firms), len(self.dates)):
            raise ValueError(f"feature column {name!r} has shape {values.shape}, "
                             f"expected {(len(self.firms), len(self.dates))}")
        self.columns[name] = values.astype(np.float64, copy=False)

    def update(self, other: FeatureBlock) -> None:
        for name, values in other.columns.items():
            self.add(name, values)

    def positions(self, firm_ids: Iterable[int]) -> np.ndarray:
        """Row of each firm id in this block (every id must belong to it)."""
        ids = np.asarray(firm_ids, dtype=np.int64)
        position = self.rows_or_missing(ids)
        unknown = position < 0
        if unknown.any():
            raise KeyError(f"firm id(s) {ids[unknown][:5].tolist()} are not in the firms table")
        return position

    def rows_or_missing(self, firm_ids: Iterable[int]) -> np.ndarray:
        """Row of each firm id in this block, -1 for an id that is not in it."""
        ids = np.asarray(firm_ids, dtype=np.int64)
        lookup = self._lookup()
        if lookup is not None:
            # the engine looks up half a million ids per batch: when all are in range, a plain
            # gather is five times cheaper than masking the out-of-range ones
            if not len(ids) or (ids.min() >= 0 and ids.max() < len(lookup)):
                return lookup[ids]
            inside = (ids >= 0) & (ids < len(lookup))
            return np.where(inside, lookup[np.where(inside, ids, 0)], -1)
        position = np.minimum(np.searchsorted(self.firms, ids), len(self.firms) - 1)
        if not len(ids):
            return position
        return np.where(self.firms[position] == ids, position, -1)

    def _lookup(self) -> np.ndarray | None:
        """An id -> row array when ids are dense enough for one (a gather beats a binary search)."""
        if self._id_rows is None and len(self.firms) and 0 <= self.firms[0] and self.firms[-1] < 4 * len(self.firms) + 1_000_000:
            # filled before it is published: trade_network looks firms up from two threads at once
            id_rows = np.full(self.firms[-1] + 1, -1, dtype=np.int64)
            id_rows[self.firms] = np.arange(len(self.firms))
            self._id_rows = id_rows
        return self._id_rows

    def frame(self, mask: np.ndarray | None = None) -> pd.DataFrame:
        """Long form: one row per (firm, as-of), optionally only where ``mask`` is true."""
        firm_grid = np.repeat(self.firms, len(self.dates))
        date_grid = np.tile(np.array(self.dates, dtype="datetime64[us]"), len(self.firms))
        keep = np.ones(firm_grid.shape, dtype=bool) if mask is None else mask.reshape(-1)
        data = {"firm_id": firm_grid[keep], "as_of": date_grid[keep]}
        for name, values in self.columns.items():
            data[name] = values.reshape(-1)[keep]
        return pd.DataFrame(data)
