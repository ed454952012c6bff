"""PostgreSQL's short lane: once psycopg has prepared a statement, libpq runs it, with the values a cursor gives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    MetaData,
    Numeric,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from credit.store import libpq_lane
from credit.store.engine import make_engine
from credit.store.prepared import PreparedStatement

pytestmark = pytest.mark.postgres

CURSOR_RUNS = 6
"""psycopg prepares a statement on its 6th run on a connection (``prepare_threshold`` 5): the lane takes the 7th."""


@pytest.fixture
def table(postgres_url: str) -> Iterator[tuple[Engine, Table]]:
    engine = make_engine(postgres_url)
    table = Table(f"lane_{uuid.uuid4().hex[:8]}", MetaData(), Column("id", BigInteger, primary_key=True),
                  Column("at", DateTime(timezone=True)), Column("note", String), Column("memo", String),
                  Column("amount", Numeric(12, 2)), Column("payload", JSON), Column("flag", Boolean))
    table.metadata.create_all(engine)
    yield engine, table
    table.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def lane_runs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per statement a PreparedStatement ran on psycopg: whether the lane took it."""
    taken: list[bool] = []
    run = libpq_lane.run

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        result = run(*args, **kwargs)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(libpq_lane, "run", counted)
    return taken


def _row(i: int) -> dict:
    return {"id": i, "at": datetime(2026, 12, 7, 13, i % 60, 5, 123456, tzinfo=UTC), "note": f"n{i}", "memo": None,
            "amount": Decimal(f"{i}.{i % 100:02d}"), "payload": {"i": i, "tags": ["a", i]}, "flag": i % 3 == 0}


def test_once_psycopg_prepared_a_statement_the_lane_runs_it_with_the_cursors_values(table, lane_runs) -> None:  # noqa: ANN001
    engine, t = table
    write = PreparedStatement(insert(t), column_keys=list(_row(0)))
    read = PreparedStatement(select(t).where(t.c.id == bindparam("id")))
    bump = PreparedStatement(update(t).where(t.c.id <= bindparam("upto")).values(amount=t.c.amount + 1))
    runs = CURSOR_RUNS + 2
    with engine.begin() as connection:
        for i in range(runs):
            write.rows(connection, _row(i))
        read_back = [read.first(connection, {"id": i}) for i in range(runs)]
        counts = [bump.rowcount(connection, {"upto": upto}) for upto in range(runs)]
    assert lane_runs == ([False] * CURSOR_RUNS + [True] * 2) * 3
    assert [tuple(row) for row in read_back] == [tuple(_row(i).values()) for i in range(runs)]  # cursor and lane alike
    assert counts == [upto + 1 for upto in range(runs)]  # ids 0..upto matched, on either path
    with engine.connect() as connection:
        assert connection.execute(select(t.c.amount).where(t.c.id == 0)).scalar_one() == Decimal(runs)  # 0.00, bumped by each of the runs


def test_outside_a_transaction_the_cursor_runs_it_inside_the_one_it_begins(table, lane_runs) -> None:  # noqa: ANN001
    engine, t = table
    write = PreparedStatement(insert(t), column_keys=["id", "note"])
    with engine.connect() as connection:
        connection.begin()
        for i in range(CURSOR_RUNS + 1):
            write.rows(connection, {"id": i, "note": "kept"})
        connection.commit()
        assert lane_runs[-1] is True  # prepared: the lane would take it inside a transaction
        driver = connection.connection.dbapi_connection
        assert driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
        write.rows(connection, {"id": 100, "note": "rolled back"})  # no SQLAlchemy transaction: psycopg begins one
        assert lane_runs[-1] is False
        assert driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    # Closing gave the connection back to the pool, which rolled its transaction back.
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(t)).scalar_one() == CURSOR_RUNS + 1


def test_after_a_rollback_psycopg_prepares_again_and_the_lane_waits_for_it(table, lane_runs) -> None:  # noqa: ANN001
    engine, t = table
    write = PreparedStatement(insert(t), column_keys=["id", "note"])
    read = PreparedStatement(select(t.c.note).where(t.c.id == bindparam("id")))
    with engine.begin() as connection:
        for i in range(6):
            write.rows(connection, {"id": i, "note": f"n{i}"})
    with engine.connect() as connection:
        connection.begin()
        for _ in range(CURSOR_RUNS + 1):
            assert read.first(connection, {"id": 1}).note == "n1"
        assert lane_runs[-1] is True
        connection.rollback()  # psycopg deallocates every statement it prepared on the connection
        assert connection.connection.dbapi_connection.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
        connection.begin()
        assert read.first(connection, {"id": 2}).note == "n2"  # a name kept past the rollback would fail here
        assert lane_runs[-1] is False
        for _ in range(CURSOR_RUNS - 1):  # psycopg counts again from the read above
            read.first(connection, {"id": 3})
        with connection.begin_nested() as savepoint:  # a rollback to a savepoint deallocates them too
            assert read.first(connection, {"id": 4}).note == "n4"
            assert lane_runs[-1] is True
            savepoint.rollback()
        assert read.first(connection, {"id": 5}).note == "n5"
        assert lane_runs[-1] is False
        connection.rollback()


def _prepared_in_a_transaction(connection, t: Table, lane_runs: list[bool]) -> tuple[PreparedStatement, ...]:  # noqa: ANN001
    """An insert and a read of ``t`` (ids 0-6, notes n0-n6), prepared by psycopg in the connection's open transaction."""
    write = PreparedStatement(insert(t), column_keys=["id", "note"])
    read = PreparedStatement(select(t.c.note).where(t.c.id == bindparam("id")))
    connection.begin()
    for i in range(CURSOR_RUNS + 1):
        write.rows(connection, {"id": i, "note": f"n{i}"})
        assert read.first(connection, {"id": i}).note == f"n{i}"
    assert lane_runs[-2:] == [True, True]
    return write, read


def test_a_statement_failing_on_the_lane_raises_and_fails_the_transaction_as_on_a_cursor(table, lane_runs) -> None:  # noqa: ANN001
    engine, t = table
    with engine.connect() as connection:
        write, read = _prepared_in_a_transaction(connection, t, lane_runs)
        seen = len(lane_runs)
        with pytest.raises(IntegrityError) as raised:
            write.rows(connection, {"id": 3, "note": "again"})
        assert len(lane_runs) == seen  # the lane raised (had it said no, the cursor would have, after a False)
        assert isinstance(raised.value.orig, psycopg.errors.UniqueViolation)
        assert raised.value.orig.diag.constraint_name == f"{t.name}_pkey"
        with pytest.raises(DBAPIError) as after:
            read.first(connection, {"id": 1})
        assert isinstance(after.value.orig, psycopg.errors.InFailedSqlTransaction)
        connection.rollback()


def test_in_pipeline_mode_the_cursor_runs_it(table, lane_runs) -> None:  # noqa: ANN001
    engine, t = table
    with engine.connect() as connection:
        _, read = _prepared_in_a_transaction(connection, t, lane_runs)
        with connection.connection.dbapi_connection.pipeline():  # libpq would refuse PQexecPrepared here
            assert read.first(connection, {"id": 3}).note == "n3"
            assert lane_runs[-1] is False
        connection.rollback()
