"""As-of dates and the time segments that let one scan serve every date and window.

An as-of date ``D`` stands for the instant ``D 00:00``; a feature at ``D`` sees only events
strictly before it, and a window of ``w`` days is ``[D - w days, D)``.

All window edges (each as-of date, and each as-of date minus each window) are sorted into
boundaries ``b_0 < b_1 < ... < b_m``. They cut time into segments: segment 0 is everything
before ``b_0`` and segment ``k`` is ``[b_{k-1}, b_k)``; events on or after the last as-of
date are never read. Every window of every as-of date is then exactly a run of whole
segments, so each event is aggregated once, into its segment, and a window's value is a
combination of its segments' partial aggregates. Edges are whole days, so an event's
segment is a function of its calendar day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from credit.features.definitions import ALL_HISTORY, Window


class AsOfError(ValueError):
    """An as-of date that cannot be used with this history."""


def monthly(first: date, last: date) -> list[date]:
    """The first day of every month from ``first``'s month to ``last``'s month, inclusive.

    As-of ``2024-02-01`` sees all of January, so these are month-end snapshots.
    """
    if last < first:
        raise AsOfError(f"monthly range ends ({last}) before it starts ({first})")
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@dataclass(frozen=True)
class Range:
    """Segments ``[lo, hi)`` that make up one window of one as-of date."""

    lo: int
    hi: int


class AsOfGrid:
    """As-of dates and the segments their windows cut time into.

    Parameters
    ----------
    as_of
        As-of dates (any order, duplicates allowed); stored sorted and unique.
    windows
        Every finite window (days) any feature will ask for.
    """

    def __init__(self, as_of: list[date], windows: set[int]) -> None:
        if not as_of:
            raise AsOfError("no as-of date given")
        self.dates: list[date] = sorted(set(as_of))
        self.windows = sorted(windows)
        edges = {d for d in self.dates} | {d - timedelta(days=w) for d in self.dates for w in self.windows}
        self.boundaries: list[date] = sorted(edges)
        self._position = {d: i for i, d in enumerate(self.boundaries)}

    @property
    def segments(self) -> int:
        """Number of segments: one before the first boundary, one between each pair."""
        return len(self.boundaries)

    @property
    def last(self) -> date:
        return self.dates[-1]

    def as_of_timestamps(self) -> np.ndarray:
        return np.array([datetime(d.year, d.month, d.day) for d in self.dates], dtype="datetime64[us]")

    def range(self, as_of: date, window: Window) -> Range:
        """The segments of ``[as_of - window, as_of)`` (all history before ``as_of`` for ``"all"``)."""
        hi = self._position[as_of] + 1
        if window == ALL_HISTORY:
            return Range(0, hi)
        return Range(self._position[as_of - timedelta(days=window)] + 1, hi)

    def day_segments(self) -> pd.DataFrame:
        """Calendar day -> segment for every day from the first boundary to the last as-of date.

        Days before the first boundary are segment 0 and are not listed.
        """
        first, last = self.boundaries[0], self.last
        days = pd.date_range(first, last - timedelta(days=1), freq="D").date
        edges = np.array([np.datetime64(b) for b in self.boundaries])
        segment = np.searchsorted(edges, np.array(days, dtype="datetime64[D]"), side="right")
        return pd.DataFrame({"day": pd.to_datetime(days).astype("datetime64[s]"), "segment": segment.astype(np.int32)})

    def check_within(self, first_event: datetime, end: datetime, origin: str) -> None:
        """Refuse as-of dates outside the history: before its first event or after its end."""
        first_day = first_event.date()
        for d in self.dates:
            if d <= first_day:
                raise AsOfError(f"as-of {d} is not after the first event of the history ({first_event:%Y-%m-%d %H:%M}, "
                                f"{origin}); no feature could see anything")
            if datetime(d.year, d.month, d.day) > end:
                raise AsOfError(f"as-of {d} is after the end of the history ({end:%Y-%m-%d}, {origin}); "
                                f"features there would miss events not yet loaded")
