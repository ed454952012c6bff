"""PostgreSQL's binary COPY stream built from Arrow columns with numpy, no Python per row.

The stream (PostgreSQL docs, "COPY ... Binary Format"): an 11-byte signature, a 32-bit
flags field and a 32-bit header-extension length; per row a 16-bit field count, then per
field a 32-bit byte length (-1 for NULL) and the value in the type's binary send format
(big-endian integers; ``timestamp`` as 64-bit microseconds since 2000-01-01; ``boolean`` one
byte; text as its UTF-8 bytes); a 16-bit -1 ends it. Each part is written into one byte
array by scattering whole columns to their rows' offsets.

The server then stores the values as sent, without parsing text: on the simulated history
this is what the CSV path spent most of its server time on.
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
    rows = table.num_rows
    fields = [_field(name, table.column(name), kind) for name, kind in zip(table.column_names, column_types)]
    row_bytes = 2 + sum(4 + lengths for _, lengths, _ in fields)
    starts = np.zeros(rows, np.int64)
    np.cumsum(row_bytes[:-1], out=starts[1:])
    starts += len(SIGNATURE)
    out = np.empty(len(SIGNATURE) + int(row_bytes.sum()) + len(TRAILER), np.uint8)
    out[: len(SIGNATURE)] = np.frombuffer(SIGNATURE, np.uint8)
    out[-len(TRAILER):] = np.frombuffer(TRAILER, np.uint8)
    _scatter(out, starts, _big_endian(np.full(rows, len(fields)), ">i2"))
    position = starts + 2
    for valid, lengths, value in fields:
        _scatter(out, position, _big_endian(np.where(valid, lengths, -1), ">i4"))
        position += 4
        if isinstance(value, tuple):  # variable length: (data, offsets)
            _scatter_bytes(out, position, lengths, *value)
        else:
            _scatter(out, position[valid], value[valid])
        position += lengths
    return out


def _field(name: str, column: pa.ChunkedArray, kind: str) -> tuple[np.ndarray, np.ndarray, object]:
    """(valid mask, per-row value byte length, big-endian value bytes or (data, offsets))."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    valid = pc.is_valid(array).to_numpy(zero_copy_only=False)
    if kind in ("character varying", "text"):
        array = array.cast(pa.large_string())
        offsets = np.frombuffer(array.buffers()[1], np.int64)[array.offset: array.offset + len(array) + 1]
        data = np.frombuffer(array.buffers()[2], np.uint8) if array.buffers()[2] else np.zeros(0, np.uint8)
        lengths = np.where(valid, np.diff(offsets), 0)
        return valid, lengths, (data, offsets)
    if kind == "boolean":
        values = array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint8)[:, None]
        return valid, np.where(valid, 1, 0), values
    if kind == "timestamp without time zone":
        micros = array.cast(pa.int64()).fill_null(0).to_numpy() - _EPOCH_2000_US
        return valid, np.where(valid, 8, 0), _big_endian(micros, ">i8")
    if kind in _INTEGER_BYTES:
        size = _INTEGER_BYTES[kind]
        values = array.fill_null(0).to_numpy()
        limit = 1 << (8 * size - 1)
        if size < 8 and ((values < -limit) | (values >= limit)).any():
            raise ValueError(f"column {name} ({kind}) got a value outside -{limit}..{limit - 1}")
        return valid, np.where(valid, size, 0), _big_endian(values, f">i{size}")
    raise ValueError(f"column {name}: binary COPY of type {kind!r} is not implemented (one of {', '.join(TYPES)})")


def _big_endian(values: np.ndarray, dtype: str) -> np.ndarray:
    """Per value its bytes in network order, one row of the result per value."""
    return values.astype(dtype).view(np.uint8).reshape(len(values), np.dtype(dtype).itemsize)


def _scatter(out: np.ndarray, starts: np.ndarray, values: np.ndarray) -> None:
    """Write row ``i`` of ``values`` (a 2-D byte array) at ``out[starts[i]:]``."""
    for byte in range(values.shape[1]):  # one strided pass per byte beats a 2-D index array
        out[starts + byte] = values[:, byte]


def _scatter_bytes(out: np.ndarray, starts: np.ndarray, lengths: np.ndarray, data: np.ndarray,
                   offsets: np.ndarray) -> None:
    """Write each row's slice of ``data`` (``offsets[i]``, ``lengths[i]`` bytes) at ``out[starts[i]:]``."""
    total = int(lengths.sum())
    if not total:
        return
    within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[np.repeat(starts, lengths) + within] = data[np.repeat(offsets[:-1], lengths) + within]
