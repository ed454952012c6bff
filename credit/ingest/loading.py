"""The database side of ingest: look up referenced rows, compare with stored rows, insert.

Queries take the chunk's keys as one parameter (``json_each`` on SQLite, ``= ANY(array)``
on PostgreSQL) and read rows through the raw driver cursor, so their cost grows with the
chunk, not with the store, and no per-row Python objects are built beyond the driver's.
Valid new rows are written once, straight into the target table (executemany on SQLite,
COPY on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from credit import clock
from credit.ingest.rules import Lookup
from credit.store.frames import HISTORY, TableSpec
from credit.store.tables import QuarantinedRow


def _rows_by_key(connection: Connection, table: str, key: str, columns: list[str], keys: np.ndarray) -> list[tuple]:
    """``(key, *columns)`` of the stored rows of ``table`` whose ``key`` is in ``keys``."""
    selected = ", ".join(f"t.{c}" for c in [key, *columns])
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        if connection.dialect.name == "postgresql":
            cursor.execute(f"SELECT {selected} FROM {table} t WHERE t.{key} = ANY(%s)", (keys.tolist(),))
        else:
            cursor.execute(f"SELECT {selected} FROM {table} t JOIN json_each(?) j ON t.{key} = j.value",
                           (json.dumps(keys.tolist()),))
        return cursor.fetchall()
    finally:
        cursor.close()


def _typed_frame(rows: list[tuple], names: list[str], kinds: list[str]) -> pd.DataFrame:
    columns = list(zip(*rows)) if rows else [()] * len(names)
    frame = {}
    for name, kind, values in zip(names, kinds, columns):
        if kind == "timestamp":
            frame[name] = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601").astype("datetime64[us]")
        elif kind == "boolean":
            frame[name] = pd.Series(values, dtype=object).astype("boolean")
        elif kind in ("text", "choice"):
            frame[name] = pd.Series(values, dtype="string")
        else:
            frame[name] = pd.Series(values, dtype="Int64")
    return pd.DataFrame(frame)


def parent_values(connection: Connection, lookup: Lookup, foreign_keys: pd.Series) -> pd.DataFrame:
    """Per distinct foreign key that resolves: ``<fk>`` and ``<fk>__<column>`` of its parent row."""
    keys = foreign_keys.dropna().unique().astype(np.int64)
    parent = HISTORY[lookup.parent_table]
    rows = _rows_by_key(connection, parent.name, lookup.parent_key, list(lookup.columns), keys)
    fk = lookup.foreign_key
    names = [fk, *(f"{fk}__{c}" for c in lookup.columns)]
    kinds = ["id", *(parent.column(c).kind for c in lookup.columns)]
    found = _typed_frame(rows, names, kinds)
    found[f"{fk}__found"] = True
    return found


def stored_rows(connection: Connection, spec: TableSpec, keys: pd.Series) -> pd.DataFrame:
    """The stored rows of ``spec``'s table whose key is among ``keys``, typed like a chunk."""
    others = [c.name for c in spec.columns if c.name != spec.key]
    rows = _rows_by_key(connection, spec.name, spec.key, others, keys.dropna().unique().astype(np.int64))
    return _typed_frame(rows, [spec.key, *others], [spec.column(n).kind for n in [spec.key, *others]])


def insert_rows(connection: Connection, spec: TableSpec, frame: pd.DataFrame) -> None:
    """Insert typed rows into ``spec``'s table."""
    if frame.empty:
        return
    names = spec.column_names
    values = list(zip(*(_db_values(frame[c.name], c.kind) for c in spec.columns)))
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY {spec.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in names)
    connection.exec_driver_sql(f"INSERT INTO {spec.name} ({', '.join(names)}) VALUES ({placeholders})", values)


def quarantine(connection: Connection, records: list[dict]) -> None:
    """Store quarantine records, skipping ones already there (same row, same rule)."""
    table = QuarantinedRow.__table__
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[connection.dialect.name]
    for start in range(0, len(records), 10_000):
        connection.execute(dialect.insert(table).on_conflict_do_nothing(), records[start:start + 10_000])


def quarantine_record(table: str, source: str, row_number: int, row_key: str | None, rule: str,
                      detail: str, row_json: str) -> dict:
    fingerprint = hashlib.sha256(f"{source}\x1f{row_number}\x1f{row_json}".encode()).hexdigest()
    return {
        "table_name": table, "source": source, "row_number": row_number, "row_key": row_key,
        "rule": rule, "detail": detail[:2000], "row_json": row_json, "row_fingerprint": fingerprint,
        "quarantined_at": clock.now(),
    }


def _db_values(series: pd.Series, kind: str) -> list:
    if kind == "timestamp":
        # "2024-01-02 03:04:05.000006": the text SQLAlchemy itself stores on SQLite, so rows
        # loaded here and rows written through the ORM compare equal (a cast is 30x strftime)
        return pc.cast(pa.array(series, type=pa.timestamp("us")), pa.string()).to_pylist()
    if kind == "boolean":
        return series.astype("Int64").to_numpy(dtype=object, na_value=None).tolist()
    return series.to_numpy(dtype=object, na_value=None).tolist()
