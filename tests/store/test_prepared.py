"""Prepared statements write what SQLAlchemy's execute writes, and find their compiled statement per dialect."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, bindparam, insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from credit.store.engine import make_engine
from credit.store.prepared import PreparedStatement, _faster

_MOMENTS = [datetime(2026, 12, 7, 5, 10, 24, 123456), datetime(2026, 1, 2, 3, 4, 5), datetime(5, 6, 7, 8, 9, 10, 11),
            datetime(2026, 12, 7, 5, 10, 24, 999999, tzinfo=UTC),
            datetime(2026, 12, 7, 5, 10, 24, tzinfo=timezone(timedelta(hours=-5))), date(2026, 12, 7)]


@pytest.mark.parametrize("value", _MOMENTS)
def test_sqlite_datetime_text_is_sqlalchemys(value) -> None:  # noqa: ANN001
    dialect = sqlite.dialect()
    theirs = DATETIME().bind_processor(dialect)
    assert _faster(DateTime(), dialect, theirs)(value) == theirs(value)


def test_other_types_and_formats_keep_sqlalchemys_processor() -> None:
    dialect = sqlite.dialect()
    custom = DATETIME(storage_format="%(year)04d/%(month)02d/%(day)02d")
    process = custom.bind_processor(dialect)
    assert _faster(custom, dialect, process) is process
    assert _faster(Integer(), dialect, str) is str


def test_a_datetime_round_trips_through_a_prepared_insert(tmp_path) -> None:  # noqa: ANN001
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    table = Table("moments", MetaData(), Column("id", Integer, primary_key=True), Column("at", DateTime))
    table.metadata.create_all(engine)
    write = PreparedStatement(insert(table), column_keys=["id", "at"])
    read = PreparedStatement(select(table.c.at).where(table.c.id == bindparam("id")))
    with engine.begin() as connection:
        for i, moment in enumerate(_MOMENTS[:3]):
            write.rows(connection, {"id": i, "at": moment})
        connection.execute(insert(table), [{"id": 10 + i, "at": moment} for i, moment in enumerate(_MOMENTS[:3])])
        stored = dict(connection.execute(text("SELECT id, at FROM moments")).all())
        assert [stored[i] for i in range(3)] == [stored[10 + i] for i in range(3)]  # the same text as execute's
        assert [read.first(connection, {"id": i}).at for i in range(3)] == _MOMENTS[:3]
    engine.dispose()


def test_each_dialect_gets_its_own_compiled_statement(tmp_path) -> None:  # noqa: ANN001
    table = Table("numbers", MetaData(), Column("id", Integer, primary_key=True))
    read = PreparedStatement(select(table.c.id).where(table.c.id == bindparam("id")))
    engines = [make_engine(f"sqlite:///{tmp_path / f'{name}.db'}") for name in ("a", "b")]
    for engine, value in zip(engines, (1, 2)):
        table.metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(insert(table), [{"id": value}])
    for _ in range(2):  # alternating: the cached statement of the last dialect is not taken for the other's
        for engine, value in zip(engines, (1, 2)):
            with engine.connect() as connection:
                assert read.first(connection, {"id": value}).id == value
                assert read._compiled(engine.dialect) is read._by_dialect[engine.dialect]
    for engine in engines:
        engine.dispose()
