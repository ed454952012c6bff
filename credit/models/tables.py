"""A labelled table an analyst brings (CSV or Parquet), checked and split into features and target.

:func:`read_labelled_table` is the front door of "bring your own table" training: it reads the
file, checks the target, id and time columns, and keeps the columns a model can use. Anything
it cannot use is refused with a message naming the column, never silently dropped; columns it
leaves out on purpose (the id, the time, constant columns) are listed in the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

POSITIVE_TARGET_TEXT = {"1", "true", "yes", "bad", "default"}
NEGATIVE_TARGET_TEXT = {"0", "false", "no", "good"}


class TableError(ValueError):
    """A labelled table that cannot be trained on; the message names the file and the column."""


@dataclass
class LabelledTable:
    """Features, target and optional id and time of a labelled table.

    Attributes
    ----------
    features
        Usable feature columns: numbers, booleans as 0/1, text and categories as pandas
        ``category``.
    target
        0/1 integers, 1 = default (bad).
    ids, times
        The id and time columns when given, else None.
    left_out
        Column -> why it is not a feature (id, time, constant, all missing).
    """

    features: pd.DataFrame
    target: pd.Series
    ids: pd.Series | None = None
    times: pd.Series | None = None
    left_out: dict[str, str] = field(default_factory=dict)


def read_labelled_table(path: Path | str, target: str, id_column: str | None = None,
                        time_column: str | None = None) -> LabelledTable:
    """Read and check a labelled table.

    Parameters
    ----------
    path
        A ``.csv``, ``.csv.gz`` or ``.parquet`` file.
    target
        Binary target column: 0/1, true/false, or yes/no (1, true, yes = default).
    id_column
        Optional key; every value must be present and unique.
    time_column
        Optional date or time of each row (for out-of-time splits); every value must parse.

    Raises
    ------
    TableError
        When the file cannot be read, a named column is missing, the target is not binary or
        has one class, ids repeat or are missing, times do not parse, or no usable feature is left.
    """
    path = Path(path)
    frame = _read(path)
    where = str(path)
    for role, column in (("target", target), ("id column", id_column), ("time column", time_column)):
        if column is not None and column not in frame.columns:
            raise TableError(f"{where}: no {role} {column!r}; the columns are {', '.join(map(str, frame.columns))}")
    left_out: dict[str, str] = {}
    y = _binary_target(frame[target], where, target)
    ids = None
    if id_column is not None:
        ids = frame[id_column]
        missing = int(ids.isna().sum())
        if missing:
            raise TableError(f"{where}: id column {id_column!r} is empty in {missing} row(s), "
                             f"first at row {int(np.flatnonzero(ids.isna().to_numpy())[0]) + 1}")
        repeated = ids[ids.duplicated(keep=False)]
        if len(repeated):
            raise TableError(f"{where}: id column {id_column!r} repeats {repeated.nunique()} value(s), "
                             f"e.g. {_plain(repeated.iloc[0])!r} in rows "
                             f"{', '.join(str(i + 1) for i in np.flatnonzero((ids == repeated.iloc[0]).to_numpy())[:5])}")
        left_out[id_column] = "id column"
    times = None
    if time_column is not None:
        times = _parsed_times(frame[time_column], where, time_column)
        left_out[time_column] = "time column"
    features = frame.drop(columns=[target, *left_out])
    usable = {}
    for column in features.columns:
        values = features[column]
        if values.isna().all():
            left_out[column] = "all missing"
        elif values.nunique(dropna=True) < 2 and not values.isna().any():
            left_out[column] = "constant"
        else:
            usable[column] = _feature(values, where, column)
    if not usable:
        raise TableError(f"{where}: no usable feature column besides the target"
                         + (f"; left out: {', '.join(f'{c} ({why})' for c, why in left_out.items())}" if left_out else ""))
    return LabelledTable(pd.DataFrame(usable, index=frame.index), y, ids, times, left_out)


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            frame = pd.read_parquet(path)
        elif name.endswith((".csv", ".csv.gz")):
            frame = pd.read_csv(path)
        else:
            raise TableError(f"{path}: a labelled table is a .csv, .csv.gz or .parquet file")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        if isinstance(exc, TableError):
            raise
        raise TableError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None
    if frame.empty:
        raise TableError(f"{path}: the table has no rows")
    return frame


def _binary_target(values: pd.Series, where: str, column: str) -> pd.Series:
    missing = int(values.isna().sum())
    if missing:
        raise TableError(f"{where}: target {column!r} is empty in {missing} row(s); label every row or drop it")
    if values.dtype == bool or str(values.dtype) == "boolean":
        y = values.astype(int)
    elif pd.api.types.is_numeric_dtype(values):
        if not values.isin([0, 1]).all():
            other = sorted(values[~values.isin([0, 1])].unique().tolist())[:5]
            raise TableError(f"{where}: target {column!r} must be binary (0/1); it also holds {other}")
        y = values.astype(int)
    else:
        text = values.astype(str).str.strip().str.lower()
        known = text.isin(POSITIVE_TARGET_TEXT | NEGATIVE_TARGET_TEXT)
        if not known.all():
            other = sorted(values[~known].astype(str).unique().tolist())[:5]
            raise TableError(f"{where}: target {column!r} must be binary (0/1, true/false or yes/no); "
                             f"it also holds {other}")
        y = text.isin(POSITIVE_TARGET_TEXT).astype(int)
    if y.nunique() < 2:
        raise TableError(f"{where}: target {column!r} has one class only (every row is {int(y.iloc[0])}); "
                         "a model needs both defaults and non-defaults")
    return y.rename(column)


def _parsed_times(values: pd.Series, where: str, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = parsed.isna() & values.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise TableError(f"{where}: time column {column!r} does not parse as a date in row {row + 1}: "
                         f"{_plain(values.iloc[row])!r}")
    if values.isna().any():
        raise TableError(f"{where}: time column {column!r} is empty in {int(values.isna().sum())} row(s)")
    return parsed


def _plain(value: object) -> object:
    """A NumPy scalar as the Python value it holds, so messages show 2, not np.int64(2)."""
    return value.item() if isinstance(value, np.generic) else value


def _feature(values: pd.Series, where: str, column: str) -> pd.Series:
    if values.dtype == bool or str(values.dtype) == "boolean":
        return values.astype("Float64").astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    if pd.api.types.is_datetime64_any_dtype(values):
        raise TableError(f"{where}: column {column!r} holds dates; turn it into a number (e.g. days since) "
                         "or pass it as the time column")
    return values.astype("string").astype("category")
