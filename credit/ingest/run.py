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
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.schema import AddConstraint, DropConstraint

from credit import clock
from credit.text import escape_controls
from credit.ingest.loading import insert_rows, parent_values, quarantine, quarantine_record, stored_rows
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
    return [_ingest_file(engine, table, path, progress, chunk_rows) for table, path in files]


def _ingest_file(engine, table, path, progress, chunk_rows) -> FileResult:  # noqa: ANN001
    result = FileResult(table=table, path=path)
    started = clock.now()
    spec = HISTORY[table]
    check = validator(table)
    try:
        with (engine.connect() as connection, _bulk_load_settings(connection),
              connection.execution_options(sqlite_begin="IMMEDIATE").begin()):
            inserted_keys: list[np.ndarray] = []  # keys this file has loaded so far
            with _constraints_built_after_first_load(connection, table):
                for chunk in read_chunks(path, spec, chunk_rows):
                    _ingest_chunk(connection, spec, chunk, check, result, inserted_keys)
                    if progress:
                        progress(table, result.rows_read)
            connection.execute(insert(IngestRun.__table__).values(
                table_name=table, source=str(path), file_sha256=_sha256(path), rows_read=result.rows_read,
                rows_loaded=result.loaded, rows_unchanged=result.unchanged, rows_quarantined=result.quarantined,
                started_at=started, finished_at=clock.now(),
            ))
    except UnusableFileError as exc:
        return FileResult(table=table, path=path, error=exc.reason)
    return result


@contextmanager
def _bulk_load_settings(connection) -> Iterator[None]:  # noqa: ANN001
    """SQLite settings for one file's load, restored afterwards on the pooled connection.

    The rules have resolved every foreign key against rows committed before this file, and
    SQLite lets one writer at a time hold the database, so nothing can remove a parent
    meanwhile: its own per-row foreign-key lookups would only double the insert time. A
    large page cache keeps the random inserts into secondary indexes in memory.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.dbapi_connection  # outside any transaction: PRAGMA
    driver.execute("PRAGMA foreign_keys = OFF")       # foreign_keys is a no-op inside one
    driver.execute("PRAGMA cache_size = -524288")
    try:
        yield
    finally:
        driver.execute("PRAGMA cache_size = -2000")
        driver.execute("PRAGMA foreign_keys = ON")


@contextmanager
def _constraints_built_after_first_load(connection, table: str) -> Iterator[None]:  # noqa: ANN001
    """Into an empty table, load without secondary indexes (and, on PostgreSQL, foreign keys).

    Building an index once from sorted keys is several times faster than millions of random
    inserts into it, and PostgreSQL checks a re-added foreign key in one set-based pass
    instead of one trigger call per row. (SQLite's per-row checks are off for the load; see
    `_bulk_load_settings`.) All of it happens inside the file's transaction: a failed load
    leaves the table as it was, and a re-added foreign key still refuses any orphan.
    """
    target = Base.metadata.tables[table]
    empty = connection.execute(select(target.c[HISTORY[table].key]).limit(1)).first() is None
    if not empty:
        yield
        return
    foreign_keys = list(target.foreign_key_constraints) if connection.dialect.name == "postgresql" else []
    for constraint in foreign_keys:
        connection.execute(DropConstraint(constraint))
    for index in target.indexes:
        index.drop(connection)
    yield
    for index in target.indexes:
        index.create(connection)
    for constraint in foreign_keys:
        connection.execute(AddConstraint(constraint))


def _ingest_chunk(connection, spec, chunk: Chunk, check, result: FileResult,  # noqa: ANN001
                  inserted_keys: list[np.ndarray]) -> None:
    frame = chunk.frame
    source = str(result.path)
    validation = frame
    for lookup in lookups(spec.name):
        found = parent_values(connection, lookup, frame[lookup.foreign_key])
        validation = validation.merge(found, on=lookup.foreign_key, how="left")
    failures = check.failures(validation, chunk.parse_failed)

    failed_any = np.zeros(len(frame), bool)
    for rows in failures.values():
        failed_any[rows] = True
    stored = stored_rows(connection, spec, frame[spec.key])
    already_stored = frame[spec.key].isin(stored[spec.key]).to_numpy(dtype=bool)
    if already_stored.any() and inserted_keys:
        # a key this file loaded in an earlier chunk: the same duplicate the unique rule
        # catches within a chunk, not a row that was stored before the file
        repeated = np.flatnonzero(already_stored & frame[spec.key].isin(np.concatenate(inserted_keys)).to_numpy(bool))
        unique_rule = f"unique:{spec.key}"
        failures[unique_rule] = np.union1d(failures.get(unique_rule, np.zeros(0, np.int64)), repeated)
        failed_any[repeated] = True
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
    quarantine(connection, records)

    new = ~failed_any & ~already_stored
    insert_rows(connection, spec, frame[new])
    inserted_keys.append(frame[spec.key][new].to_numpy(dtype=np.int64))
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
