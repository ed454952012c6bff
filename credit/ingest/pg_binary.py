"""PostgreSQL's binary COPY stream built from Arrow columns with numpy, no Python per row.

The stream (PostgreSQL docs, "COPY ... Binary Format"): an 11-byte signature, a 32-bit
flags field and a 32-bit header-extension length; per row a 16-bit field count, then per
field a 32-bit byte length (-1 for NULL) and the value in the type's binary send format
(big-endian integers; ``timestamp`` as 64-bit microseconds since 2000-01-01; ``boolean`` one
byte; text as its UTF-8 bytes); a 16-bit -1 ends it. Whole columns are written at once
(see `_rows`); nothing runs per row in Python.

The server then stores the values as sent instead of parsing digits and timestamps out of
CSV text (benchmarks/results.md compares the two on the same history).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags 0, no header extension
TRAILER = b"\xff\xff"
_EPOCH_2000_US = 946_684_800 * 1_000_000
_INTEGER_BYTES = {"smallint": 2, "integer": 4, "bigint": 8}
TYPES = (*_INTEGER_BYTES, "timestamp without time zone", "boolean", "character varying", "text")
"""The column types (as ``format_type`` names them, without a length) this encoder sends."""


def encode(table: pa.Table, column_types: list[str]) -> np.ndarray:
    """The binary COPY stream of ``table`` as bytes (a uint8 array).

    Parameters
    ----------
    table
        Columns in the order of the COPY statement: ``int64``, ``timestamp[us]`` (naive),
        ``bool`` or ``string``.
    column_types
        Each target column's type, one of `TYPES`.

    Raises
    ------
    ValueError
        A type this encoder does not send, or an integer outside its column's range (the
        text path would have failed on the server; here it would be truncated).
    """
    fields = [_field(name, table.column(name), kind) for name, kind in zip(table.column_names, column_types)]
    return np.concatenate([np.frombuffer(SIGNATURE, np.uint8), _rows(table.num_rows, fields),
                           np.frombuffer(TRAILER, np.uint8)])


def _rows(rows: int, fields: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The rows' bytes: each field laid out at its widest in a row-major matrix, with a mask
    of the bytes a row really has (a NULL's value and a short text's tail are not sent);
    boolean indexing keeps row-major order, so ``matrix[mask]`` is the stream of rows.

    Memory is rows x the widest row, twice (bytes and mask): meant for chunks of history
    rows, whose text columns are short (at most a few hundred characters).
    """
    width = 2 + sum(4 + value.shape[1] for value, _ in fields)
    matrix = np.empty((rows, width), np.uint8)
    sent = np.ones((rows, width), bool)
    matrix[:, :2] = _big_endian(np.full(rows, len(fields)), ">i2")
    at = 2
    for value, lengths in fields:
        size = value.shape[1]
        matrix[:, at:at + 4] = _big_endian(lengths, ">i4")
        matrix[:, at + 4:at + 4 + size] = value
        sent[:, at + 4:at + 4 + size] = np.arange(size) < lengths[:, None]
        at += 4 + size
    return matrix[sent]


def _field(name: str, column: pa.ChunkedArray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(value bytes, one row per value at the column's widest; byte length per value, -1 for NULL)."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    valid = pc.is_valid(array).to_numpy(zero_copy_only=False)
    if kind in ("character varying", "text"):
        array = array.cast(pa.large_string())
        offsets = np.frombuffer(array.buffers()[1], np.int64)[array.offset: array.offset + len(array) + 1]
        data = np.frombuffer(array.buffers()[2], np.uint8) if array.buffers()[2] else np.zeros(1, np.uint8)
        lengths = np.where(valid, np.diff(offsets), -1)
        widest = int(lengths.max(initial=0))
        at = offsets[:-1, None] + np.arange(widest)
        return data[np.minimum(at, len(data) - 1)], lengths  # bytes past a value's end are not sent
    if kind == "boolean":
        values = array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint8)[:, None]
        return values, np.where(valid, 1, -1)
    if kind == "timestamp without time zone":
        micros = array.cast(pa.int64()).fill_null(0).to_numpy() - _EPOCH_2000_US
        return _big_endian(micros, ">i8"), np.where(valid, 8, -1)
    if kind in _INTEGER_BYTES:
        size = _INTEGER_BYTES[kind]
        values = array.fill_null(0).to_numpy()
        limit = 1 << (8 * size - 1)
        if size < 8 and ((values < -limit) | (values >= limit)).any():
            raise ValueError(f"column {name} ({kind}) got a value outside -{limit}..{limit - 1}")
        return _big_endian(values, f">i{size}"), np.where(valid, size, -1)
    raise ValueError(f"column {name}: binary COPY of type {kind!r} is not implemented (one of {', '.join(TYPES)})")


def _big_endian(values: np.ndarray, dtype: str) -> np.ndarray:
    """Per value its bytes in network order, one row of the result per value."""
    return values.astype(dtype).view(np.uint8).reshape(len(values), np.dtype(dtype).itemsize)
