"""The feature panel: one row per (firm, as-of date) with every feature and the label.

:func:`build_panel` runs in two stages so that the same code runs on one machine or on a
Dask cluster partitioned by firm (:mod:`credit.features.distributed`):

1. :func:`firm_stage` computes everything that depends only on a firm's own events:
   declarative features, derived rates, overdue state, monthly trends, tenure.
2. :func:`network_stage` needs every firm's overdue and default flags at each as-of date
   (partners may sit in other partitions), then computes concentration and network risk.

:func:`write_panel` stores the panel as Parquet with a JSON manifest beside it, and
:func:`read_panel` reads it back (:func:`read_panel_dask` as a Dask DataFrame whose tasks each
read their own rows): the one place that knows the folder's layout.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from credit.features.asof import AsOfGrid
from credit.features.block import FeatureBlock
from credit.features.catalog import MARKETPLACE_FEATURES
from credit.features.definitions import ALL_HISTORY, Feature, check_definitions, definitions_version
from credit.features.domain import (
    CONCENTRATION_WINDOW, DERIVED, Derived, monthly_activity, monthly_gmv, overdue_as_of, partner_flags,
    tenure_days, trade_network,
)
from credit.features.engine import column_order, compute_features, prepare_streams, register_grid
from credit.features.history import History
from credit.features.sources import SOURCES, reads_helper_tables, release
from credit.features.stages import stage
from credit.features.labels import DEFAULT_HORIZON_MONTHS, default_labels

FEATURE_SET_VERSION = 1
"""Bump when a domain feature's meaning changes; declarative changes show in the definitions hash."""
KEY_COLUMNS = ["firm_id", "as_of"]
FIRMOGRAPHICS = ["industry", "region", "size_band", "roles"]


PANEL_FILE, MANIFEST_FILE = "panel.parquet", "manifest.json"
WRITE_ROWS = 65_536
"""Panel rows converted and written at a time (one Parquet row group each)."""


class PanelError(ValueError):
    """A folder that holds no readable feature panel, or a panel without what is asked of it; the message says why."""


@dataclass(frozen=True)
class Panel:
    """A feature panel, its manifest, and the folder it was read from (None while only built).

    Attributes
    ----------
    frame
        One row per (firm, as-of date): key columns, firmographics, features and the label.
    manifest
        What :func:`manifest` wrote: the label, horizon, history end, feature columns and more.
    folder
        Where :func:`read_panel` found it; None for a panel just built.
    """

    frame: pd.DataFrame
    manifest: dict
    folder: Path | None = None

    @property
    def label(self) -> str:
        """The label column (``default_<horizon>m``)."""
        return self.manifest["label_column"]

    @property
    def horizon_months(self) -> int:
        """Months after each as-of date within which a default counts."""
        return int(self.manifest["horizon_months"])

    @property
    def history_end(self) -> datetime:
        """The end of the history the panel was built from."""
        return datetime.fromisoformat(self.manifest["history_end"])

    @property
    def feature_columns(self) -> list[str]:
        """Every column but the keys and the label."""
        return list(self.manifest["feature_columns"])

    def observed(self) -> Panel:
        """The rows whose outcome is known: labelled, and the whole horizon within the history.

        Raises
        ------
        PanelError
            If no as-of date has its outcome observed.
        """
        # A default shows before the horizon ends, a non-default only after: at as-of dates whose
        # horizon is not over yet the known labels are mostly defaults, so those dates are left out.
        rows = self.frame[outcome_observed(self.frame, self.label, self.horizon_months, self.history_end)]
        if rows.empty:
            raise PanelError(f"no as-of date of the panel in {self.folder} has its {self.horizon_months}-month "
                             f"outcome observed: the history ends {self.history_end.date()}")
        return replace(self, frame=rows.reset_index(drop=True))


def outcome_observed(frame: pd.DataFrame, label: str, horizon_months: int, history_end: datetime) -> pd.Series:
    """The rows of ``frame`` labelled and with their whole horizon within the history (see :meth:`Panel.observed`)."""
    horizon_over = pd.to_datetime(frame["as_of"]) + pd.DateOffset(months=horizon_months) <= pd.Timestamp(history_end)
    return horizon_over & frame[label].notna()


def grid_for(as_of: list[date], features: list[Feature] = MARKETPLACE_FEATURES,
             derived: list[Derived] = DERIVED) -> AsOfGrid:
    """The as-of grid with every window the feature set needs."""
    needed = [*features, *(need for d in derived for need in d.needs)]
    windows = {w for f in needed for w in f.windows if w != ALL_HISTORY} | {CONCENTRATION_WINDOW}
    return AsOfGrid(as_of, windows)


class IncompleteWindowWarning(UserWarning):
    """As-of dates whose feature windows reach back before the history's first event."""


def longest_window(features: list[Feature] = MARKETPLACE_FEATURES, derived: list[Derived] = DERIVED) -> int:
    """Days the longest finite feature window of the set reaches back (365 for the marketplace's)."""
    return max(grid_for([date(2000, 1, 1)], features, derived).windows)


def first_complete_as_of(history_start: date, features: list[Feature] = MARKETPLACE_FEATURES,
                         derived: list[Derived] = DERIVED) -> date:
    """The first month start whose every feature window lies within a history that starts on ``history_start``.

    That is ``history_start`` plus :func:`longest_window` days, moved on to the next month start
    when it is not one. Earlier as-of dates would get features over part of a window only: a
    firm's 365-day counts and rates there are not comparable with the same firm's a year later.
    """
    day = history_start + timedelta(days=longest_window(features, derived))
    return day if day.day == 1 else date(day.year + day.month // 12, day.month % 12 + 1, 1)


def incomplete_windows(grid: AsOfGrid, first_event: datetime, origin: str) -> str | None:
    """What is wrong with the grid's as-of dates whose longest window starts before ``first_event``'s day; None if none."""
    first_day, window = first_event.date(), max(grid.windows)
    early = [d for d in grid.dates if d - timedelta(days=window) < first_day]
    if not early:
        return None
    complete = first_day + timedelta(days=window)
    return (f"as-of {early[0]}: its {window}-day feature window starts {early[0] - timedelta(days=window)}, before "
            f"the history's first event ({first_day}, {origin}); {len(early)} as-of date(s) up to {early[-1]} get "
            f"features over part of their windows only. The first as-of date with every window complete is "
            f"{complete} ({window} days after the first event).")


def firm_stage(history: History, grid: AsOfGrid, firms: np.ndarray, features: list[Feature] = MARKETPLACE_FEATURES,
               derived: list[Derived] = DERIVED) -> FeatureBlock:
    """Stage 1: features of ``firms`` computed from their own events only."""
    helpers = [need for d in derived for need in d.needs]
    wanted = [*features, *helpers]
    # the streams derived from the payment and invoice helper tables, and the overdue state,
    # come first: the tables (a copy of every payment and invoice) are dropped before the order
    # streams are scanned, so they are never held beside the whole block
    derived_streams = [f for f in wanted if reads_helper_tables(SOURCES[f.source])]
    with stage("helper tables"):
        prepare_streams(history, grid)
    with stage("overdue state"):
        overdue = overdue_as_of(history, grid, firms)
    with stage("streams on the helper tables"):
        computed = compute_features(history, grid, derived_streams, firms)
    with stage("helper tables dropped"):
        release(history)
    gmv = monthly_gmv(grid)
    with stage("order streams"):
        computed.update(compute_features(history, grid, [f for f in wanted if f not in derived_streams], firms,
                                         monthly=gmv))
    with stage("block and derived rates"):
        block = FeatureBlock(firms, grid.dates)
        helper_columns = {name for f in helpers for name in f.column_names()}
        for name in column_order(wanted):
            if name not in helper_columns:
                block.add(name, computed.columns[name])
        for feature in derived:
            block.add(feature.name, feature.combine(computed.columns))
        del computed
        block.update(overdue)
        del overdue
    with stage("monthly activity"):
        block.update(monthly_activity(history, grid, firms, gmv))
        del gmv
    with stage("tenure"):
        block.update(tenure_days(history, grid, firms))
    return block


def network_stage(history: History, grid: AsOfGrid, firms: np.ndarray, partners: FeatureBlock) -> FeatureBlock:
    """Stage 2: concentration and partner risk of ``firms``; ``partners`` flags every firm."""
    register_grid(history, grid, firms)
    return trade_network(history, grid, firms, partners)


def all_firms(history: History) -> np.ndarray:
    return np.sort(history.connection.execute("SELECT firm_id FROM firms").fetchnumpy()["firm_id"]).astype(np.int64)


def build_panel(history: History, as_of: list[date], horizon_months: int = DEFAULT_HORIZON_MONTHS,
                features: list[Feature] = MARKETPLACE_FEATURES) -> Panel:
    """Build the panel on this machine.

    Parameters
    ----------
    history
        The transaction history.
    as_of
        As-of dates; each must lie after the first transaction and not after the end of the history.
    horizon_months
        Label horizon.
    features
        Declarative definitions (the marketplace set by default).

    Raises
    ------
    FeatureDefinitionError, AsOfError
        For a definition that cannot be computed or an as-of date outside the history.

    Warns
    -----
    IncompleteWindowWarning
        For as-of dates whose longest window reaches back before the history's first event
        (:func:`first_complete_as_of` gives the first date without that). They are built, since a
        scoring date may need them, but their window features cover part of the window only.
    """
    started = time.perf_counter()
    with stage("plan (definitions, as-of dates, span)"):
        grid, history_end = plan(history, as_of, features)
        firms = all_firms(history)
    block = firm_stage(history, grid, firms, features)
    with stage("partner flags"):
        partners = partner_flags(history, grid, block)
    with stage("network (concentration, partner risk)"):
        block.update(network_stage(history, grid, firms, partners))
    return finish(history, grid, block, features, horizon_months, history_end, started, engine="duckdb")


def plan(history: History, as_of: list[date], features: list[Feature]) -> tuple[AsOfGrid, datetime]:
    """Check the definitions and the as-of dates against the history; the grid and the history's end."""
    check_definitions(features)
    grid = grid_for(as_of, features)
    first_event, history_end = history.span()
    grid.check_within(first_event, history_end, history.origin)
    problem = incomplete_windows(grid, first_event, history.origin)
    if problem:
        warnings.warn(IncompleteWindowWarning(problem), stacklevel=3)
    return grid, history_end


def finish(history: History, grid: AsOfGrid, block: FeatureBlock, features: list[Feature], horizon_months: int,
           history_end: datetime, started: float, engine: str) -> Panel:
    """Add labels, keep the eligible rows, join firmographics and describe the result."""
    with stage("labels"):
        eligible, labels = default_labels(history, grid, block.firms, history_end, horizon_months)
        block.update(labels)
    with stage("assemble"):
        frame = assemble(history, block, eligible)
    with stage("manifest"):
        described = manifest(history, grid, frame, features, horizon_months, history_end,
                             time.perf_counter() - started, engine=engine)
    return Panel(frame, described)


def assemble(history: History, block: FeatureBlock, eligible: np.ndarray) -> pd.DataFrame:
    """Long panel rows for the eligible (firm, as-of) pairs, sorted by them, with firmographics joined.

    Empties ``block``: each of its columns is dropped as soon as it is copied into the panel,
    so the two are never held whole side by side (together they would be the build's peak).
    """
    firm_of = np.repeat(np.arange(len(block.firms)), len(block.dates))
    date_of = np.tile(np.arange(len(block.dates)), len(block.firms))
    cells = np.flatnonzero(eligible.reshape(-1))
    dates = np.array(block.dates, dtype="datetime64[us]")
    firm_ids = block.firms[firm_of[cells]]
    cells = cells[np.lexsort((dates[date_of[cells]], firm_ids))]  # stable, as a sort by the key columns
    firm_rows = firm_of[cells]
    firms = history.connection.execute(
        f"SELECT firm_id, {', '.join(FIRMOGRAPHICS)}, CAST(verified AS DOUBLE) AS verified, "
        f"CAST(deposit_minor AS DOUBLE) AS deposit_minor FROM firms").df()
    # each panel row's firm in the firms table (-1: not there, its firmographics are null)
    source = pd.Index(firms["firm_id"]).get_indexer(block.firms)[firm_rows]
    known = source >= 0
    numeric = ["verified", "deposit_minor"]
    names = [*numeric, *block.columns]
    # one 2-D array filled in place: a frame built from separate columns would copy them all again
    values = np.empty((len(names), len(cells)))
    for k, column in enumerate(numeric):
        values[k] = np.where(known, firms[column].to_numpy(dtype=np.float64)[np.maximum(source, 0)], np.nan)
    for k, name in enumerate(list(block.columns), start=len(numeric)):
        values[k] = block.columns.pop(name).reshape(-1)[cells]
    frame = pd.DataFrame(values.T, columns=names, copy=False)
    frame.insert(0, "firm_id", block.firms[firm_rows])
    frame.insert(1, "as_of", dates[date_of[cells]])
    for k, column in enumerate(FIRMOGRAPHICS, start=2):
        category = firms[column].astype("category")
        codes = np.where(known, category.cat.codes.to_numpy()[np.maximum(source, 0)], -1)
        frame.insert(k, column, pd.Categorical.from_codes(codes, dtype=category.dtype))
    return frame


def label_column(horizon_months: int) -> str:
    return f"default_{horizon_months}m"


def manifest(history: History, grid: AsOfGrid, frame: pd.DataFrame, features: list[Feature], horizon_months: int,
             history_end: datetime, seconds: float, engine: str) -> dict:
    """What a panel holds and where it came from."""
    label = label_column(horizon_months)
    feature_columns = [c for c in frame.columns if c not in (*KEY_COLUMNS, label)]
    per_date = frame.groupby("as_of", observed=True)[label].agg(rows="size", labelled="count", defaults="sum")
    return {
        "feature_set_version": FEATURE_SET_VERSION,
        "definitions_version": definitions_version([*features, *(n for d in DERIVED for n in d.needs)]),
        "history": history.origin,
        "engine": engine,
        "as_of": [d.isoformat() for d in grid.dates],
        "horizon_months": horizon_months,
        "history_end": history_end.isoformat(),
        "watermarks": {m.table: {"rows": m.rows, "first_event": _iso(m.first_event), "last_event": _iso(m.last_event)}
                       for m in history.watermarks()},
        "rows": len(frame),
        "rows_by_as_of": {pd.Timestamp(d).date().isoformat(): {k: int(v) for k, v in row.items()}
                          for d, row in per_date.iterrows()},
        "key_columns": KEY_COLUMNS,
        "label_column": label,
        "categorical_columns": FIRMOGRAPHICS,
        "feature_columns": feature_columns,
        "null_rates": {c: round(float(frame[c].isna().mean()), 6) for c in feature_columns},
        "build_seconds": round(seconds, 2),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def write_panel(panel: Panel, out: Path) -> tuple[Path, Path]:
    """Write ``panel.parquet`` and ``manifest.json`` into the folder ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    data, meta = out / PANEL_FILE, out / MANIFEST_FILE
    # a slice of rows at a time: converting the whole panel to Arrow at once would hold it twice
    schema = pa.Schema.from_pandas(panel.frame.iloc[:0], preserve_index=False)
    with pq.ParquetWriter(data, schema) as writer:
        for start in range(0, len(panel.frame), WRITE_ROWS):
            writer.write_table(pa.Table.from_pandas(panel.frame.iloc[start:start + WRITE_ROWS], schema=schema,
                                                    preserve_index=False))
    meta.write_text(json.dumps(panel.manifest, indent=2) + "\n")
    return data, meta


def read_panel(folder: Path | str, label: str | None = None) -> Panel:
    """Read the panel :func:`write_panel` wrote into ``folder``.

    Parameters
    ----------
    folder
        The folder holding ``panel.parquet`` and ``manifest.json``.
    label
        The label column the caller expects (a model configuration's ``[training] label``);
        by default the panel's own.

    Returns
    -------
    Panel
        Every row, labelled or not; :meth:`Panel.observed` keeps those whose outcome is known.

    Raises
    ------
    PanelError
        If a file is missing, the manifest lacks what a panel's has, or the panel lacks its
        key columns or has another label than ``label``.
    """
    panel = _read_manifest(folder, label)
    data = panel.folder / PANEL_FILE
    frame = pd.read_parquet(data)
    absent = [name for name in (*KEY_COLUMNS, panel.label) if name not in frame.columns]
    if absent:
        raise PanelError(f"{data} lacks the column(s) {absent} its manifest promises")
    return replace(panel, frame=frame)


def read_panel_dask(folder: Path | str, label: str | None = None, columns: list[str] | None = None, *,
                    observed: bool = False, partitions: int | None = None):  # noqa: ANN201
    """The panel :func:`write_panel` wrote, as a Dask DataFrame whose tasks each read their own rows of the file.

    Nothing but the manifest and the category columns is read here: each partition is a
    contiguous range of the file's rows (so of the panel's order, firm then as-of date; a firm
    may straddle two partitions), read by its task from the row groups it overlaps. So a
    cluster's workers read the panel and the caller never holds it whole. The rows and dtypes
    are :func:`read_panel`'s: category columns get the categories of the whole file.

    Parameters
    ----------
    folder, label
        As for :func:`read_panel`.
    columns
        Columns to read (default every one), in the file's order; the key columns and the label are always read.
    observed
        Keep only the rows whose outcome is known, as :meth:`Panel.observed` does.
    partitions
        Row ranges, at most one per row; default one per row group of the file.

    Returns
    -------
    tuple
        The :class:`Panel` with an empty frame (the manifest and folder) and the Dask DataFrame.

    Raises
    ------
    PanelError
        As :func:`read_panel`, and if a column asked for is not in the file.
    """
    import dask.dataframe as dd

    panel = _read_manifest(folder, label)
    data = panel.folder / PANEL_FILE
    file = pq.ParquetFile(data)
    names = file.schema_arrow.names
    asked = {*KEY_COLUMNS, panel.label, *(names if columns is None else columns)}
    absent = sorted(asked - set(names))
    if absent:
        raise PanelError(f"{data} lacks the column(s) {absent[:5]}")
    if partitions is not None and (isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1):
        raise ValueError(f"`partitions` must be an integer >= 1; got {partitions!r}.")
    wanted = [name for name in names if name in asked]  # in the file's order, as read_panel's frame
    # the categories of the whole file: a row range read alone would know only the labels it holds
    dictionaries = [n for n in wanted if pa.types.is_dictionary(file.schema_arrow.field(n).type)]
    categories = dict(pd.read_parquet(data, columns=dictionaries).dtypes.items()) if dictionaries else {}
    group_rows = [file.metadata.row_group(g).num_rows for g in range(file.num_row_groups)]
    starts = np.concatenate([[0], np.cumsum(group_rows)]).astype(np.int64)
    total = int(starts[-1])
    count = max(1, min(partitions or len(group_rows), total))
    bounds = [0, *starts[1:-1].tolist(), total] if partitions is None else np.linspace(0, total, count + 1).astype(
        np.int64).tolist()
    ranges = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)] or [(0, 0)]
    reader = _RowRangeReader(str(data), wanted, categories, starts.tolist(),
                             (panel.label, panel.horizon_months, panel.history_end) if observed else None)
    meta = reader((0, 0))
    return panel, dd.from_map(reader, ranges, meta=meta, enforce_metadata=False)


@dataclass(frozen=True)
class _RowRangeReader:
    """Reads rows ``[start, stop)`` of a panel file (a task of :func:`read_panel_dask`); picklable for the workers."""

    path: str
    columns: list[str]
    categories: dict
    group_starts: list[int]
    observed: tuple | None

    def __call__(self, rows: tuple[int, int]) -> pd.DataFrame:
        start, stop = rows
        file = pq.ParquetFile(self.path)
        starts = self.group_starts
        groups = [g for g in range(len(starts) - 1) if starts[g] < stop and starts[g + 1] > start]
        table = (file.read_row_groups(groups, columns=self.columns) if groups
                 else file.schema_arrow.empty_table().select(self.columns))
        first = starts[groups[0]] if groups else 0
        frame = table.slice(start - first, stop - start).to_pandas() if groups else table.to_pandas()
        for name, dtype in self.categories.items():
            frame[name] = frame[name].astype(dtype)
        if self.observed is not None:
            frame = frame[outcome_observed(frame, *self.observed)]
        return frame.reset_index(drop=True)


def _read_manifest(folder: Path | str, label: str | None) -> Panel:
    """The panel of ``folder`` with an empty frame, its manifest checked (see :func:`read_panel`)."""
    folder = Path(folder)
    data, meta = folder / PANEL_FILE, folder / MANIFEST_FILE
    for path in (data, meta):
        if not path.is_file():
            raise PanelError(f"{folder} holds no feature panel: {path.name} is missing "
                             "(build one with `credit features build --out FOLDER`)")
    try:
        manifest = json.loads(meta.read_text())
        panel = Panel(pd.DataFrame(), manifest, folder)
        # the properties parse the manifest: reading each once turns a malformed one into a clear error
        own_label, _, _, _ = panel.label, panel.horizon_months, panel.history_end, panel.feature_columns
    except (ValueError, KeyError, TypeError) as exc:
        raise PanelError(f"{meta} is not a panel manifest: {type(exc).__name__} {exc}") from exc
    if label is not None and label != own_label:
        raise PanelError(f"the panel in {folder} has no label column {label!r}; its label is {own_label!r} "
                         "(set [training] label in the model configuration)")
    return panel
