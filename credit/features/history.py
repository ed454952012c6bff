"""The transaction history as DuckDB views, read from Parquet files or from the store.

Feature code only ever sees a :class:`History`: one DuckDB connection holding a view per
history table (``firms``, ``orders``, ...) with exactly the columns and types of
:data:`credit.store.frames.HISTORY`. Parquet files are scanned in place (DuckDB reads only
the columns a query needs); a store is copied once into Arrow tables, since DuckDB has no
SQLite or PostgreSQL reader without downloading an extension.
"""

from __future__ import annotations

import glob
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from credit import clock
from credit.features.bucket_layout import BUCKETED, bucket_files, is_bucketed
from credit.store.frames import HISTORY, TableSpec

STORE_BATCH_ROWS = 200_000
MEMORY_LIMIT = "768MB"
"""DuckDB's own memory (tables, sorts, hash tables; not results handed to Python) per history."""
BUILD_MEMORY_LIMIT = "1200MB"
"""DuckDB's memory while it builds the feature helper tables (:func:`credit.features.sources.prepare`).

Nothing else is held then, and below this the payment window and the invoice join spill to
disk and back; once they are built the limit returns to :data:`MEMORY_LIMIT`.
"""


class HistoryError(ValueError):
    """The history cannot be read: a missing table file or a file with other columns."""


@dataclass(frozen=True)
class Watermark:
    """How far one table's history goes."""

    table: str
    rows: int
    first_event: datetime | None
    last_event: datetime | None


class History:
    """A read-only view of the history tables for feature building.

    Parameters
    ----------
    connection
        A DuckDB connection where every table of ``HISTORY`` is a view or table of its name.
    origin
        Where the rows came from, for manifests and error messages.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, origin: str) -> None:
        self.connection = connection
        self.origin = origin
        self.prepared_until: datetime | None = None  # helper tables built for events before this
        self.folder: Path | None = None  # the Parquet folder, when read from one
        self.whole_universe = False  # features are being computed for every firm

    @classmethod
    def from_parquet(cls, folder: Path | str, threads: int | None = None,
                     partition: tuple[int, int] | None = None) -> History:
        """Scan ``<folder>/<table>.parquet`` for every history table (the simulator's layout).

        Parameters
        ----------
        partition
            ``(p, count)``: read only bucket ``p`` of the history written in ``count`` firm
            buckets (:func:`credit.features.buckets.write_buckets`): what the firms with
            ``firm_id % count == p`` need, their orders and invoices as either party, with the
            payments, returns and disputes on them; ``firms`` and ``credit_events`` stay whole,
            they are small.

        Raises
        ------
        HistoryError
            If a table's file is missing or its columns differ from the data model, or a
            partition is asked for and the folder holds no current buckets of that count.
        """
        folder = Path(folder)
        connection = _connect(threads)
        for spec in HISTORY.values():
            path = folder / f"{spec.name}.parquet"
            if not path.is_file():
                raise HistoryError(f"{path}: missing; a history folder holds one Parquet file per table "
                                   f"({', '.join(HISTORY)})")
            relation = connection.sql(f"SELECT * FROM read_parquet({_quote(str(path))})")
            _check_columns(spec, dict(zip(relation.columns, relation.types, strict=True)), str(path))
        if partition is not None and not is_bucketed(folder, partition[1]):
            raise HistoryError(f"{folder}: no firm buckets of {partition[1]} written from the current files; "
                               "write them first (credit.features.buckets.write_buckets)")
        for spec in HISTORY.values():
            source = f"read_parquet({_quote(str(folder / f'{spec.name}.parquet'))})"
            if partition is not None and spec.name in BUCKETED:
                files = bucket_files(folder, spec.name, *partition)
                # a bucket with no rows of a table has no file: an empty view of the table's columns
                source = (f"read_parquet({_quote(files)}, hive_partitioning = false)" if glob.glob(files)
                          else f"(SELECT * FROM {source} LIMIT 0)")
            connection.execute(f"CREATE VIEW {spec.name} AS SELECT {', '.join(spec.column_names)} FROM {source}")
        origin = str(folder) if partition is None else f"{folder} (firm partition {partition[0]} of {partition[1]})"
        history = cls(connection, origin)
        history.folder = folder
        return history

    @classmethod
    def from_tables(cls, tables: Mapping[str, pa.Table | object], origin: str = "memory",
                    threads: int | None = None) -> History:
        """Use in-memory tables (Arrow tables or pandas DataFrames), one per history table."""
        connection = _connect(threads)
        for spec in HISTORY.values():
            if spec.name not in tables:
                raise HistoryError(f"{origin}: no {spec.name} table given")
            data = tables[spec.name]
            arrow = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
            arrow = arrow.select(spec.column_names).cast(spec.arrow_schema)
            connection.register(f"_{spec.name}_rows", arrow)
            connection.execute(f"CREATE VIEW {spec.name} AS SELECT * FROM _{spec.name}_rows")
        return cls(connection, origin)

    @classmethod
    def from_store(cls, engine: Engine, threads: int | None = None) -> History:
        """Copy every history table of the store at ``engine`` into memory."""
        tables = {spec.name: _read_store_table(engine, spec) for spec in HISTORY.values()}
        return cls.from_tables(tables, origin=engine.url.render_as_string(hide_password=True), threads=threads)

    def one(self, query: str, parameters: dict | None = None) -> tuple:
        """The single row of ``query``."""
        (row,) = self.connection.execute(query, parameters or {}).fetchall()
        return row

    def watermarks(self) -> list[Watermark]:
        """Rows and first/last event time of every table, by its event-time column."""
        marks = []
        for spec in HISTORY.values():
            rows, first, last = self.one(
                f"SELECT count(*), min({spec.event_time}), max({spec.event_time}) FROM {spec.name}")
            marks.append(Watermark(spec.name, rows, first, last))
        return marks

    def span(self) -> tuple[datetime, datetime]:
        """First transaction and the end of the history: midnight after the last event, or now if earlier.

        Firms' registration times are left out: a firm may join long before it trades. A
        history read today ends now, not at midnight: what happens later today is not known.
        """
        marks = [m for m in self.watermarks() if m.table != "firms" and m.last_event is not None]
        if not marks:
            raise HistoryError(f"{self.origin}: the history holds no transactions")
        first = min(m.first_event for m in marks)
        last = max(m.last_event for m in marks)
        end = min(datetime(last.year, last.month, last.day) + timedelta(days=1), clock.now())
        return first, end


def _connect(threads: int | None) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    connection.execute("SET preserve_insertion_order = false")
    # Past the limit DuckDB moves table blocks and sort runs to disk: the feature build's payment
    # and invoice helper tables alone are 1.4 GB on a 50,000-firm history, and they are read
    # stream by stream, so holding all of them in memory buys little time.
    spill = tempfile.mkdtemp(prefix="credit-duckdb-")
    weakref.finalize(connection, shutil.rmtree, spill, ignore_errors=True)
    connection.execute(f"SET temp_directory = {_quote(spill)}")
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    # and it hands memory back after each query instead of keeping it for the next (a few
    # hundred MB otherwise, held while NumPy works on the result)
    connection.execute("SET allocator_flush_threshold = '8MB'")
    connection.execute("SET allocator_bulk_deallocation_flush_threshold = '32MB'")
    connection.execute("SET allocator_background_threads = true")
    return connection


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_DUCKDB_TYPES = {"id": "BIGINT", "money": "BIGINT", "integer": "BIGINT", "timestamp": "TIMESTAMP",
                 "text": "VARCHAR", "choice": "VARCHAR", "boolean": "BOOLEAN"}


def _check_columns(spec: TableSpec, found: dict[str, object], where: str) -> None:
    missing = [c for c in spec.column_names if c not in found]
    if missing:
        raise HistoryError(f"{where}: missing column(s) {', '.join(missing)} of table {spec.name}")
    for column in spec.columns:
        expected = _DUCKDB_TYPES[column.kind]
        if str(found[column.name]) != expected:
            raise HistoryError(f"{where}: column {column.name} is {found[column.name]}, expected {expected}")


def _read_store_table(engine: Engine, spec: TableSpec) -> pa.Table:
    schema = spec.arrow_schema
    batches = []
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(f"SELECT {', '.join(spec.column_names)} FROM {spec.name}")
            while rows := cursor.fetchmany(STORE_BATCH_ROWS):
                columns = list(zip(*rows, strict=True))
                batches.append(pa.record_batch(
                    [_store_column(values, field.type) for values, field in zip(columns, schema, strict=True)],
                    schema=schema))
        finally:
            cursor.close()
    return pa.Table.from_batches(batches, schema=schema)


def _store_column(values: tuple, arrow_type: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(arrow_type) and values and isinstance(next((v for v in values if v is not None), None), str):
        return pc.cast(pa.array(values, type=pa.string()), arrow_type)  # SQLite keeps timestamps as text
    if pa.types.is_boolean(arrow_type):
        return pa.array([None if v is None else bool(v) for v in values], type=arrow_type)
    return pa.array(values, type=arrow_type)
