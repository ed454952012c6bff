"""Reading history files in chunks into typed frames, keeping what could not be parsed.

A value that cannot be read as its column's type is not guessed at: the typed column holds
null and the chunk's ``parse_failed`` mask records it, so validation can quarantine the row
under the rule ``type:<column>``. A file is unusable as a whole (``UnusableFileError``) when
it is empty, misses or adds columns, or when a column is of the wrong type throughout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from credit.store.frames import ColumnSpec, TableSpec

CHUNK_ROWS = 500_000
_INTEGER = r"^-?[0-9]{1,19}$"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TRUE = {"true", "True", "TRUE", "1", "t"}
_FALSE = {"false", "False", "FALSE", "0", "f"}


class UnusableFileError(Exception):
    """The file cannot be loaded at all; nothing from it is written."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class Chunk:
    """Consecutive data rows of one file, typed, with what failed to parse."""

    row_numbers: np.ndarray  # per row: CSV line number (header = line 1) or 1-based Parquet row
    frame: pd.DataFrame  # typed per the table spec, index 0..n-1
    parse_failed: dict[str, np.ndarray]  # column -> bool mask of values that did not parse
    raw: pa.Table  # the rows as read, for quarantine records
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (row number, text) of unparseable CSV lines

    def raw_row_json(self, position: int) -> str:
        row = {name: _jsonable(self.raw.column(name)[position].as_py()) for name in self.raw.column_names}
        return json.dumps(row, sort_keys=True, ensure_ascii=False)


def _jsonable(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value


def read_chunks(path: Path, spec: TableSpec, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Yield the typed chunks of a CSV or Parquet file of table ``spec``.

    Raises
    ------
    UnusableFileError
        Empty file, missing or unexpected columns, a Parquet column of an incompatible type.
    """
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if suffix in (".parquet", ".pq"):
        yield from _parquet_chunks(path, spec, chunk_rows)
    elif suffix in (".csv", ".csv.gz"):
        yield from _csv_chunks(path, spec, chunk_rows)
    else:
        raise UnusableFileError(path, f"unknown file type {path.suffix!r}; expected .csv, .csv.gz or .parquet")


def _check_columns(path: Path, spec: TableSpec, names: list[str]) -> None:
    missing = [c for c in spec.column_names if c not in names]
    extra = [c for c in names if c not in spec.column_names]
    if missing:
        raise UnusableFileError(path, f"missing column(s) {', '.join(missing)} of table {spec.name}")
    if extra:
        raise UnusableFileError(path, f"unexpected column(s) {', '.join(extra)}; table {spec.name} has {', '.join(spec.column_names)}")
    if len(set(names)) != len(names):
        raise UnusableFileError(path, "a column name appears twice in the header")


def _csv_chunks(path: Path, spec: TableSpec, chunk_rows: int) -> Iterator[Chunk]:
    malformed: list[tuple[int, str]] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        malformed.append((row.number or -1, row.text))
        return "skip"

    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 22, use_threads=False),  # keeps line numbers
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid_row, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in spec.column_names},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise UnusableFileError(path, "the file is empty (no header row)") from None
        raise UnusableFileError(path, f"not readable as CSV: {exc}") from None
    _check_columns(path, spec, reader.schema.names)
    yield from _chunked(path, spec, (pa.Table.from_batches([b]) for b in reader), chunk_rows, malformed, first_line=2)


def _parquet_chunks(path: Path, spec: TableSpec, chunk_rows: int) -> Iterator[Chunk]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnusableFileError(path, f"not readable as Parquet: {exc}") from None
    schema = parquet.schema_arrow
    _check_columns(path, spec, schema.names)
    for column in spec.columns:
        _check_parquet_type(path, column, schema.field(column.name).type)
    batches = (pa.Table.from_batches([b]) for b in parquet.iter_batches(batch_size=chunk_rows, columns=spec.column_names))
    yield from _chunked(path, spec, batches, chunk_rows, [], first_line=1)


def _check_parquet_type(path: Path, column: ColumnSpec, arrow_type: pa.DataType) -> None:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_null(arrow_type):
        return  # parsed value by value, like CSV text
    ok = {
        "id": pa.types.is_integer, "money": pa.types.is_integer, "integer": pa.types.is_integer,
        "timestamp": lambda t: pa.types.is_timestamp(t) or pa.types.is_date(t),
        "boolean": pa.types.is_boolean,
        "text": lambda t: False, "choice": lambda t: pa.types.is_dictionary(t),
    }[column.kind](arrow_type)
    if not ok:
        hint = " (money must be integer minor units)" if column.kind == "money" else ""
        raise UnusableFileError(path, f"column {column.name} has type {arrow_type}; expected {column.arrow_type}{hint}")


def _chunked(path, spec, tables, chunk_rows, malformed, first_line) -> Iterator[Chunk]:  # noqa: ANN001
    next_line = first_line
    pending: list[pa.Table] = []
    pending_rows = 0
    total = 0
    failures = {c.name: 0 for c in spec.columns}
    present = {c.name: 0 for c in spec.columns}

    def emit(table: pa.Table) -> Chunk:
        nonlocal next_line
        skipped = np.array(sorted(line for line, _ in malformed if line >= next_line), dtype=np.int64)
        candidates = np.arange(next_line, next_line + len(table) + len(skipped), dtype=np.int64)
        row_numbers = np.setdiff1d(candidates, skipped, assume_unique=True)[: len(table)]
        if len(table):
            next_line = int(row_numbers[-1]) + 1
        chunk = _type_chunk(table, spec, row_numbers)
        chunk.malformed = list(malformed)
        malformed.clear()
        for name, mask in chunk.parse_failed.items():
            failures[name] += int(mask.sum())
            present[name] += len(table) - table.column(name).null_count
        return chunk

    for table in tables:
        pending.append(table)
        pending_rows += len(table)
        total += len(table)
        while pending_rows >= chunk_rows:
            merged = pa.concat_tables(pending)
            yield emit(merged.slice(0, chunk_rows))
            rest = merged.slice(chunk_rows)
            pending, pending_rows = [rest], len(rest)
    if pending_rows or malformed:
        yield emit(pa.concat_tables(pending) if pending else _all_text(spec).empty_table())
    if total == 0 and not malformed:
        raise UnusableFileError(path, "the file has a header but no data rows")
    for name, failed in failures.items():
        if failed and failed == present[name]:
            raise UnusableFileError(
                path, f"column {name} has no value readable as {spec.column(name).kind} ({failed} values tried)"
            )


def _all_text(spec: TableSpec) -> pa.Schema:
    return pa.schema([pa.field(name, pa.string()) for name in spec.column_names])


def _type_chunk(raw: pa.Table, spec: TableSpec, row_numbers: np.ndarray) -> Chunk:
    columns: dict[str, pd.Series] = {}
    failed: dict[str, np.ndarray] = {}
    for column in spec.columns:
        values, bad = _typed(raw.column(column.name).combine_chunks(), column)
        columns[column.name] = values
        failed[column.name] = bad
    return Chunk(row_numbers=row_numbers, frame=pd.DataFrame(columns), parse_failed=failed, raw=raw)


def _typed(array: pa.Array, column: ColumnSpec) -> tuple[pd.Series, np.ndarray]:
    """The column as its pandas dtype, and a mask of non-null values that did not parse."""
    if pa.types.is_dictionary(array.type):
        array = array.cast(pa.string())
    is_text = pa.types.is_string(array.type) or pa.types.is_large_string(array.type) or pa.types.is_null(array.type)
    present = pc.is_valid(array).to_numpy(zero_copy_only=False)
    if column.kind in ("text", "choice"):
        return pd.Series(array.cast(pa.string()).to_pandas(types_mapper=pd.ArrowDtype), dtype="string"), np.zeros(len(array), bool)
    if column.kind in ("id", "money", "integer"):
        if is_text:
            text = array.cast(pa.string())
            digits = pc.fill_null(pc.match_substring_regex(text, _INTEGER), False)
            number = pc.if_else(digits, text, pa.scalar(None, pa.string())).cast(pa.decimal128(20, 0))
            in_range = pc.fill_null(pc.and_(pc.greater_equal(number, pa.scalar(_INT64_MIN, pa.decimal128(20, 0))),
                                            pc.less_equal(number, pa.scalar(_INT64_MAX, pa.decimal128(20, 0)))), False)
            array = pc.if_else(in_range, number, pa.scalar(None, number.type)).cast(pa.int64())
        elif array.type == pa.uint64():
            too_big = pc.fill_null(pc.greater(array, 2**63 - 1), False)
            array = pc.if_else(too_big, pa.scalar(None, array.type), array).cast(pa.int64())
        values = pd.Series(array.cast(pa.int64()).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get), dtype="Int64")
    elif column.kind == "timestamp":
        if is_text:
            parsed = pd.to_datetime(pd.Series(array.to_pandas()), format="ISO8601", errors="coerce", utc=True)
            values = parsed.dt.tz_convert(None).astype("datetime64[us]")
        else:
            if pa.types.is_timestamp(array.type) and array.type.tz is not None:
                array = pc.cast(array, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
            values = pd.Series(array.cast(pa.timestamp("us")).to_pandas(), dtype="datetime64[us]")
    else:  # boolean
        if is_text:
            text = pd.Series(array.to_pandas(), dtype="object")
            values = pd.Series(
                np.where(text.isin(_TRUE), True, np.where(text.isin(_FALSE), False, None)), dtype="boolean"
            )
        else:
            values = pd.Series(array.to_pandas(), dtype="boolean")
    bad = present & values.isna().to_numpy()
    return values.reset_index(drop=True), bad
