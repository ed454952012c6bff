"""Arrow and pandas schemas of the history tables, derived from the SQLAlchemy declarations.

Parquet files written by the simulator and read by ingest use exactly these schemas, so a
table has one definition whether it lives in a database, a DataFrame or a file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, String, Table, Text

from credit.store.tables import ALLOWED_VALUES, HISTORY_TABLES, Base

TIMESTAMP = pa.timestamp("us")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a history table as files and frames see it."""

    name: str
    kind: str  # "id" | "money" | "integer" | "timestamp" | "text" | "choice" | "boolean"
    nullable: bool
    doc: str
    allowed: tuple[str, ...] | None = None
    references: str | None = None  # "table.column" for a foreign key
    max_length: int | None = None

    @property
    def arrow_type(self) -> pa.DataType:
        return {
            "id": pa.int64(), "money": pa.int64(), "integer": pa.int64(), "timestamp": TIMESTAMP,
            "text": pa.string(), "choice": pa.string(), "boolean": pa.bool_(),
        }[self.kind]

    @property
    def pandas_dtype(self) -> str:
        """The nullable pandas dtype of the column (extension types keep nulls exact)."""
        return {
            "id": "Int64", "money": "Int64", "integer": "Int64", "timestamp": "datetime64[us]",
            "text": "string", "choice": "string", "boolean": "boolean",
        }[self.kind]


@dataclass(frozen=True)
class TableSpec:
    """A history table: its columns, primary key and event-time column."""

    name: str
    doc: str
    key: str
    event_time: str
    columns: tuple[ColumnSpec, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns])


def _column_kind(column: Column) -> str:
    if column.info.get("money"):
        return "money"
    if column.info.get("allowed"):
        return "choice"
    if isinstance(column.type, DateTime):
        return "timestamp"
    if isinstance(column.type, Boolean):
        return "boolean"
    if isinstance(column.type, (BigInteger, Integer)):
        return "id" if column.primary_key or column.foreign_keys else "integer"
    if isinstance(column.type, (String, Text)):
        return "text"
    raise TypeError(f"column {column.table.name}.{column.name}: no file type for {column.type!r}")


def _table_spec(table: Table) -> TableSpec:
    mapper_class = next(m.class_ for m in Base.registry.mappers if m.local_table is table)
    columns = []
    for column in table.columns:
        fk = next(iter(column.foreign_keys), None)
        domain = column.info.get("allowed")
        columns.append(ColumnSpec(
            name=column.name,
            kind=_column_kind(column),
            nullable=bool(column.nullable) and not column.primary_key,
            doc=column.doc or "",
            allowed=ALLOWED_VALUES[domain] if domain else None,
            references=fk.target_fullname if fk else None,
            max_length=getattr(column.type, "length", None) if isinstance(column.type, String) else None,
        ))
    return TableSpec(
        name=table.name,
        doc=" ".join((mapper_class.__doc__ or "").split("\n\n")[0].split()),
        key=table.info["key"],
        event_time=table.info["event_time"],
        columns=tuple(columns),
    )


HISTORY: dict[str, TableSpec] = {name: _table_spec(Base.metadata.tables[name]) for name in HISTORY_TABLES}
"""The history tables by name, in load order."""
