"""The database side of ingest: stage a chunk, look up parents, compare, insert, quarantine.

A chunk is bulk-copied into a temporary staging table first (executemany on SQLite, COPY
on PostgreSQL), so that lookups of referenced rows, the comparison with rows already stored
and the final insert are set-based SQL that scale with the chunk, not the store.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Text, Table, and_, case, exists, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from credit.ingest.rules import Lookup
from credit.store.frames import TableSpec
from credit.store.tables import Base, QuarantinedRow

ROW = "_row"


class Stage:
    """Temporary tables holding one chunk of one history table while it is checked."""

    def __init__(self, connection: Connection, spec: TableSpec) -> None:
        self.connection = connection
        self.spec = spec
        self.target: Table = Base.metadata.tables[spec.name]
        metadata = MetaData()
        self.rows = Table(
            f"_stage_{spec.name}", metadata, Column(ROW, BigInteger, primary_key=True),
            # unbounded text: an over-long value must reach the rules, not fail the copy
            *(Column(c.name, Text if isinstance(c.type, String) else c.type, nullable=True)
              for c in self.target.columns),
            prefixes=["TEMPORARY"],
        )
        self.rejected = Table(f"_reject_{spec.name}", metadata, Column(ROW, BigInteger, primary_key=True),
                              prefixes=["TEMPORARY"])
        metadata.create_all(connection)

    def drop(self) -> None:
        self.rows.drop(self.connection)
        self.rejected.drop(self.connection)

    def load(self, frame: pd.DataFrame) -> None:
        """Replace the staged rows with ``frame`` (typed, index 0..n-1)."""
        self.connection.execute(self.rows.delete())
        self.connection.execute(self.rejected.delete())
        columns = [ROW, *self.spec.column_names]
        values = [list(range(len(frame)))] + [_db_values(frame[c.name], c.kind) for c in self.spec.columns]
        _bulk_insert(self.connection, self.rows.name, columns, list(zip(*values)))

    def parent_values(self, lookup: Lookup, parent: Table) -> pd.DataFrame:
        """``<fk>__found`` and ``<fk>__<column>`` for every staged row whose parent exists."""
        fk = lookup.foreign_key
        query = (
            select(self.rows.c[ROW], *(parent.c[c].label(f"{fk}__{c}") for c in lookup.columns))
            .join(parent, parent.c[lookup.parent_key] == self.rows.c[fk])
        )
        found = pd.DataFrame(self.connection.execute(query).all(), columns=[ROW, *(f"{fk}__{c}" for c in lookup.columns)])
        found[f"{fk}__found"] = True
        return found

    def stored_matches(self) -> tuple[np.ndarray, np.ndarray]:
        """Staged rows whose key is already stored: (row positions, stored row identical?)."""
        key = self.spec.key
        same = and_(*(self.rows.c[c].is_not_distinct_from(self.target.c[c]) for c in self.spec.column_names))
        query = select(self.rows.c[ROW], case((same, 1), else_=0)).join(
            self.target, self.target.c[key] == self.rows.c[key])
        matched = self.connection.execute(query).all()
        positions = np.array([r[0] for r in matched], dtype=np.int64)
        identical = np.array([bool(r[1]) for r in matched], dtype=bool)
        return positions, identical

    def insert_new(self, rejected_positions: np.ndarray) -> None:
        """Insert staged rows that are neither rejected nor already stored."""
        if len(rejected_positions):
            _bulk_insert(self.connection, self.rejected.name, [ROW], [(int(p),) for p in rejected_positions])
        key = self.spec.key
        names = self.spec.column_names
        source = select(*(self.rows.c[c] for c in names)).where(
            ~exists().where(self.rejected.c[ROW] == self.rows.c[ROW]),
            ~exists().where(self.target.c[key] == self.rows.c[key]),
        ).order_by(self.rows.c[ROW])
        self.connection.execute(insert(self.target).from_select(names, source))


def quarantine(connection: Connection, records: list[dict]) -> int:
    """Store quarantine records, skipping ones already there (same row, same rule)."""
    if not records:
        return 0
    table = QuarantinedRow.__table__
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[connection.dialect.name]
    inserted = 0
    for start in range(0, len(records), 10_000):
        statement = dialect.insert(table).on_conflict_do_nothing()
        inserted += connection.execute(statement, records[start:start + 10_000]).rowcount
    return inserted


def quarantine_record(table: str, source: str, row_number: int, row_key: str | None, rule: str,
                      detail: str, row_json: str) -> dict:
    fingerprint = hashlib.sha256(f"{source}\x1f{row_number}\x1f{row_json}".encode()).hexdigest()
    return {
        "table_name": table, "source": source, "row_number": row_number, "row_key": row_key,
        "rule": rule, "detail": detail[:2000], "row_json": row_json, "row_fingerprint": fingerprint,
        "quarantined_at": datetime.now(UTC).replace(tzinfo=None),
    }


def _db_values(series: pd.Series, kind: str) -> list:
    if kind == "timestamp":
        text = pc.strftime(pa.array(series, type=pa.timestamp("us")), format="%Y-%m-%d %H:%M:%S")
        return text.to_pylist()
    if kind == "boolean":
        return series.astype("Int64").to_numpy(dtype=object, na_value=None).tolist()
    return series.to_numpy(dtype=object, na_value=None).tolist()


def _bulk_insert(connection: Connection, table: str, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({placeholders})', rows)



