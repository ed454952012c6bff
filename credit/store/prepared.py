"""Core statements compiled once per dialect and run straight on the driver's cursor.

The checkout authorization runs about ten small indexed statements. SQLAlchemy's
``Connection.execute`` spends ~25 us on each beyond what the database does (execution
context, parameter construction, cursor result, events), more than SQLite itself takes.
A :class:`PreparedStatement` keeps SQLAlchemy for what it is good at (building the SQL for
each dialect, the types' bind and result processors, the transaction a Connection or
Session holds) and skips the per-call machinery: it compiles its statement once per
dialect, converts the parameters with the same processors SQLAlchemy would use, and calls
``cursor.execute`` on the connection the caller's transaction already uses; on PostgreSQL,
once psycopg has prepared the statement on that connection, libpq runs it in one call
(:mod:`credit.store.libpq_lane`). Driver errors are wrapped as SQLAlchemy wraps them
(``IntegrityError``, ``OperationalError``, ...).

Given a Session, it autoflushes and begins the Session's transaction as ``Session.execute``
would. What it does not do: fire ``before_cursor_execute`` / ``after_cursor_execute``
events or echo the SQL, or begin a transaction on a bare Connection that has none (the
driver then runs the statement in its own autocommit mode on SQLite, or opens one on
PostgreSQL that the pool's reset rolls back). Use it only for statements on a request's hot
path; everything else should go through ``execute``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary, ref

from sqlalchemy import Connection
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from credit.store import libpq_lane


def _NO_DIALECT() -> None:  # noqa: N802  (stands for a dead weak reference: no dialect yet)
    return None


_SQLITE_DATETIME_FORMAT = SQLITE_DATETIME._storage_format  # "2026-12-07 05:10:24.123456", SQLAlchemy's default


def _faster(kind: Any, dialect: Any, process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process``, or a faster function giving the same values: SQLite's default DATETIME text.

    SQLAlchemy formats each datetime with ``%`` and a dict of seven fields (2 us, five per
    authorization); ``datetime.isoformat`` writes the same characters in C. An aware
    datetime's offset, which SQLAlchemy's format leaves out, is cut off as well; anything but
    a plain ``datetime`` (a date, None, a subclass) goes to SQLAlchemy's processor.
    """
    impl = kind.dialect_impl(dialect)
    if (type(impl) is not SQLITE_DATETIME or impl._storage_format != _SQLITE_DATETIME_FORMAT
            or getattr(impl, "_reg", None) is not None):
        return process

    def sqlite_datetime(value: Any) -> Any:
        if value.__class__ is datetime:
            return value.isoformat(" ", "microseconds")[:26]
        return process(value)

    return sqlite_datetime


class _Compiled:
    __slots__ = ("sql", "positional", "names", "processors", "converters", "literals", "row", "types",
                 "result_processors", "on_psycopg")

    def __init__(self, statement: ClauseElement, dialect: Any, column_keys: list[str] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = compiled.string
        self.positional = dialect.positional
        every = compiled.construct_params(_check=False)
        self.names = tuple(compiled.positiontup) if self.positional else tuple(every)
        self.processors = {name: _faster(compiled.binds[name].type, dialect, process)
                           for name, process in compiled._bind_processors.items()}  # as SQLAlchemy's execute
        self.converters = [(name, self.processors.get(name)) for name in self.names]  # in bind order
        # Literal binds the statement carries itself ('active', the 0 of a COALESCE): their values now.
        self.literals = {name: value for name, value in every.items() if value is not None}
        columns = compiled._result_columns
        self.row = namedtuple("Row", [column.keyname for column in columns], rename=True) if columns else None
        self.types = [column.type for column in columns]
        self.result_processors: list[Any] | None = None  # from the driver's column types, at the first run
        self.on_psycopg = dialect.driver == "psycopg"  # PostgreSQL's short lane may take it (credit.store.libpq_lane)

    def result_processors_for(self, dialect: Any, type_codes: list[Any]) -> list[Any]:
        # As SQLAlchemy's cursor result does: a type's processor may depend on the driver's
        # column type code (psycopg's numeric codes), fixed for a given statement.
        if self.result_processors is None:
            self.result_processors = [kind._cached_result_processor(dialect, code)
                                      for kind, code in zip(self.types, type_codes)]
        return self.result_processors


class PreparedStatement:
    """A Core statement run on the driver's cursor of the caller's connection.

    Parameters
    ----------
    statement
        An ``insert``, ``update``, ``delete`` or ``select`` with named bind parameters. An
        ``insert`` without ``.values()`` is compiled for ``column_keys``.
    column_keys
        The columns an ``insert`` without ``.values()`` sets, in any order.
    """

    def __init__(self, statement: ClauseElement, column_keys: list[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = column_keys
        # Keyed by the dialect object itself, weakly: an engine's dialect dies with the engine
        # (tests make hundreds), and an id() could be reused by another engine's dialect.
        self._by_dialect: WeakKeyDictionary[Any, _Compiled] = WeakKeyDictionary()
        self._last: tuple[Callable[[], Any], Any] = (_NO_DIALECT, None)  # the last dialect (weakly) and its statement

    def _compiled(self, dialect: Any) -> _Compiled:
        last_dialect, compiled = self._last
        if last_dialect() is dialect:  # the one dialect a process serves, mostly: no weak dictionary look-up
            return compiled
        compiled = self._by_dialect.get(dialect)
        if compiled is None:
            compiled = self._by_dialect[dialect] = _Compiled(self.statement, dialect, self.column_keys)
        self._last = (ref(dialect), compiled)
        return compiled

    def rows(self, connection: Connection | Session, params: dict[str, Any]) -> list[Any]:
        """The rows (named tuples) of the statement run with ``params``; ``[]`` for a statement without any."""
        return self._run(connection, params)[0]

    def first(self, connection: Connection | Session, params: dict[str, Any]) -> Any:
        """The first row, or None."""
        rows = self._run(connection, params)[0]
        return rows[0] if rows else None

    def rowcount(self, connection: Connection | Session, params: dict[str, Any]) -> int:
        """How many rows an UPDATE or DELETE without RETURNING matched."""
        return self._run(connection, params)[1]

    def _run(self, connection: Connection | Session, params: dict[str, Any]) -> tuple[list[Any], int]:
        """Execute with ``params`` in the connection's (or session's) transaction.

        A Session is autoflushed (when it autoflushes) and its transaction begun if it has
        none, as ``Session.execute`` does.

        Raises
        ------
        sqlalchemy.exc.DBAPIError
            The driver's error, wrapped as SQLAlchemy would wrap it.
        """
        if isinstance(connection, Session):
            if connection.autoflush:
                connection._autoflush()  # what Session.execute does first
            connection = _connection_of(connection)
        dialect = connection.dialect
        compiled = self._compiled(dialect)
        values = {**compiled.literals, **params} if compiled.literals else params
        converted = [values[name] if process is None else process(values[name])
                     for name, process in compiled.converters]
        arguments: Any = tuple(converted) if compiled.positional else dict(zip(compiled.names, converted))
        driver_connection = connection.connection.dbapi_connection
        try:
            ran = libpq_lane.run(driver_connection, compiled.sql, arguments) if compiled.on_psycopg else None
            if ran is None:
                rows, count, type_codes = _on_a_cursor(driver_connection, compiled, arguments)
            else:
                rows, count, type_codes = ran
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(compiled.sql, arguments, exc, dialect.loaded_dbapi.Error,
                                      dialect=dialect) from exc
        if not rows or compiled.row is None:
            return [], count
        convert = compiled.result_processors_for(dialect, type_codes)
        make = compiled.row._make
        if not any(convert):
            return [make(row) for row in rows], count
        return [make([value if process is None else process(value) for process, value in zip(convert, row)])
                for row in rows], count


def _on_a_cursor(driver_connection: Any, compiled: _Compiled, arguments: Any) -> tuple[list[Any], int, list[Any]]:
    """rows, rowcount and each column's type code, run on a new cursor of the driver's connection."""
    cursor = driver_connection.cursor()
    try:
        cursor.execute(compiled.sql, arguments)
        if compiled.row is None:
            return [], cursor.rowcount, []
        rows = cursor.fetchall()
        return rows, cursor.rowcount, [column[1] for column in cursor.description] if rows else []
    finally:
        cursor.close()


def _connection_of(session: Session) -> Connection:
    """``session.connection()``, which costs ~4 us, once per transaction: later calls reuse it.

    Kept in ``session.info`` with the innermost transaction it was asked in, and used only
    while that transaction is still the session's innermost and active: in a new savepoint
    (``session.connection()`` emits its SAVEPOINT), after a commit, a rollback or a failed
    flush, ``session.connection()`` decides again (begins anew, or raises as it would).
    """
    transaction = session.get_nested_transaction() or session.get_transaction()
    cached = session.info.get(_CONNECTION_KEY)
    if cached is not None and cached[0] is transaction and transaction.is_active:
        return cached[1]
    connection = session.connection()
    session.info[_CONNECTION_KEY] = (session.get_nested_transaction() or session.get_transaction(), connection)
    return connection


_CONNECTION_KEY = "credit.prepared.connection"
