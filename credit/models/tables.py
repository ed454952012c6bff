"""A labelled table an analyst brings (CSV or Parquet), checked and split into features and target.

:func:`read_labelled_table` is the front door of "bring your own table" training: it reads the
file, checks the target, id and time columns, and keeps the columns a model can use. Anything
it cannot use is refused with a message naming the column, never silently dropped; columns it
leaves out on purpose (the id, the time, id-like and constant columns) are listed in the result,
and what it found on the way (missing-value markers, the separator, a column that leaks the
outcome) is said in sentences the CLI prints and the report shows. The rules:

* **Separator.** A CSV's separator is sniffed (:class:`csv.Sniffer`) from its first 64 KB among
  ``,`` ``;`` tab and ``|``; when the lines disagree, the one the header line holds most of,
  else a comma. ``separator`` forces one.
* **Missing values.** In a text cell, :data:`MISSING_MARKERS` (compared stripped and in lower
  case: ``?``, ``NA``, ``N/A``, ``-``, empty, ``null``, ``NaN``, ``#N/A``) mean missing; each
  marker found is reported per column with its rows.
* **Numbers.** A column is numeric when every value that is not a marker is a number; else it
  is categorical, and when at least half of its values are numbers the finding names the text
  that kept it from being numeric.
* **Ids.** A column with a different value in every row and no missing value is id-like and
  left out: text, or whole numbers that run densely (largest minus smallest below twice the
  rows) or sit under an id-like name (``id``, ``..._id``, ``...Id``, ``key``, ``no``, ``index``,
  ``Unnamed: 0``). A measurement (floats, or sparse whole numbers under another name) stays.
* **Leakage.** A feature that alone separates defaults from the rest with an AUC of at least
  :data:`LEAKAGE_AUC` (numbers: the values as a score, missing put at either end; categories:
  each level's default rate, learnt out of fold over 5 folds) gets a warning. It is kept: only
  the analyst knows whether it is known before the outcome.
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

POSITIVE_TARGET_TEXT = {"1", "true", "yes", "bad", "default"}
NEGATIVE_TARGET_TEXT = {"0", "false", "no", "good"}

MISSING_MARKERS: tuple[str, ...] = ("", "?", "na", "n/a", "-", "null", "nan", "#n/a")
"""Cell texts read as missing, compared after stripping spaces and in lower case."""

SEPARATORS: dict[str, str] = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
"""The separators sniffed or accepted, with how messages name them."""

SNIFF_BYTES = 65_536
LEAKAGE_AUC = 0.99
"""A single feature whose AUC reaches this gets a leakage warning."""
LEAKAGE_MIN_CLASS_ROWS = 10
"""Fewest rows of each class for the leakage check; below it, separation by chance is too likely."""
LEAKAGE_FOLDS = 5
SHOWN_VALUES = 6

_ID_NAME = re.compile(r"(^|[^A-Za-z])(id|key|no|nr|number|index)$|(?-i:[a-z](Id|ID))$|^unnamed: \d+$", re.IGNORECASE)


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
        Column -> why it is not a feature (id column, time column, id-like, constant, all missing).
    findings
        What reading the table found and did, one sentence each: the separator when it is
        not a comma, missing-value markers per column, mostly numeric columns read as categories.
    warnings
        Sentences that need the analyst's judgement: features that leak the outcome.
    """

    features: pd.DataFrame
    target: pd.Series
    ids: pd.Series | None = None
    times: pd.Series | None = None
    left_out: dict[str, str] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def checks(self) -> list[str]:
        """The warnings, every column left out and why, and the findings: one sentence each, to print and report."""
        left_out = [f"left out {column!r}: {why}" for column, why in self.left_out.items()]
        return [*(f"warning: {text}" for text in self.warnings), *left_out, *self.findings]


def read_labelled_table(path: Path | str, target: str, id_column: str | None = None,
                        time_column: str | None = None, *, bad_value: str | None = None,
                        separator: str | None = None) -> LabelledTable:
    """Read and check a labelled table.

    Parameters
    ----------
    path
        A ``.csv``, ``.csv.gz`` or ``.parquet`` file.
    target
        Binary target column: 0/1, true/false, or yes/no (1, true, yes = default), or any two
        values with ``bad_value`` naming the default.
    id_column
        Optional key; every value must be present and unique.
    time_column
        Optional date or time of each row (for out-of-time splits); every value must parse.
    bad_value
        The target value that marks a default (compared stripped, case-insensitive, and as a
        number when both are numbers); the target must then hold exactly two values.
    separator
        A CSV's separator (one of :data:`SEPARATORS`); None sniffs it.

    Raises
    ------
    TableError
        When the file cannot be read, a named column is missing, the target is not binary or
        has one class, ids repeat or are missing, times do not parse, or no usable feature is left.
    """
    path = Path(path)
    where = str(path)
    frame, findings = _read(path, separator)
    for role, column in (("target", target), ("id column", id_column), ("time column", time_column)):
        if column is not None and column not in frame.columns:
            raise TableError(f"{where}: no {role} {column!r}; the columns are {', '.join(map(str, frame.columns))}")
    typed = {column: _typed(frame[column]) for column in frame.columns}
    left_out: dict[str, str] = {}
    y = _binary_target(typed[target].values, where, target, bad_value)
    ids = None
    if id_column is not None:
        ids = typed[id_column].values
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
        times = _parsed_times(typed[time_column].values, where, time_column)
        left_out[time_column] = "time column"
    usable = {}
    for column in frame.columns:
        if column == target or column in left_out:
            continue
        values = typed[column].values
        findings.extend(typed[column].findings(column))
        if values.isna().all():
            left_out[column] = "all missing"
        elif values.nunique(dropna=True) < 2 and not values.isna().any():
            left_out[column] = "constant"
        elif (why := _id_like(values, column)) is not None:
            left_out[column] = why
        else:
            usable[column] = _feature(values, where, column)
    if not usable:
        raise TableError(f"{where}: no usable feature column besides the target"
                         + (f"; left out: {', '.join(f'{c} ({why})' for c, why in left_out.items())}" if left_out else ""))
    features = pd.DataFrame(usable, index=frame.index)
    defaults = int(y.sum())
    if min(defaults, len(y) - defaults) < LEAKAGE_MIN_CLASS_ROWS:
        findings.append(f"leakage not checked: {defaults} default(s) and {len(y) - defaults} other row(s); the "
                        f"check needs {LEAKAGE_MIN_CLASS_ROWS} of each, below that a column separates them by chance "
                        "too often")
        warnings = []
    else:
        warnings = leakage_warnings(features, y)
    return LabelledTable(features, y, ids, times, left_out, findings, warnings)


def leakage_warnings(features: pd.DataFrame, y: pd.Series) -> list[str]:
    """One warning per feature that alone separates the classes with AUC >= :data:`LEAKAGE_AUC`."""
    from credit.models.metrics import auc  # scikit-learn loads only once the table has passed its checks

    labels = y.to_numpy().astype(int)
    warnings = []
    for column in features.columns:
        values = features[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            separation = auc(labels, _out_of_fold_rate(values, labels))
        else:
            numbers = values.to_numpy(dtype=float)
            low, high = np.nanmin(numbers) - 1, np.nanmax(numbers) + 1
            separation = max(max(a, 1 - a) for a in (auc(labels, np.where(np.isnan(numbers), fill, numbers))
                                                     for fill in (low, high)))
        if separation >= LEAKAGE_AUC:
            warnings.append(f"possible leakage: {column!r} alone separates defaults from the rest "
                            f"(single-column AUC {separation:.3f} >= {LEAKAGE_AUC}); check that it is known before "
                            "the outcome, or leave it out of the table")
    return warnings


def _out_of_fold_rate(values: pd.Series, labels: np.ndarray) -> np.ndarray:
    """Each row's category default rate learnt on the other folds; unseen categories get the folds' rate."""
    fold = np.arange(len(values)) % LEAKAGE_FOLDS
    levels = values.cat.codes.to_numpy()  # missing is code -1, a level of its own
    rate = np.empty(len(values))
    for k in range(LEAKAGE_FOLDS):
        inside = fold == k
        learnt = pd.Series(labels[~inside]).groupby(levels[~inside]).mean()
        rate[inside] = pd.Series(levels[inside]).map(learnt).fillna(labels[~inside].mean()).to_numpy()
    return rate


def _id_like(values: pd.Series, column: str) -> str | None:
    if values.isna().any() or values.duplicated().any():
        return None
    if isinstance(values.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(values):
        return "id-like: a different text in every row"
    numbers = values.to_numpy(dtype=float)
    if not np.array_equal(numbers, np.round(numbers)):
        return None
    if numbers.max() - numbers.min() + 1 < 2 * len(numbers):
        return "id-like: a different whole number in every row, running densely"
    if _ID_NAME.search(str(column)):
        return "id-like: a different whole number in every row, under an id's name"
    return None


@dataclass
class _TypedColumn:
    """A column read from text: its values, and the markers and text that decided its type."""

    values: pd.Series
    markers: dict[str, int] = field(default_factory=dict)
    numeric_rows: int = 0
    text_examples: dict[str, int] = field(default_factory=dict)

    def findings(self, column: str) -> list[str]:
        said = []
        kind = "categories" if isinstance(self.values.dtype, pd.CategoricalDtype) else "numbers"
        if self.markers:
            found = ", ".join(f"{'empty' if marker == '' else repr(marker)} ({_rows(rows)})"
                              for marker, rows in self.markers.items())
            said.append(f"missing values in {column!r}: {found}; read as {kind}")
        if self.text_examples:
            text_rows = sum(self.text_examples.values())
            shown = ", ".join(f"{text!r} ({_rows(rows)})" for text, rows in list(self.text_examples.items())[:3])
            said.append(f"{column!r} is read as categories, not numbers: {_rows(self.numeric_rows)} hold numbers but "
                        f"{_rows(text_rows)} hold text ({shown}); a column is numeric only when every value is a "
                        "number or a missing-value marker")
        return said


def _typed(values: pd.Series) -> _TypedColumn:
    """Markers to missing, then numbers where every value left is one; text columns only."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values):
        return _TypedColumn(values)
    text = values.astype("string").str.strip()
    is_marker = text.str.lower().isin(MISSING_MARKERS).fillna(False).astype(bool)
    markers = _counted(text[is_marker])
    present = text.mask(is_marker)
    numbers = pd.to_numeric(present, errors="coerce")
    not_number = present.notna() & numbers.isna()
    if not not_number.any():
        plain = "int64" if pd.api.types.is_integer_dtype(numbers) and not numbers.isna().any() else "float64"
        return _TypedColumn(numbers.astype(plain), markers)
    lowered = present.str.lower()
    if lowered.dropna().isin(["true", "false"]).all():
        return _TypedColumn(lowered.map({"true": 1.0, "false": 0.0}).astype(float), markers)
    numeric_rows = int((present.notna() & ~not_number).sum())
    examples = {}
    if numeric_rows * 2 >= int(present.notna().sum()):
        examples = _counted(present[not_number])
    return _TypedColumn(present.astype("category"), markers, numeric_rows, examples)


def _counted(values: pd.Series) -> dict[str, int]:
    """Each distinct value's rows, most rows first, ties in order of first appearance."""
    counts = values.value_counts(sort=False)
    order = sorted(range(len(counts)), key=lambda i: -counts.iloc[i])
    return {str(counts.index[i]): int(counts.iloc[i]) for i in order}


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _read(path: Path, separator: str | None) -> tuple[pd.DataFrame, list[str]]:
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    name = path.name.lower()
    findings: list[str] = []
    if name.endswith(".parquet"):
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise TableError(f"{path}: cannot be read as Parquet: {str(exc).splitlines()[0]}") from None
    elif name.endswith((".csv", ".csv.gz")):
        if separator is None:
            separator = _sniffed_separator(path)
            if separator != ",":
                findings.append(f"separator {SEPARATORS[separator]}, sniffed from the first lines (--sep to force one)")
        frame = _read_csv(path, separator)
    else:
        raise TableError(f"{path}: a labelled table is a .csv, .csv.gz or .parquet file")
    if frame.empty:
        raise TableError(f"{path}: the table has no rows")
    return frame, findings


def _sniffed_separator(path: Path) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as file:
            sample = file.read(SNIFF_BYTES)
    except OSError as exc:
        raise TableError(f"{path}: cannot be read: {exc}") from None
    if len(sample) == SNIFF_BYTES and "\n" in sample:
        sample = sample[:sample.rindex("\n")]  # a cut last line would mislead the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(SEPARATORS)).delimiter
    except csv.Error:  # lines disagree (a broken line in a small file): the header decides
        header = sample.split("\n", 1)[0]
        counts = {separator: header.count(separator) for separator in SEPARATORS}
        most = max(counts, key=counts.get)
        return most if counts[most] else ","


def _read_csv(path: Path, separator: str) -> pd.DataFrame:
    if separator not in SEPARATORS:
        raise TableError(f"{path}: separator {separator!r} is not one of {', '.join(SEPARATORS.values())}")
    shown = SEPARATORS[separator]
    try:
        return pd.read_csv(path, sep=separator, dtype=str, keep_default_na=False, na_filter=False)
    except UnicodeDecodeError as exc:
        raise TableError(f"{path}: is not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at position "
                         f"{exc.start}); save it as UTF-8") from None
    except pd.errors.ParserError as exc:
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if fields:
            expected, line, saw = fields.groups()
            raise TableError(f"{path}: line {line} has {saw} fields where the header has {expected} (separator "
                             f"{shown}); fix that line, or pass --sep if the separator is another") from None
        raise TableError(f"{path}: cannot be read as CSV with separator {shown}: {str(exc).splitlines()[0]}") from None
    except (OSError, ValueError) as exc:
        raise TableError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None


def _binary_target(values: pd.Series, where: str, column: str, bad_value: str | None) -> pd.Series:
    missing = int(values.isna().sum())
    if missing:
        raise TableError(f"{where}: target {column!r} is empty in {missing} row(s); label every row or drop it")
    shown = _target_text(values)
    key = shown.map(_comparable)
    counts = shown.groupby(key, sort=False).agg(["first", "size"]).sort_values("size", ascending=False, kind="stable")
    held = _held(counts)
    if bad_value is not None and _comparable(bad_value) not in counts.index:
        raise TableError(f"{where}: --bad {bad_value.strip()!r}: target {column!r} has no such value; it holds {held}")
    if len(counts) > 2:
        raise TableError(f"{where}: target {column!r} must hold two values, one for a default and one for not; "
                         f"it holds {held}")
    if bad_value is not None:
        y = (key == _comparable(bad_value)).astype(int)
    else:
        known = key.isin(POSITIVE_TARGET_TEXT | NEGATIVE_TARGET_TEXT)
        if not known.all():
            raise TableError(f"{where}: target {column!r} is not coded 0/1, true/false or yes/no: it holds {held}; "
                             f"name the value that marks a default with --bad, e.g. --bad {counts['first'].iloc[-1]}")
        y = key.isin(POSITIVE_TARGET_TEXT).astype(int)
    if y.nunique() < 2:
        raise TableError(f"{where}: target {column!r} has one class only (every row is {int(y.iloc[0])}); "
                         "a model needs both defaults and non-defaults")
    return y.rename(column)


def _target_text(values: pd.Series) -> pd.Series:
    """Each target value as the text a user would type: 1 for 1.0, true for True, stripped text."""
    if values.dtype == bool or str(values.dtype) == "boolean":
        return values.map({True: "true", False: "false"}).astype(object)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float).map(lambda v: str(int(v)) if float(v).is_integer() else repr(float(v)))
    return values.astype(str).str.strip()


def _comparable(text: str) -> str:
    """Lower case; a number as its plain form, so "2", "2.0" and " 2 " are the same value."""
    text = str(text).strip().lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else repr(number)


def _held(counts: pd.DataFrame) -> str:
    shown = [f"{row.first!r} ({_rows(int(row.size))})" for row in counts.head(SHOWN_VALUES).itertuples()]
    more = len(counts) - SHOWN_VALUES
    if more > 0:
        return ", ".join(shown) + f" and {more} other value(s)"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _parsed_times(values: pd.Series, where: str, column: str) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
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
