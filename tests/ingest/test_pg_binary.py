"""The binary COPY stream stores exactly the values it was given, NULLs and edge values included."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pyarrow as pa
import pytest

from credit.ingest import pg_binary

TYPES = ["bigint", "integer", "smallint", "timestamp without time zone", "boolean", "character varying", "text"]
ROWS = [
    (-(2**63), -(2**31), -(2**15), datetime(1999, 12, 31, 23, 59, 59, 999_999), False, "", "a"),
    (2**63 - 1, 2**31 - 1, 2**15 - 1, datetime(2000, 1, 1), True, "Zürich GmbH — 北京", "x" * 300),
    (None, None, None, None, None, None, None),
    (0, 7, -1, datetime(2025, 12, 31, 13, 4, 5, 6), True, "tab\there", "line\nfeed"),
]


def _table(rows: list[tuple]) -> pa.Table:
    columns = list(zip(*rows))
    kinds = [pa.int64(), pa.int64(), pa.int64(), pa.timestamp("us"), pa.bool_(), pa.string(), pa.string()]
    return pa.table([pa.array(values, type=kind) for values, kind in zip(columns, kinds)],
                    names=[f"c{i}" for i in range(len(kinds))])


@pytest.mark.postgres
def test_rows_read_back_as_written(postgres_url):
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        connection.execute("CREATE TEMPORARY TABLE t (c0 bigint, c1 integer, c2 smallint, c3 timestamp, "
                           "c4 boolean, c5 varchar(40), c6 text)")
        stream = pg_binary.encode(_table(ROWS), TYPES)
        with connection.cursor().copy("COPY t FROM STDIN (FORMAT binary)") as copy:
            copy.write(memoryview(stream))
        stored = connection.execute("SELECT * FROM t ORDER BY c0 NULLS LAST").fetchall()

    assert stored == [ROWS[0], ROWS[3], ROWS[1], ROWS[2]]


def test_an_empty_table_is_the_signature_and_trailer_alone():
    assert bytes(pg_binary.encode(_table(ROWS).slice(0, 0), TYPES)) == b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\xff\xff"


def test_a_value_outside_the_column_range_is_refused_not_truncated():
    table = pa.table({"n": pa.array([1, 2**31], type=pa.int64())})

    with pytest.raises(ValueError, match=r"column n \(integer\) got a value outside"):
        pg_binary.encode(table, ["integer"])


def test_a_type_it_cannot_send_is_named():
    table = pa.table({"amount": pa.array([1], type=pa.int64())})

    with pytest.raises(ValueError, match=r"column amount: binary COPY of type 'numeric' is not implemented"):
        pg_binary.encode(table, ["numeric"])
