"""Ingest files into the store: read, look up, validate, load, quarantine, report.

Each file is loaded in one transaction: it lands whole (valid rows stored, invalid rows in
``ingest_quarantine``) or, when unusable, not at all. Rows already stored with the same key
and the same values are counted as unchanged; the same key with other values is a conflict
and is quarantined, never overwritten. Loading the same files twice therefore changes
neither the history tables nor the quarantine.

On SQLite the file's transaction takes the write lock as it begins (``BEGIN IMMEDIATE``):
it reads before it writes, and a deferred transaction whose snapshot another writer's commit
(the API's) made stale fails at once with "database is locked" instead of waiting. So it
waits for the lock, as long as the engine's busy timeout (``make_engine``), then raises
:class:`sqlalchemy.exc.OperationalError` having loaded nothing of the file.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.schema import AddConstraint, DropConstraint

from credit import clock
from credit.text import escape_controls
from credit.ingest.loading import (LoadedRows, attach, column_types, copy_rows, insert_rows, parent_values, quarantine,
                                   quarantine_record, stored_rows)
from credit.ingest.reading import CHUNK_ROWS, Chunk, UnusableFileError, read_chunks
from credit.ingest.rules import CONFLICT, MALFORMED, lookups, rule_named, validator
from credit.store.frames import HISTORY
from credit.store.tables import Base, IngestRun

_SUFFIXES = (".parquet", ".csv", ".csv.gz")


@dataclass
class FileResult:
    """What happened to one file."""

    table: str
    path: Path
    rows_read: int = 0
    loaded: int = 0
    unchanged: int = 0
    quarantined: int = 0
    by_rule: Counter = field(default_factory=Counter)
    error: str | None = None  # set when the file was unusable and nothing was loaded
    seconds: float = 0.0  # the file's load, commit and index builds included


def find_history_files(paths: Iterable[Path]) -> tuple[list[tuple[str, Path]], list[Path]]:
    """Map paths (files or folders) to history tables, in load order.

    A file belongs to the table its name says (``orders.parquet``, ``orders.csv``). Files in
    a folder that name no table are returned as ignored, so the caller can say so.

    Raises
    ------
    UnusableFileError
        A path that does not exist, a file named after no table, or two files for one table.
    """
    found: dict[str, Path] = {}
    ignored: list[Path] = []
    for path in paths:
        if not path.exists():
            raise UnusableFileError(path, "no such file or folder")
        candidates = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            table = _table_of(candidate)
            if table is None:
                if path.is_dir():
                    ignored.append(candidate)
                    continue
                raise UnusableFileError(candidate, f"file name names no history table; expected one of "
                                                   f"{', '.join(HISTORY)} with {', '.join(_SUFFIXES)}")
            if table in found:
                raise UnusableFileError(candidate, f"a second file for table {table} (first: {found[table]})")
            found[table] = candidate
    return [(t, found[t]) for t in HISTORY if t in found], ignored


def _table_of(path: Path) -> str | None:
    for suffix in _SUFFIXES:
        if path.name.endswith(suffix) and path.name[: -len(suffix)] in HISTORY:
            return path.name[: -len(suffix)]
    return None


def ingest_files(
    engine: Engine,
    files: list[tuple[str, Path]],
    progress: Callable[[str, int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> list[FileResult]:
    """Load ``(table, path)`` pairs into the store in order; see the module docstring.

    Parameters
    ----------
    engine
        Store whose schema is at the latest migration.
    files
        Pairs from :func:`find_history_files`, parents before children.
    progress
        Called with (table, rows read so far) after each chunk.
    """
    loaded = LoadedRows()
    results = []
    for table, path in files:
        started = time.perf_counter()
        results.append(_ingest_file(engine, table, path, progress, chunk_rows, loaded))
        results[-1].seconds = time.perf_counter() - started
    return results


def _ingest_file(engine, table, path, progress, chunk_rows, loaded: LoadedRows) -> FileResult:  # noqa: ANN001
    result = FileResult(table=table, path=path)
    started = clock.now()
    spec = HISTORY[table]
    check = validator(table)
    try:
        with (engine.connect() as connection, _bulk_load_settings(connection),
              connection.execution_options(sqlite_begin="IMMEDIATE").begin()):
            inserted = _InsertedKeys()  # keys this file has loaded so far
            with (_constraints_built_after_first_load(connection, table) as was_empty,
                  _rows_writer(connection, spec) as writer):
                for number, chunk in enumerate(read_chunks(path, spec, chunk_rows)):
                    _ingest_chunk(connection, spec, chunk, check, result, inserted, loaded, writer,
                                  was_empty=was_empty, cross_check=number == 0)
                    if progress:
                        progress(table, result.rows_read)
            connection.execute(insert(IngestRun.__table__).values(
                table_name=table, source=str(path), file_sha256=_sha256(path), rows_read=result.rows_read,
                rows_loaded=result.loaded, rows_unchanged=result.unchanged, rows_quarantined=result.quarantined,
                started_at=started, finished_at=clock.now(),
            ))
    except UnusableFileError as exc:
        loaded.rollback()
        return FileResult(table=table, path=path, error=exc.reason)
    except BaseException:
        loaded.rollback()
        raise
    loaded.commit()
    return result


@contextmanager
def _bulk_load_settings(connection) -> Iterator[None]:  # noqa: ANN001
    """SQLite settings for one file's load, restored afterwards on the pooled connection.

    The rules have resolved every foreign key against rows committed before this file, and
    SQLite lets one writer at a time hold the database, so nothing can remove a parent
    meanwhile: its own per-row foreign-key lookups would only double the insert time. A
    large page cache keeps the random inserts into existing secondary indexes in memory
    (a delivery into a store that holds years); index builds run with the default cache
    (`_constraints_built_after_first_load`).
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.dbapi_connection  # outside any transaction: PRAGMA
    driver.execute("PRAGMA foreign_keys = OFF")       # foreign_keys is a no-op inside one
    driver.execute(f"PRAGMA cache_size = {_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {_DEFAULT_CACHE_KIB}")
        driver.execute("PRAGMA foreign_keys = ON")


_BULK_CACHE_KIB = -524288
_DEFAULT_CACHE_KIB = -2000  # SQLite's default, as make_engine leaves it


@contextmanager
def _constraints_built_after_first_load(connection, table: str) -> Iterator[bool]:  # noqa: ANN001
    """Into an empty table, load without secondary indexes (and, on PostgreSQL, foreign keys).

    Building an index once from sorted keys is several times faster than millions of random
    inserts into it, and PostgreSQL checks a re-added foreign key in one set-based pass
    instead of one trigger call per row. (SQLite's per-row checks are off for the load; see
    `_bulk_load_settings`.) All of it happens inside the file's transaction: a failed load
    leaves the table as it was, and a re-added foreign key still refuses any orphan.

    Yields whether the table was empty, so the load knows no row was stored before it.
    """
    target = Base.metadata.tables[table]
    empty = connection.execute(select(target.c[HISTORY[table].key]).limit(1)).first() is None
    if not empty:
        yield False
        return
    foreign_keys = list(target.foreign_key_constraints) if connection.dialect.name == "postgresql" else []
    if connection.dialect.name == "postgresql":  # index builds sort in memory (this transaction only)
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
    for constraint in foreign_keys:
        connection.execute(DropConstraint(constraint))
    for index in target.indexes:
        index.drop(connection)
    yield True
    if connection.dialect.name == "sqlite":
        # CREATE INDEX sorts in runs sized from the page cache: with the bulk load's 512 MB
        # cache it sorts everything as one in-memory list, measured at twice the CPU of
        # merging default-sized runs (and temp_store = MEMORY three times)
        connection.exec_driver_sql(f"PRAGMA cache_size = {_DEFAULT_CACHE_KIB}")
    for index in target.indexes:
        index.create(connection)
    for constraint in foreign_keys:
        with _checked_by_index_probes(connection, constraint):
            connection.execute(AddConstraint(constraint))


@contextmanager
def _checked_by_index_probes(connection, constraint) -> Iterator[None]:  # noqa: ANN001
    """PostgreSQL checks a re-added foreign key with one anti-join of the table against its
    parent, planned as a hash join over the whole parent: 58,778 returns cost a scan of
    2.6 M orders. When the table is far smaller than the parent (their ``reltuples``, which
    the index builds have just set), the check is planned as one probe of the parent's
    primary key per row instead (returns' two keys at 12,500 firms: 0.35 CPU-s instead of
    1.15 plus a parallel worker's). The check itself is the same: every row is checked.
    """
    child_rows, parent_rows = connection.exec_driver_sql(
        "SELECT (SELECT reltuples FROM pg_class WHERE oid = %(child)s::regclass), "
        "(SELECT reltuples FROM pg_class WHERE oid = %(parent)s::regclass)",
        {"child": constraint.table.name, "parent": constraint.referred_table.name}).one()
    if child_rows < 0 or parent_rows < 0 or child_rows * _PROBE_RATIO > parent_rows:
        yield
        return
    for setting, value in _PROBE_SETTINGS.items():
        connection.exec_driver_sql(f"SET LOCAL {setting} = {value}")
    try:
        yield
    finally:
        for setting in _PROBE_SETTINGS:
            connection.exec_driver_sql(f"RESET {setting}")


_PROBE_RATIO = 10
"""A table with at most a tenth of its parent's rows is checked by probes of the parent's key
(measured: returns and disputes, 1/44 and 1/105 of orders, 3x and 8x less CPU; payments,
as many rows as invoices, twice the CPU by probes)."""
_PROBE_SETTINGS = {"enable_hashjoin": "off", "enable_mergejoin": "off", "max_parallel_workers_per_gather": "0"}


class _RowsWriter:
    """Writes each chunk's new rows: inline on SQLite; on PostgreSQL as a binary COPY on a
    thread of its own, so that the server stores one chunk while the next is read and
    validated (the two took turns, each idle while the other worked).

    Everything else that uses the connection first waits for the COPY in flight (`wait`),
    and the file's transaction ends only after the last one: a COPY's error is raised there
    and rolls the file back like any other.
    """

    def __init__(self, write: Callable[[pd.DataFrame], None], background: bool) -> None:
        self._write = write
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ingest-copy") if background else None
        self._pending: Future | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if self._pool is None:
            self._write(frame)
            return
        self.wait()
        self._pending = self._pool.submit(self._write, frame)

    def wait(self) -> None:
        """Return once no COPY is in flight; raise the error of one that failed."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown()


@contextmanager
def _rows_writer(connection, spec) -> Iterator[_RowsWriter]:  # noqa: ANN001
    if connection.dialect.name == "postgresql":
        driver = connection.connection.dbapi_connection
        types = column_types(driver, spec)
        writer = _RowsWriter(lambda frame: copy_rows(driver, spec, frame, types), background=True)
    else:
        writer = _RowsWriter(lambda frame: insert_rows(connection, spec, frame), background=False)
    try:
        yield writer
    except BaseException:
        with suppress(Exception):  # the error already raised is the one to report
            writer.close()
        raise
    writer.close()


class _InsertedKeys:
    """Keys one file has inserted, as sorted segments (one per chunk) with their ranges.

    A chunk's keys are tested against each segment only within its range: files in key order
    (as exports are) skip every earlier segment at the cost of two comparisons per key.
    """

    def __init__(self) -> None:
        self._segments: list[np.ndarray] = []

    def add(self, keys: np.ndarray) -> None:
        if len(keys):
            self._segments.append(np.sort(keys))

    def contains(self, keys: np.ndarray) -> np.ndarray:
        out = np.zeros(len(keys), bool)
        for segment in self._segments:
            candidates = np.flatnonzero((keys >= segment[0]) & (keys <= segment[-1]) & ~out)
            if len(candidates):
                positions = np.searchsorted(segment, keys[candidates]).clip(max=len(segment) - 1)
                out[candidates[segment[positions] == keys[candidates]]] = True
        return out


def _ingest_chunk(connection, spec, chunk: Chunk, check, result: FileResult,  # noqa: ANN001, PLR0913
                  inserted: _InsertedKeys, loaded: LoadedRows, writer: _RowsWriter, *, was_empty: bool,
                  cross_check: bool) -> None:
    frame = chunk.frame
    source = str(result.path)
    validation = frame
    for lookup in lookups(spec.name):
        found = parent_values(connection, lookup, frame[lookup.foreign_key], loaded, before_query=writer.wait)
        validation = attach(validation, found, lookup.foreign_key)
    failures = check.failures(validation, chunk.parse_failed, cross_check=cross_check)

    failed_any = np.zeros(len(frame), bool)
    for rows in failures.values():
        failed_any[rows] = True
    keys = frame[spec.key]
    key_values = keys.to_numpy(dtype=np.int64, na_value=0)
    # a key this file loaded in an earlier chunk: the same duplicate the unique rule catches
    # within a chunk, not a row that was stored before the file
    repeated = np.flatnonzero(inserted.contains(key_values) & keys.notna().to_numpy(bool))
    if len(repeated):
        unique_rule = f"unique:{spec.key}"
        failures[unique_rule] = np.union1d(failures.get(unique_rule, np.zeros(0, np.int64)), repeated)
        failed_any[repeated] = True
    if was_empty:  # nothing was stored before this file: only its own earlier rows, handled above
        already_stored = np.zeros(len(frame), bool)
        already_stored[repeated] = True
        identical = np.zeros(len(frame), bool)
    else:
        writer.wait()
        stored = stored_rows(connection, spec, keys)
        already_stored = keys.isin(stored[spec.key]).to_numpy(dtype=bool)
        identical = _identical_to_stored(frame, stored, spec)
    conflicts = np.flatnonzero(already_stored & ~identical & ~failed_any)
    if len(conflicts):
        failures[CONFLICT.name] = conflicts
        failed_any[conflicts] = True
    unchanged = already_stored & identical & ~failed_any

    records = []
    for rule_name, rows in failures.items():
        rule = rule_named(spec.name, rule_name)
        columns = rule.columns or tuple(spec.column_names)
        for position in rows:
            raw = {c: chunk.raw.column(c)[int(position)].as_py() for c in columns}
            shown = ", ".join(f"{c}={v!r}" for c, v in raw.items())
            records.append(quarantine_record(
                spec.name, source, int(chunk.row_numbers[position]),
                _key_text(chunk.raw.column(spec.key)[int(position)].as_py()), rule_name,
                f"{rule.requires}; got {shown}", chunk.raw_row_json(int(position))))
        result.by_rule[rule_name] += len(rows)
    for line, text in chunk.malformed:
        records.append(quarantine_record(
            spec.name, source, line, None, MALFORMED.name,
            f"line {line} does not have the {len(spec.columns)} fields of the header", _json_text(text)))
        result.by_rule[MALFORMED.name] += 1
    if records:
        writer.wait()
        quarantine(connection, records)

    new = ~failed_any & ~already_stored
    rows_new = frame[new] if not new.all() else frame
    writer.write(rows_new)
    inserted.add(key_values[new])
    loaded.add(spec.name, rows_new)
    result.loaded += int(new.sum())
    result.unchanged += int(unchanged.sum())
    result.quarantined += int(failed_any.sum()) + len(chunk.malformed)
    result.rows_read += len(frame) + len(chunk.malformed)


def _identical_to_stored(frame: pd.DataFrame, stored: pd.DataFrame, spec) -> np.ndarray:  # noqa: ANN001
    """Per chunk row: is there a stored row with its key and exactly its values?"""
    if stored.empty:
        return np.zeros(len(frame), bool)
    merged = frame[spec.column_names].merge(stored, on=spec.key, how="left", suffixes=("", "__stored"),
                                            indicator=True)
    same = merged["_merge"].eq("both").to_numpy().copy()
    for name in spec.column_names:
        if name == spec.key:
            continue
        new, old = merged[name], merged[f"{name}__stored"]
        same &= ((new == old).fillna(False) | (new.isna() & old.isna())).to_numpy(dtype=bool)
    return same


def _key_text(value: object) -> str | None:
    return None if value is None else escape_controls(str(value))[:100]  # a NUL cannot be stored on PostgreSQL


def _json_text(text: str) -> str:
    return json.dumps({"line": text}, ensure_ascii=False)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
