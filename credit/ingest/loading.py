"""The database side of ingest: look up referenced rows, compare with stored rows, insert.

Parent rows loaded earlier in the same run are looked up in memory (`LoadedRows`, sorted
keys and numpy columns); only keys not found there go to the database. Queries take the
chunk's keys as one parameter (``json_each`` on SQLite, ``= ANY(array)`` on PostgreSQL) and
read rows through the raw driver cursor, so their cost grows with the chunk, not with the
store. Valid new rows are written once, straight into the target table: one prepared
INSERT run by ``executemany`` on SQLite, binary COPY built from Arrow columns on PostgreSQL
(`pg_binary`).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from credit import clock
from credit.ingest import pg_binary
from credit.ingest.rules import Lookup, lookups
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


class LoadedRows:
    """The columns children look up, of the rows one run has loaded, per parent table.

    A file's rows are added once its transaction has committed (`commit`), so a file that
    fails leaves nothing here. Keys are sorted on the first lookup after a commit.
    """

    def __init__(self) -> None:
        self._needed: dict[str, set[str]] = defaultdict(set)
        for table in HISTORY:
            for lookup in lookups(table):
                self._needed[lookup.parent_table] |= {lookup.parent_key, *lookup.columns}
        self._pending: dict[str, list[pd.DataFrame]] = defaultdict(list)
        self._parts: dict[str, list[pd.DataFrame]] = defaultdict(list)
        self._sorted: dict[str, dict[str, np.ndarray]] = {}

    def add(self, table: str, frame: pd.DataFrame) -> None:
        """Rows of ``table`` inserted by the file being loaded (kept once it commits)."""
        if table in self._needed and len(frame):
            self._pending[table].append(frame[sorted(self._needed[table])].reset_index(drop=True))

    def commit(self) -> None:
        for table, parts in self._pending.items():
            self._parts[table].extend(parts)
            self._sorted.pop(table, None)
        self._pending.clear()

    def rollback(self) -> None:
        self._pending.clear()

    def find(self, table: str, key: str, columns: list[str], keys: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``(columns of the rows found by key, keys not found)`` for distinct ``keys``."""
        if not self._parts.get(table):
            return {}, keys
        if table not in self._sorted:
            merged = pd.concat(self._parts[table], ignore_index=True)
            self._parts[table] = [merged]
            stored = merged[key].to_numpy(dtype=np.int64)
            order = np.argsort(stored, kind="stable")
            self._sorted[table] = {name: _numpy(merged[name])[order] for name in merged.columns}
        data = self._sorted[table]
        found, positions = _positions(data[key], keys)
        return {key: keys[found], **{c: data[c][positions[found]] for c in columns}}, keys[~found]


def _numpy(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.Int64Dtype):
        return series.to_numpy(dtype=np.int64)  # lookup columns are NOT NULL in the store
    return series.to_numpy()


def _positions(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per key: is it in ``sorted_keys``, and at which position."""
    if not len(sorted_keys):
        return np.zeros(len(keys), bool), np.zeros(len(keys), np.int64)
    positions = np.searchsorted(sorted_keys, keys).clip(max=len(sorted_keys) - 1)
    return sorted_keys[positions] == keys, positions


def parent_values(connection: Connection, lookup: Lookup, foreign_keys: pd.Series,
                  loaded: LoadedRows | None = None, before_query: Callable[[], None] | None = None) -> pd.DataFrame:
    """Per distinct foreign key that resolves: ``<fk>`` and ``<fk>__<column>`` of its parent row.

    Keys of rows in ``loaded`` are answered from memory; the others from the database, after
    calling ``before_query`` (which waits for a COPY still writing on the connection).
    """
    keys = foreign_keys.dropna().unique().astype(np.int64)
    parent = HISTORY[lookup.parent_table]
    fk = lookup.foreign_key
    names = [fk, *(f"{fk}__{c}" for c in lookup.columns)]
    kinds = ["id", *(parent.column(c).kind for c in lookup.columns)]
    in_memory, keys = (loaded or LoadedRows()).find(parent.name, lookup.parent_key, list(lookup.columns), keys)
    parts = []
    if in_memory:
        parts.append(pd.DataFrame({
            name: (pd.array(values, dtype="Int64") if kind in ("id", "money", "integer") else values)
            for name, kind, values in zip(names, kinds, in_memory.values())
        }))
    if len(keys) or not parts:
        if before_query:
            before_query()
        rows = _rows_by_key(connection, parent.name, lookup.parent_key, list(lookup.columns), keys)
        parts.append(_typed_frame(rows, names, kinds))
    found = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    found[f"{fk}__found"] = True
    return found


def attach(frame: pd.DataFrame, found: pd.DataFrame, key: str) -> pd.DataFrame:
    """``frame`` with the columns of ``found`` (one row per distinct ``key``) of its ``key``.

    A left join by binary search: chunk order kept, a missing key gives missing values.
    """
    wanted = frame[key]
    present = wanted.notna().to_numpy(dtype=bool)
    values = wanted.to_numpy(dtype=np.int64, na_value=0)
    if found.empty:  # no key resolves: one placeholder row to take from, every value missing
        found = pd.concat([found, found.iloc[:0].reindex([0])], ignore_index=True)
        found[key] = pd.array([0], dtype="Int64")
        present = np.zeros(len(frame), bool)
    found_keys = found[key].to_numpy(dtype=np.int64)
    order = np.argsort(found_keys, kind="stable")
    hit, positions = _positions(found_keys[order], values)
    hit &= present
    rows = order[positions]
    added = {}
    for name in found.columns:
        if name == key:
            continue
        column = found[name]
        if name.endswith("__found"):
            added[name] = hit
        elif isinstance(column.dtype, pd.Int64Dtype):
            added[name] = pd.arrays.IntegerArray(column.to_numpy(dtype=np.int64, na_value=0)[rows], ~hit)
        else:
            taken = column.to_numpy()[rows].copy()
            taken[~hit] = np.datetime64("NaT") if taken.dtype.kind == "M" else None
            added[name] = taken
    return frame.assign(**added)


def stored_rows(connection: Connection, spec: TableSpec, keys: pd.Series) -> pd.DataFrame:
    """The stored rows of ``spec``'s table whose key is among ``keys``, typed like a chunk."""
    others = [c.name for c in spec.columns if c.name != spec.key]
    rows = _rows_by_key(connection, spec.name, spec.key, others, keys.dropna().unique().astype(np.int64))
    return _typed_frame(rows, [spec.key, *others], [spec.column(n).kind for n in [spec.key, *others]])


def insert_rows(connection: Connection, spec: TableSpec, frame: pd.DataFrame) -> None:
    """Insert typed rows into ``spec``'s table."""
    if frame.empty:
        return
    if connection.dialect.name == "postgresql":
        driver = connection.connection.dbapi_connection
        copy_rows(driver, spec, frame, column_types(driver, spec))
        return
    names = ", ".join(spec.column_names)
    values = zip(*(_db_values(frame[c.name], c.kind) for c in spec.columns))
    placeholders = ", ".join("?" for _ in spec.columns)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.executemany(f"INSERT INTO {spec.name} ({names}) VALUES ({placeholders})", values)
    finally:
        cursor.close()


def column_types(driver, spec: TableSpec) -> list[str]:  # noqa: ANN001
    """PostgreSQL: the type of each of ``spec``'s columns, as `pg_binary.encode` takes them."""
    cursor = driver.cursor()
    try:
        cursor.execute("SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
                       "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (spec.name,))
        types = dict(cursor.fetchall())
    finally:
        cursor.close()
    return [types[c] for c in spec.column_names]


def copy_rows(driver, spec: TableSpec, frame: pd.DataFrame, types: list[str]) -> None:  # noqa: ANN001
    """PostgreSQL: binary COPY of typed rows through the psycopg connection ``driver``; the
    server stores the values as sent instead of parsing text. Touches nothing else, so it
    may run on a thread of its own while nothing else uses ``driver``."""
    if frame.empty:
        return
    stream = memoryview(pg_binary.encode(_arrow_table(spec, frame), types))
    cursor = driver.cursor()
    try:
        with cursor.copy(f"COPY {spec.name} ({', '.join(spec.column_names)}) FROM STDIN (FORMAT binary)") as copy:
            for start in range(0, len(stream), 1 << 24):
                copy.write(stream[start:start + (1 << 24)])
    finally:
        cursor.close()


def _arrow_table(spec: TableSpec, frame: pd.DataFrame) -> pa.Table:
    columns = []
    for c in spec.columns:
        series = frame[c.name]
        if c.kind == "timestamp":
            columns.append(pa.array(series.to_numpy(), type=pa.timestamp("us"), from_pandas=True))
        elif c.kind in ("id", "money", "integer"):
            columns.append(pa.array(series, type=pa.int64(), from_pandas=True))
        elif c.kind == "boolean":
            columns.append(pa.array(series, type=pa.bool_(), from_pandas=True))
        else:
            columns.append(pa.array(series, type=pa.string(), from_pandas=True))
    return pa.Table.from_arrays(columns, names=spec.column_names)


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
    if isinstance(series.dtype, pd.Int64Dtype) and not series.hasnans:
        return series.to_numpy(dtype=np.int64).tolist()  # Python ints, 5x faster than via object
    return series.to_numpy(dtype=object, na_value=None).tolist()
