"""Out-of-time splits of a feature panel: earlier as-of dates train, later ones judge.

Rows are never split at random across time for reported numbers: a model is trained on the
as-of dates up to ``train_end``, stopped early on the dates of the validation window,
calibrated on the calibration window, and tested on the dates from ``test_start`` on.
Windows are half-open ``[start, end)`` over the ``as_of`` column and may not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class OutOfTimeSplit:
    """Row masks of the four windows of a panel.

    Attributes
    ----------
    train, valid, calibrate, test
        Boolean arrays over the panel's rows.
    dates
        The as-of dates in each window, for reports.
    """

    train: np.ndarray
    valid: np.ndarray
    calibrate: np.ndarray
    test: np.ndarray
    dates: dict[str, list[date]]


def out_of_time_split(as_of: pd.Series, train_end: date, valid_end: date, calibrate_end: date,
                      test_start: date) -> OutOfTimeSplit:
    """Split rows by their as-of date: train < train_end <= valid < valid_end <= calibrate < calibrate_end <= test_start <= test.

    Parameters
    ----------
    as_of
        The panel's as-of column.
    train_end, valid_end, calibrate_end, test_start
        Window edges; a gap between ``calibrate_end`` and ``test_start`` is allowed (for
        example one label horizon, so no training label looks into the test period).

    Returns
    -------
    OutOfTimeSplit

    Raises
    ------
    ValueError
        If the edges are out of order or a window holds no row.
    """
    edges = {"train_end": train_end, "valid_end": valid_end, "calibrate_end": calibrate_end, "test_start": test_start}
    ordered = list(edges.items())
    for (first, a), (second, b) in zip(ordered, ordered[1:], strict=False):
        if a > b or (first != "calibrate_end" and a == b):
            raise ValueError(f"`{first}` ({a}) must come before `{second}` ({b}).")
    days = pd.to_datetime(as_of).dt.date.to_numpy()
    masks = {
        "train": days < train_end,
        "valid": (days >= train_end) & (days < valid_end),
        "calibrate": (days >= valid_end) & (days < calibrate_end),
        "test": days >= test_start,
    }
    for name, mask in masks.items():
        if not mask.any():
            raise ValueError(f"the {name} window holds no row; as-of dates run from {days.min()} to {days.max()} "
                             f"and the edges are {', '.join(f'{k}={v}' for k, v in edges.items())}.")
    return OutOfTimeSplit(**masks, dates={name: sorted(set(days[mask])) for name, mask in masks.items()})


def latest_windows(as_of: pd.Series, *, test_months: int, calibrate_months: int, valid_months: int,
                   min_train_months: int) -> OutOfTimeSplit:
    """The out-of-time split that tests on the latest as-of dates of a monthly panel.

    Counting back from the latest as-of date: ``test_months`` dates test, the
    ``calibrate_months`` before them calibrate, the ``valid_months`` before those validate,
    and every earlier date trains. Pass only labelled rows: the latest labelled months are
    the latest whose outcome is known.

    Raises
    ------
    ValueError
        If there are fewer as-of dates than the windows need, counting ``min_train_months``
        for training.
    """
    dates = sorted(set(pd.to_datetime(as_of).dt.date))
    needed = test_months + calibrate_months + valid_months + min_train_months
    if len(dates) < needed:
        shown = f"{dates[0]} to {dates[-1]}" if dates else "none"
        raise ValueError(f"the windows need {needed} labelled as-of months ({min_train_months} train, {valid_months} "
                         f"valid, {calibrate_months} calibrate, {test_months} test); the panel has {len(dates)} "
                         f"({shown}): build the panel over more months or shorten the windows")
    test_start = dates[-test_months]
    calibrate_end = test_start
    valid_end = dates[-test_months - calibrate_months]
    train_end = dates[-test_months - calibrate_months - valid_months]
    return out_of_time_split(as_of, train_end, valid_end, calibrate_end, test_start)


HELD_OUT_FIRM_SHARE = 0.2
"""Share of firms whose train- and valid-window rows stop the PD model's boosting (see
:func:`credit.models.training.train_on_panel`)."""


def held_out_firms(firm_ids: pd.Series, share: float) -> np.ndarray:
    """A fixed pseudo-random ``share`` of the firms (by a hash of the id, so the same firms every run)."""
    hashed = (firm_ids.to_numpy().astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    return hashed < np.uint64(int(share * 2**32))
