"""Incremental output of a simulation: one row group (or CSV block) per simulated month.

Observable tables are written with exactly ``HISTORY[name].arrow_schema``; ground truth goes
to ``truth/`` with its own schemas and never shares a file with observable columns. Only one
month of rows is held in memory at a time.

CSV files are written without quoting: names come from fixed word lists and choices from
``ALLOWED_VALUES``, none containing a delimiter, quote or line break (Arrow would refuse one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from credit.simulate.market import NO_TIME
from credit.store.frames import HISTORY, TIMESTAMP

TRUTH_SCHEMAS: dict[str, pa.Schema] = {
    "firm_month": pa.schema([
        pa.field("firm_id", pa.int64(), nullable=False),
        pa.field("month_end", TIMESTAMP, nullable=False),
        pa.field("idiosyncratic", pa.float64(), nullable=False),
        pa.field("industry_factor", pa.float64(), nullable=False),
        pa.field("macro_factor", pa.float64(), nullable=False),
        pa.field("contagion", pa.float64(), nullable=False),
        pa.field("credit_index", pa.float64(), nullable=False),
        pa.field("monthly_hazard", pa.float64(), nullable=False),
        pa.field("distressed", pa.bool_(), nullable=False),
        pa.field("pd_12m", pa.float64(), nullable=False),
    ]),
    "firms": pa.schema([
        pa.field("firm_id", pa.int64(), nullable=False),
        pa.field("long_run_quality", pa.float64(), nullable=False),
        pa.field("supplier_popularity", pa.float64(), nullable=False),
        pa.field("preferred_suppliers", pa.int64(), nullable=False),
        pa.field("distressed_at", TIMESTAMP, nullable=True),
        pa.field("credit_event_at", TIMESTAMP, nullable=True),
        pa.field("credit_event_kind", pa.string(), nullable=True),
    ]),
}
"""Schemas of the ground-truth files in ``truth/``.

``firm_month``: one row per firm registered and without a credit event at a month end: the
latent components at that month end (:mod:`credit.simulate.latent`), whether the firm is
distressed, its monthly hazard and its true ``pd_12m``.
``firms``: long-run quality ``mu``, supplier popularity, size of the preferred-supplier set,
distress time and the scheduled first credit event (which may fall after the end and then
never appears in ``credit_events``).
"""


def _timestamps(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.int64)
    missing = values == NO_TIME
    return pa.array(values, type=TIMESTAMP, mask=missing if missing.any() else None)


def _column(spec, values) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if spec.kind == "timestamp":
        return _timestamps(values)
    if spec.kind in ("id", "money", "integer"):
        values = np.asarray(values, dtype=np.int64)
        missing = (values == 0) if spec.nullable else None
        return pa.array(values, type=pa.int64(), mask=missing if missing is not None and missing.any() else None)
    if spec.kind == "choice":
        codes = np.asarray(values, dtype=np.int32)
        missing = codes < 0
        indices = pa.array(np.maximum(codes, 0), type=pa.int32(), mask=missing if missing.any() else None)
        return pa.DictionaryArray.from_arrays(indices, pa.array(spec.allowed)).cast(pa.string())
    if spec.kind == "boolean":
        return pa.array(np.asarray(values, dtype=bool))
    return pa.array(values, type=pa.string())


def history_table(name: str, columns: dict) -> pa.Table:
    """An Arrow table of history table ``name`` from simulator columns.

    Choice columns come as codes into ``ALLOWED_VALUES`` (negative for null), timestamps as
    int64 microseconds (``NO_TIME`` for null), nullable ids with 0 for null.
    """
    spec = HISTORY[name]
    arrays = [_column(c, columns[c.name]) for c in spec.columns]
    return pa.Table.from_arrays(arrays, schema=spec.arrow_schema)


def truth_table(name: str, columns: dict) -> pa.Table:
    """An Arrow table of ground-truth file ``name``."""
    schema = TRUTH_SCHEMAS[name]
    arrays = []
    for field in schema:
        values = columns[field.name]
        if isinstance(values, pa.Array):
            arrays.append(values)
        elif field.type == TIMESTAMP:
            arrays.append(_timestamps(values))
        else:
            arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text (whole seconds); nulls stay null and are written empty."""
    columns = []
    for column, field in zip(table.columns, table.schema):
        if pa.types.is_timestamp(field.type):
            column = pc.strftime(column.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


class _TableFile:
    def __init__(self, path: Path, schema: pa.Schema, file_format: str):
        self.path = path
        self.rows = 0
        self.file_format = file_format
        if file_format == "parquet":
            # Dictionary-encoding ids, money and timestamps costs time and saves nothing.
            text = [field.name for field in schema if pa.types.is_string(field.type)]
            self._writer = pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=text)
        else:
            self._writer = pacsv.CSVWriter(
                path, _csv_ready(schema.empty_table()).schema,
                write_options=pacsv.WriteOptions(quoting_style="none", quoting_header="none"))

    def write(self, table: pa.Table) -> None:
        if self.file_format == "parquet":
            self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        else:
            self._writer.write_table(_csv_ready(table))

    def close(self) -> None:
        self._writer.close()


class SimulationWriter:
    """Open files of one simulation run: the history tables and the truth files.

    Parameters
    ----------
    out_dir : Path
        Created if missing; history tables at the top, truth in ``truth/``.
    file_format : {"parquet", "csv"}
        Format of the history tables.
    """

    def __init__(self, out_dir: Path, file_format: str):
        self.out_dir = Path(out_dir)
        (self.out_dir / "truth").mkdir(parents=True, exist_ok=True)
        self.history = {
            name: _TableFile(self.out_dir / f"{name}.{file_format}", spec.arrow_schema, file_format)
            for name, spec in HISTORY.items()
        }
        self.truth = {
            name: _TableFile(self.out_dir / "truth" / f"{name}.parquet", schema, "parquet")
            for name, schema in TRUTH_SCHEMAS.items()
        }

    def write_history(self, name: str, columns: dict) -> None:
        """Append rows to history table ``name``."""
        self._submit(self.history[name], history_table(name, columns))

    def write_truth(self, name: str, columns: dict) -> None:
        """Append rows to truth file ``name``."""
        self._submit(self.truth[name], truth_table(name, columns))

    def _submit(self, file: _TableFile, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        file.rows += table.num_rows
        file.write(table)

    def close(self) -> dict[str, Path]:
        """Close every file; returns their paths by name (truth files as ``truth/<name>``)."""
        paths = {}
        for name, file in self.history.items():
            file.close()
            paths[name] = file.path
        for name, file in self.truth.items():
            file.close()
            paths[f"truth/{name}"] = file.path
        return paths

    @property
    def row_counts(self) -> dict[str, int]:
        """Rows written so far per history table."""
        return {name: file.rows for name, file in self.history.items()}
