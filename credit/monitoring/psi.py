"""The population stability index (PSI): how far a variable's distribution moved from training.

The one PSI of the project: the monitoring run takes it of the score and of each feature, and
the model report (:mod:`credit.models.report`) takes it of the PD and, as the characteristic
stability index (:func:`csi`), of each feature from the training to the test window.

Definition
----------
For a variable with values ``e`` in the expected sample (the rows of the training window) and
``a`` in the actual sample (the rows of the month monitored, or of the test window):

1. **Bins.** A numeric variable is cut at the deciles of the *expected* non-missing values:
   edges ``q_1 <= ... <= q_9`` are ``numpy.quantile(e, [0.1, ..., 0.9])`` (linear
   interpolation), duplicates dropped, and the bins are ``(-inf, q_1], (q_1, q_2], ...,
   (q_k, +inf)`` (right-closed, so a mass of equal values such as zeros falls in one bin;
   the outer bins are open, so values beyond the expected range still count). Infinite values
   are refused: they have no place among the deciles. A categorical variable (pandas
   category, text, boolean) has one bin per category seen in either sample. In both cases the
   missing values (NaN, None, NA) form one more bin of their own.
2. **Shares.** ``E_i`` and ``A_i`` are the fractions of the expected and actual rows in bin
   ``i`` (missing values included in the denominators). A share of 0 is replaced by
   ``EPSILON`` = 1e-4 (no renormalisation), so an empty bin adds a large but finite term.
3. **Index.** ``PSI = sum_i (A_i - E_i) * ln(A_i / E_i)``, over the bins where at least one
   sample has rows. It is 0 for identical shares and positive otherwise (each term is).

Rules of thumb (thresholds of credit/monitoring/monitoring.toml): below 0.1 the population
is stable (``ok``), 0.1 to 0.25 it moved (``watch``), 0.25 and above it moved a lot
(``alarm``). Sampling noise alone gives a PSI of about ``(bins - 1) * (1/n_e + 1/n_a)``, so
segments with few rows are not assessed (``min_rows`` in the configuration).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

EPSILON = 1e-4
"""Share given to an empty bin."""
DECILES = np.arange(1, 10) / 10
"""0.1, ..., 0.9, each the double nearest k/10 (``np.linspace`` makes 0.3 and 0.7 one step larger,
which moves more deciles that should fall exactly on a value of the sample a hair off it)."""


@dataclass(frozen=True)
class Bins:
    """How a variable is binned: numeric edges (right-closed) or categories, plus a missing bin.

    Attributes
    ----------
    edges
        Inner edges of a numeric variable, increasing; None for a categorical one.
    categories
        Categories of a categorical variable, in order; empty for a numeric one.
    """

    edges: np.ndarray | None
    categories: tuple = ()

    def counts(self, values: pd.Series) -> np.ndarray:
        """Rows of ``values`` per bin (the last entry: missing values)."""
        missing = values.isna().to_numpy()
        if self.edges is None:
            position = {category: i for i, category in enumerate(self.categories)}
            index = np.array([position[v] for v in values[~missing].tolist()], dtype=np.int64)
            size = len(self.categories)
        else:
            numbers = values[~missing].to_numpy(dtype=np.float64)
            index = np.searchsorted(self.edges, numbers, side="left")  # right-closed: v == q_i goes to bin i
            size = len(self.edges) + 1
        counts = np.bincount(index, minlength=size).astype(np.int64)
        return np.append(counts, int(missing.sum()))


def is_categorical(values: pd.Series) -> bool:
    """Whether a column is binned by category (pandas categorical, text, boolean) rather than deciles."""
    dtype = values.dtype
    return isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) or \
        pd.api.types.is_object_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def bins_of(expected: pd.Series, actual: pd.Series | None = None) -> Bins:
    """The bins of a variable: deciles of ``expected``, or the categories of both samples.

    Parameters
    ----------
    expected
        The training sample; its non-missing values give the decile edges.
    actual
        The monitored sample; only its categories are used (a category new since training
        gets a bin of its own, so its arrival shows in the PSI).

    Returns
    -------
    Bins
    """
    if is_categorical(expected):
        seen = list(dict.fromkeys([*expected.dropna().tolist(), *([] if actual is None else actual.dropna().tolist())]))
        if isinstance(expected.dtype, pd.CategoricalDtype):
            known = [c for c in expected.cat.categories if c in set(seen)]
            seen = known + [c for c in seen if c not in set(known)]
        return Bins(edges=None, categories=tuple(seen))
    numbers = expected.dropna().to_numpy(dtype=np.float64)
    numbers = numbers[~np.isnan(numbers)]
    if not len(numbers):
        return Bins(edges=np.empty(0))
    return Bins(edges=np.unique(np.quantile(numbers, DECILES)))


def psi_from_counts(expected_counts: np.ndarray, actual_counts: np.ndarray) -> float:
    """The PSI of two histograms over the same bins (see the module docstring).

    Parameters
    ----------
    expected_counts, actual_counts
        Rows per bin; equal lengths, each summing to more than 0.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the histograms differ in length or one is empty.
    """
    expected_counts, actual_counts = np.asarray(expected_counts, float), np.asarray(actual_counts, float)
    if expected_counts.shape != actual_counts.shape:
        raise ValueError(f"the histograms must have the same bins; got {len(expected_counts)} and "
                         f"{len(actual_counts)}.")
    if expected_counts.sum() <= 0 or actual_counts.sum() <= 0:
        raise ValueError("both samples need at least one row to compare their distributions.")
    used = (expected_counts > 0) | (actual_counts > 0)
    e = np.maximum(expected_counts[used] / expected_counts.sum(), EPSILON)
    a = np.maximum(actual_counts[used] / actual_counts.sum(), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def psi(expected, actual) -> float:
    """The population stability index of ``actual`` against ``expected`` (module docstring for the formula).

    Parameters
    ----------
    expected : pandas.Series or array-like of shape (n,)
        Values in the training window (numeric, or categorical / text).
    actual : pandas.Series or array-like of shape (m,)
        Values in the month monitored (or the test window), of the same kind.

    Returns
    -------
    float
        0 for the same distribution, larger as it moves; 0.1 and 0.25 are the usual
        watch and alarm levels.

    Raises
    ------
    ValueError
        If either sample is empty or not one-dimensional, or a numeric one holds an infinite value.
    """
    expected, actual = _sample(expected, "expected"), _sample(actual, "actual")
    if not len(expected) or not len(actual):
        raise ValueError(f"both samples need at least one row; got {len(expected)} expected and {len(actual)} "
                         "actual.")
    bins = bins_of(expected, actual)
    return psi_from_counts(bins.counts(expected), bins.counts(actual))


def csi(expected_frame: pd.DataFrame, actual_frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Characteristic stability index: the :func:`psi` of each feature column.

    Parameters
    ----------
    expected_frame : pandas.DataFrame
        The reference sample (the rows of the training window).
    actual_frame : pandas.DataFrame
        The sample to compare (the rows of the test window or of the month monitored).
    columns : sequence of str
        Feature columns to compare; both frames must have them.

    Returns
    -------
    pandas.Series
        PSI per column, indexed by column name, named ``csi``.

    Raises
    ------
    ValueError
        If a frame lacks a column, or as :func:`psi`.
    """
    columns = list(columns)
    for name, frame in (("expected_frame", expected_frame), ("actual_frame", actual_frame)):
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise ValueError(f"`{name}` lacks column(s) {absent}.")
    values = [psi(expected_frame[column], actual_frame[column]) for column in columns]
    return pd.Series(values, index=pd.Index(columns), name="csi", dtype=float)


def status_of(value: float, watch: float, alarm: float) -> str:
    """``ok`` below ``watch``, ``watch`` below ``alarm``, else ``alarm``."""
    return "alarm" if value >= alarm else "watch" if value >= watch else "ok"


def _sample(values, name: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        array = np.asarray(values)
        if array.ndim != 1:
            raise ValueError(f"`{name}` must be one-dimensional; got shape {array.shape}.")
        values = pd.Series(array)
    if not is_categorical(values):
        infinite = int(np.isinf(values.dropna().to_numpy(dtype=np.float64)).sum())
        if infinite:
            raise ValueError(f"`{name}` must not contain infinite values: an infinite value has no decile; "
                             f"got {infinite}.")
    return values
